import pytest
from rest_framework.test import APIClient

from commerce.api_keys import api_key_create
from commerce.models import Role, Scope

from .factories import ChannelFactory, staff_user
from .worker import celery_worker_process  # noqa: F401  (a fixture)


@pytest.fixture
def channels(db):
    return {"web": ChannelFactory(code="web", name="Online shop"), "pos": ChannelFactory(code="pos", name="Registers")}


@pytest.fixture
def api_client():
    return APIClient()


def _key_client(scopes):
    api_key, secret = api_key_create(name="test key", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    client.api_key = api_key
    return client


@pytest.fixture
def key_client(db):
    """Make a client authenticated by an API key with the given scopes: key_client(["catalog:read"])."""
    return _key_client


@pytest.fixture
def storefront_client(db):
    """A client with the scopes the storefront key of the demo has."""
    return _key_client([Scope.CATALOG_READ, Scope.INVENTORY_READ, Scope.ORDERS_WRITE, Scope.ORDERS_READ, Scope.CARTS_WRITE])


@pytest.fixture
def staff_client(db):
    """Make a session-authenticated client for a user with `role` at `locations`: staff_client("cashier", store)."""

    def make(role: str, *locations):
        user = staff_user(role, *locations)
        client = APIClient()
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def admin_client_api(staff_client):
    return staff_client(Role.ADMINISTRATOR)


@pytest.fixture(autouse=True)
def celery_in_process(request):
    """Run Celery tasks in the test's own process, except in tests marked `worker` that start a real one."""
    from commerce.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 costs a large share of a test that makes users; the hash strength is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
