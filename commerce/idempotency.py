"""Exactly-once POSTs: the first response to an `Idempotency-Key` is stored and replayed.

The key row is inserted in the same transaction as the work. A concurrent request with the same key
blocks on the unique index until the first one commits, then reads and replays its response. If the
first one rolled back, the second one does the work. A replay with a different body gets 409.
"""

import functools
import hashlib
import json

from django.db import connection, transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from .access import api_key_of
from .errors import Conflict, ValidationFailed
from .models import IdempotencyKey
from .retry import retry_on_deadlock

MAX_KEY_LENGTH = 255

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description="A unique value (a UUID) per request. Send the same value when you retry: the first response is "
    "returned again. The same key with a different body gets 409.",
)


def principal_of(request) -> str:
    api_key = api_key_of(request)
    if api_key is not None:
        return f"key:{api_key.pk}"
    return f"user:{request.user.pk}"


def request_fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(view_method):
    """Decorate a DRF view method (post) so that it runs once per `Idempotency-Key`."""

    @functools.wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise ValidationFailed(
                "The Idempotency-Key header is missing: send a unique value (a UUID) with every request that "
                "creates an order or moves stock, and the same value when you retry it.",
                code="idempotency_key_missing",
                fields={"Idempotency-Key": ["Required."]},
            )
        if len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(
                f"The Idempotency-Key is {len(key)} characters long: use at most {MAX_KEY_LENGTH} (a UUID has 36).",
                code="idempotency_key_invalid",
                fields={"Idempotency-Key": [f"At most {MAX_KEY_LENGTH} characters."]},
            )
        principal = principal_of(request)
        fingerprint = request_fingerprint(request)

        @retry_on_deadlock
        def run():
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO commerce_idempotencykey (principal, key, method, path, request_hash, created_at) "
                        "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (principal, key) DO NOTHING RETURNING id",
                        [principal, key, request.method, request.path[:255], fingerprint],
                    )
                    inserted = cursor.fetchone()
                if inserted is None:
                    stored = IdempotencyKey.objects.get(principal=principal, key=key)
                    if stored.request_hash != fingerprint:
                        raise Conflict(
                            f"Idempotency-Key {key!r} was already used for a different request: "
                            f"use a new key for a new request.",
                            code="idempotency_key_reused",
                        )
                    response = Response(stored.response_body, status=stored.response_status)
                    response["Idempotent-Replayed"] = "true"
                    return response
                response = view_method(view, request, *args, **kwargs)
                if response.status_code >= 400:
                    transaction.set_rollback(True)
                    return response
                IdempotencyKey.objects.filter(pk=inserted[0]).update(
                    response_status=response.status_code, response_body=response.data
                )
                return response

        return run()

    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)
