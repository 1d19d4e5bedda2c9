"""Domain exceptions and the one error body every API response uses.

Body: {"code": "<stable machine code>", "message": "<names the value and the next step>", "fields": {...}}
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A failure the caller can act on; the API turns it into a 4xx with `code`, `message` and `fields`."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}

    def as_body(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


def _flatten_detail(detail) -> dict:
    """Turn DRF's nested error detail into {"field": ["message", ...]} with dotted paths for nesting."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list):
            if all(not isinstance(item, (dict, list)) for item in value):
                flat.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in value)
            else:
                for index, item in enumerate(value):
                    if item:
                        walk(f"{prefix}.{index}" if prefix else str(index), item)
        else:
            flat.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return flat


def _validation_message(fields: dict) -> str:
    parts = []
    for name, messages in list(fields.items())[:3]:
        text = messages[0].rstrip(".")
        parts.append(f"{name}: {text}" if name != "non_field_errors" else text)
    more = len(fields) - 3
    suffix = f" (and {more} more)" if more > 0 else ""
    return "Invalid request. " + "; ".join(parts) + suffix + ". Correct these fields and send the request again."


def api_exception_handler(exc, context):
    """Translate every exception raised in an API view into the one error body."""
    view = context.get("view")
    request = context.get("request")

    if isinstance(exc, DomainError):
        level = logging.WARNING if exc.status_code < 500 else logging.ERROR
        logger.log(level, "%s %s: %s (%s)", request.method if request else "-", request.path if request else "-", exc.code, exc.message)
        return Response(exc.as_body(), status=exc.status_code)

    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound(str(exc) or "The requested object does not exist.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied(str(exc) or None)

    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _flatten_detail(exc.detail)
        body = {"code": "invalid", "message": _validation_message(fields), "fields": fields}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, drf_exceptions.APIException):
        codes = {
            drf_exceptions.ParseError: ("malformed_request", "The request body is not valid JSON: {detail}. Send a JSON object."),
            drf_exceptions.UnsupportedMediaType: ("unsupported_media_type", "{detail} Send the body as application/json."),
            drf_exceptions.NotAuthenticated: ("not_authenticated", "Authentication is required: log in, or send 'Authorization: Api-Key <key>'."),
            drf_exceptions.AuthenticationFailed: ("authentication_failed", "{detail}"),
            drf_exceptions.PermissionDenied: ("forbidden", "{detail}"),
            drf_exceptions.NotFound: ("not_found", "{detail}"),
            drf_exceptions.MethodNotAllowed: ("method_not_allowed", "{detail}"),
            drf_exceptions.NotAcceptable: ("not_acceptable", "{detail}"),
            drf_exceptions.Throttled: ("throttled", "{detail}"),
        }
        code, template = "error", "{detail}"
        for exc_class, (mapped_code, mapped_template) in codes.items():
            if isinstance(exc, exc_class):
                code, template = mapped_code, mapped_template
                break
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return Response({"code": code, "message": template.format(detail=detail), "fields": {}}, status=exc.status_code, headers=headers)

    if isinstance(exc, DataError):
        # A value the database cannot hold (out of range, too long) that validation let through.
        logger.warning("Database rejected a value in %s %s: %s", request.method if request else "-", request.path if request else "-", exc)
        body = {"code": "invalid_value", "message": f"A value in the request cannot be stored: {str(exc).splitlines()[0]}. Correct it and send the request again.", "fields": {}}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    logger.exception(
        "Unexpected error in %s %s (view %s)",
        request.method if request else "-",
        request.path if request else "-",
        type(view).__name__ if view else "-",
    )
    body = {"code": "internal_error", "message": "An unexpected error occurred; it has been logged. Try again, and report it if it persists.", "fields": {}}
    return Response(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
