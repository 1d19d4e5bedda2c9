from django.http import JsonResponse


class RejectNulCharactersMiddleware:
    """Reject with a 400 an API request whose path or query string contains a NUL character.

    PostgreSQL text cannot hold NUL, so such a value would otherwise fail deep inside a query.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and ("\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "")
                                                  or "\x00" in request.META.get("QUERY_STRING", "")):
            return JsonResponse(
                {"code": "invalid_character", "message": "The URL contains a NUL character (%00); remove it and send the request again.", "fields": {}},
                status=400,
            )
        return self.get_response(request)
