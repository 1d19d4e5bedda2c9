"""Every API endpoint refuses anonymous callers and API keys without a scope, and declares its access rules."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from commerce.access import AccessPolicy
from commerce.api_keys import api_key_create

PUBLIC_PREFIXES = ("api/schema/", "api/docs/", "api/redoc/")


def api_endpoints():
    """Yield (path, view class, allowed methods) for each pattern under api/v1/, with sample path values."""

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                if view_class is None or not route.startswith("api/v1/"):
                    continue
                actions = getattr(pattern.callback, "actions", None)
                methods = sorted(method.upper() for method in actions) if actions else [
                    method.upper() for method in view_class.http_method_names
                    if method not in ("options", "head", "trace") and hasattr(view_class, method)
                ]
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: "1", route)
                path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path).replace("^", "").replace("$", "")
                yield path, view_class, methods

    return list(walk(get_resolver().url_patterns, ""))


ENDPOINTS = api_endpoints()


def test_api_has_endpoints():
    assert len(ENDPOINTS) >= 1


@pytest.mark.parametrize("path,view_class,methods", ENDPOINTS, ids=[f"{e[0]}" for e in ENDPOINTS])
def test_view_declares_access_policy(path, view_class, methods):
    assert AccessPolicy in view_class.permission_classes, f"{view_class.__name__} does not use AccessPolicy"
    assert getattr(view_class, "access", None), f"{view_class.__name__} declares no access rules"


@pytest.mark.django_db
@pytest.mark.parametrize("path,view_class,methods", ENDPOINTS, ids=[f"{e[0]}" for e in ENDPOINTS])
def test_anonymous_gets_401(path, view_class, methods):
    client = APIClient()
    for method in methods:
        response = client.generic(method, path, data="{}", content_type="application/json")
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("path,view_class,methods", ENDPOINTS, ids=[f"{e[0]}" for e in ENDPOINTS])
def test_key_without_scope_gets_403(path, view_class, methods):
    _, secret = api_key_create(name="no scopes", scopes=[])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    for method in methods:
        response = client.generic(method, path, data="{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY="sweep")
        assert response.status_code == 403, f"{method} {path} answered {response.status_code}"
        assert response.json()["code"] == "missing_scope"
