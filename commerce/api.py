from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .access import ALL_STAFF, AccessPolicy, Rule, allowed_location_ids, api_key_of, role_of
from .models import Scope


class WhoAmISerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["staff", "api_key"])
    username = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    location_ids = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())


class WhoAmIView(APIView):
    """The caller: a staff member with a role and locations, or an API key with scopes."""

    permission_classes = [AccessPolicy]
    access = {"GET": Rule(scope=Scope.CATALOG_READ, roles=ALL_STAFF)}
    serializer_class = WhoAmISerializer

    def get(self, request):
        api_key = api_key_of(request)
        if api_key is not None:
            body = {"kind": "api_key", "username": None, "role": None, "location_ids": None, "scopes": api_key.scopes}
        else:
            locations = allowed_location_ids(request)
            body = {
                "kind": "staff",
                "username": request.user.get_username(),
                "role": role_of(request.user),
                "location_ids": sorted(locations) if locations is not None else None,
                "scopes": [],
            }
        return Response(WhoAmISerializer(body).data)
