"""API keys: `Authorization: Api-Key tdm_<prefix>_<secret>` (or the `X-Api-Key` header)."""

import hashlib
import secrets

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey, Scope

KEY_MARK = "tdm"


class ApiKeyPrincipal:
    """The `request.user` of a request authenticated by an API key."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key and return it with its full secret, which is shown once and never stored."""
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        from .errors import ValidationFailed

        raise ValidationFailed(
            f"Unknown scope(s) {', '.join(unknown)}: use any of {', '.join(Scope.values)}.",
            code="unknown_scope",
            fields={"scopes": [f"Unknown: {', '.join(unknown)}."]},
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    full_key = f"{KEY_MARK}_{prefix}_{secret}"
    api_key = ApiKey.objects.create(name=name, prefix=prefix, secret_hash=_hash(full_key), scopes=sorted(set(scopes)))
    return api_key, full_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        raw = ""
        if header.startswith(self.keyword + " "):
            raw = header[len(self.keyword) + 1 :].strip()
        elif request.META.get("HTTP_X_API_KEY"):
            raw = request.META["HTTP_X_API_KEY"].strip()
        if not raw:
            return None
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_MARK:
            raise exceptions.AuthenticationFailed("The API key is malformed: it must look like tdm_<prefix>_<secret>.")
        api_key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
        if api_key is None or not secrets.compare_digest(api_key.secret_hash, _hash(raw)):
            raise exceptions.AuthenticationFailed("The API key is unknown or revoked: ask an administrator for a valid key.")
        now = timezone.now()
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword
