"""Who may call each customer endpoint: anonymous callers, API keys without the scope, staff of the wrong
role, and the allowed callers. Customer profiles are shared by every location, so no endpoint depends
on the store a cashier works at. The last test checks that a cashier of another store is let in.
"""

import uuid

import pytest

from commerce.models import Scope
from customers import services
from tests.factories import CustomerFactory, LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

READ, WRITE, MERGE = "read", "write", "merge"


@pytest.fixture
def world():
    customer = services.customer_create(email="ada@example.com", phone="+14155552671", card_number="CARD0001")
    other = CustomerFactory()
    identity = services.customer_identity_add(customer_id=customer.pk, kind="email", value="second@example.com")
    address = services.address_create(customer_id=customer.pk, values={"line1": "1 Main St", "city": "Springfield", "country": "US"})
    wish_list = services.wish_list_create(customer_id=customer.pk, name="Kitchen")
    variant = VariantFactory()
    item = services.wish_list_item_add(customer_id=customer.pk, wish_list_id=wish_list.pk, variant=variant)
    return {
        "c": customer.pk, "other": other.pk, "identity": identity.pk, "address": address.pk,
        "list": wish_list.pk, "item": item.pk, "variant": variant.pk,
    }


ENDPOINTS = [
    # (name, kind, method, path, body)
    ("list", READ, "get", "/api/v1/customers/", None),
    ("create", WRITE, "post", "/api/v1/customers/", {"email": "new-{uuid}@example.com"}),
    ("lookup", READ, "get", "/api/v1/customers/lookup/?phone=4155552671", None),
    ("detail", READ, "get", "/api/v1/customers/{c}/", None),
    ("update", WRITE, "patch", "/api/v1/customers/{c}/", {"first_name": "Ada"}),
    ("identity add", WRITE, "post", "/api/v1/customers/{c}/identities/", {"kind": "card", "value": "CARD{short}"}),
    ("identity remove", WRITE, "delete", "/api/v1/customers/{c}/identities/{identity}/", None),
    ("address create", WRITE, "post", "/api/v1/customers/{c}/addresses/", {"line1": "2 Elm", "city": "Salem", "country": "US"}),
    ("address update", WRITE, "patch", "/api/v1/customers/{c}/addresses/{address}/", {"city": "Salem"}),
    ("address delete", WRITE, "delete", "/api/v1/customers/{c}/addresses/{address}/", None),
    ("consent history", READ, "get", "/api/v1/customers/{c}/consents/", None),
    ("consent record", WRITE, "post", "/api/v1/customers/{c}/consents/", {"channel": "email", "granted": True, "source": "web"}),
    ("wish lists", READ, "get", "/api/v1/customers/{c}/wish-lists/", None),
    ("wish list create", WRITE, "post", "/api/v1/customers/{c}/wish-lists/", {"name": "Garden"}),
    ("wish list detail", READ, "get", "/api/v1/customers/{c}/wish-lists/{list}/", None),
    ("wish list rename", WRITE, "patch", "/api/v1/customers/{c}/wish-lists/{list}/", {"name": "Garden"}),
    ("wish list delete", WRITE, "delete", "/api/v1/customers/{c}/wish-lists/{list}/", None),
    ("wish list item add", WRITE, "post", "/api/v1/customers/{c}/wish-lists/{list}/items/", {"variant_id": "{variant}"}),
    ("wish list item remove", WRITE, "delete", "/api/v1/customers/{c}/wish-lists/{list}/items/{item}/", None),
    ("merge", MERGE, "post", "/api/v1/customers/{c}/merge/", {"merged_customer_id": "{other}"}),
]

ALLOWED_ROLES = {
    READ: ["cashier", "store_manager", "administrator", "finance"],
    WRITE: ["cashier", "store_manager", "administrator"],
    MERGE: ["store_manager", "administrator"],
}
WRONG_ROLE = {READ: "fulfillment_associate", WRITE: "finance", MERGE: "cashier"}
SCOPE = {READ: Scope.CUSTOMERS_READ, WRITE: Scope.CUSTOMERS_WRITE, MERGE: None}
OTHER_SCOPE = {READ: Scope.CUSTOMERS_WRITE, WRITE: Scope.CUSTOMERS_READ, MERGE: Scope.CUSTOMERS_WRITE}


def _fill(value, world):
    names = {**world, "uuid": uuid.uuid4().hex[:12], "short": uuid.uuid4().hex[:8].upper()}
    if isinstance(value, str):
        filled = value.format(**names)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    return value


def _call(client, method, path, body, world):
    return getattr(client, method)(_fill(path, world), _fill(body, world), format="json")


IDS = [endpoint[0] for endpoint in ENDPOINTS]


@pytest.mark.parametrize("name, kind, method, path, body", ENDPOINTS, ids=IDS)
def test_anonymous_rejected(api_client, world, name, kind, method, path, body):
    response = _call(api_client, method, path, body, world)
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("name, kind, method, path, body", ENDPOINTS, ids=IDS)
def test_key_without_scope_rejected(key_client, world, name, kind, method, path, body):
    response = _call(key_client([OTHER_SCOPE[kind], Scope.CATALOG_READ]), method, path, body, world)
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


@pytest.mark.parametrize("name, kind, method, path, body", ENDPOINTS, ids=IDS)
def test_wrong_role_rejected(staff_client, world, name, kind, method, path, body):
    response = _call(staff_client(WRONG_ROLE[kind]), method, path, body, world)
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


ALLOWED_CASES = [(*endpoint, role) for endpoint in ENDPOINTS for role in ALLOWED_ROLES[endpoint[1]]]


@pytest.mark.parametrize(
    "name, kind, method, path, body, role", ALLOWED_CASES, ids=[f"{case[0]}-{case[-1]}" for case in ALLOWED_CASES]
)
def test_allowed_role_succeeds(staff_client, world, name, kind, method, path, body, role):
    response = _call(staff_client(role), method, path, body, world)
    assert response.status_code in (200, 201, 204)


@pytest.mark.parametrize("name, kind, method, path, body", [endpoint for endpoint in ENDPOINTS if endpoint[1] != MERGE], ids=[e[0] for e in ENDPOINTS if e[1] != MERGE])
def test_key_with_scope_succeeds(key_client, world, name, kind, method, path, body):
    response = _call(key_client([SCOPE[kind]]), method, path, body, world)
    assert response.status_code in (200, 201, 204)


def test_merge_rejects_any_key(key_client, world):
    client = key_client(list(Scope.values))
    response = client.post(f"/api/v1/customers/{world['c']}/merge/", {"merged_customer_id": world["other"]}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


def test_cashier_of_any_store_can_look_up(staff_client, world):
    response = staff_client("cashier", LocationFactory()).get("/api/v1/customers/lookup/", {"card_number": "card0001"})
    assert response.status_code == 200
    assert response.json()["id"] == world["c"]
