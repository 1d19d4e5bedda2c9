"""Who may call each inventory endpoint: anonymous, API keys by scope, staff by role and location."""

import uuid

import pytest
from rest_framework.test import APIClient

from commerce.models import Role
from inventory.models import StockLevel
from inventory.services import CountedItem, TransferItem, cycle_count_record, transfer_create, transfer_ship

pytestmark = pytest.mark.django_db


def _draft(network):
    return transfer_create(source_id=network["dc"].pk, destination_id=network["north"].pk, items=[TransferItem(network["A"].pk, 1)])


def _shipped(network):
    transfer = _draft(network)
    transfer_ship(transfer_id=transfer.pk)
    return transfer


def _count(network):
    return cycle_count_record(location_id=network["north"].pk, items=[CountedItem(network["B"].pk, 2)])


def _north_level(network):
    return StockLevel.objects.get(variant=network["A"], location=network["north"])


# Each endpoint: the HTTP method, a function (network) -> (url, body), and whether it takes an Idempotency-Key.
ENDPOINTS = {
    "availability-get": ("get", lambda n: ("/api/v1/availability/?sku=SKU-A", None)),
    "availability-post": ("post", lambda n: ("/api/v1/availability/", {"skus": ["SKU-A"]})),
    "stock-levels": ("get", lambda n: ("/api/v1/stock-levels/?location=north", None)),
    "stock-level": ("get", lambda n: (f"/api/v1/stock-levels/{_north_level(n).pk}/", None)),
    "adjust": ("post", lambda n: ("/api/v1/adjustments/", {"sku": "SKU-A", "location": "north", "quantity": -1, "note": "x"})),
    "damage": ("post", lambda n: ("/api/v1/adjustments/", {"sku": "SKU-A", "location": "north", "quantity": -1, "reason": "damage", "note": "x"})),
    "safety-stock": ("post", lambda n: ("/api/v1/safety-stock/", {"sku": "SKU-A", "location": "north", "safety_stock": 1})),
    "transfers": ("get", lambda n: ("/api/v1/transfers/", None)),
    "transfer-create": ("post", lambda n: ("/api/v1/transfers/", {"source": "dc", "destination": "north", "lines": [{"sku": "SKU-A", "quantity": 1}]})),
    "transfer": ("get", lambda n: (f"/api/v1/transfers/{_draft(n).pk}/", None)),
    "transfer-ship": ("post", lambda n: (f"/api/v1/transfers/{_draft(n).pk}/ship/", {})),
    "transfer-receive": ("post", lambda n: (f"/api/v1/transfers/{_shipped(n).pk}/receive/", {})),
    "transfer-cancel": ("post", lambda n: (f"/api/v1/transfers/{_draft(n).pk}/cancel/", {})),
    "counts": ("get", lambda n: ("/api/v1/counts/", None)),
    "count-create": ("post", lambda n: ("/api/v1/counts/", {"location": "north", "lines": [{"sku": "SKU-A", "counted": 3}]})),
    "count": ("get", lambda n: (f"/api/v1/counts/{_count(n).pk}/", None)),
    "locations": ("get", lambda n: ("/api/v1/locations/", None)),
    "location": ("get", lambda n: ("/api/v1/locations/north/", None)),
    "location-create": ("post", lambda n: ("/api/v1/locations/", {"code": "east", "name": "East", "kind": "store"})),
    "location-update": ("patch", lambda n: ("/api/v1/locations/north/", {"name": "North flagship"})),
}

# (endpoint, caller, expected status). A caller is "anonymous", "key:<scope>", "<role>@<location code>" or "administrator".
CASES = [
    # Availability covers the whole network for every staff member, so a cashier of another store gets 200.
    *[(name, caller, code) for name in ("availability-get", "availability-post") for caller, code in [
        ("anonymous", 401), ("key:catalog:read", 403), ("key:inventory:read", 200), ("cashier@south", 200),
    ]],
    ("stock-levels", "anonymous", 401), ("stock-levels", "key:catalog:read", 403), ("stock-levels", "cashier@south", 403),
    ("stock-levels", "key:inventory:read", 200), ("stock-levels", "cashier@north", 200),
    ("stock-level", "anonymous", 401), ("stock-level", "key:catalog:read", 403), ("stock-level", "cashier@south", 403),
    ("stock-level", "key:inventory:read", 200), ("stock-level", "cashier@north", 200),
    ("adjust", "anonymous", 401), ("adjust", "key:inventory:read", 403), ("adjust", "cashier@north", 403),
    ("adjust", "store_manager@south", 403), ("adjust", "fulfillment_associate@north", 403), ("adjust", "store_manager@north", 201),
    ("damage", "fulfillment_associate@south", 403), ("damage", "fulfillment_associate@north", 201), ("damage", "administrator", 201),
    ("safety-stock", "anonymous", 401), ("safety-stock", "key:inventory:read", 403), ("safety-stock", "cashier@north", 403),
    ("safety-stock", "store_manager@south", 403), ("safety-stock", "store_manager@north", 200),
    ("transfers", "anonymous", 401), ("transfers", "key:inventory:read", 403), ("transfers", "cashier@north", 200),
    ("transfer-create", "anonymous", 401), ("transfer-create", "key:inventory:read", 403), ("transfer-create", "cashier@north", 403),
    ("transfer-create", "store_manager@south", 403), ("transfer-create", "store_manager@north", 201),
    ("transfer", "anonymous", 401), ("transfer", "key:inventory:read", 403), ("transfer", "cashier@south", 403),
    ("transfer", "cashier@north", 200),
    ("transfer-ship", "anonymous", 401), ("transfer-ship", "key:inventory:read", 403), ("transfer-ship", "cashier@dc", 403),
    ("transfer-ship", "fulfillment_associate@north", 403), ("transfer-ship", "fulfillment_associate@dc", 200),
    ("transfer-receive", "anonymous", 401), ("transfer-receive", "key:inventory:read", 403), ("transfer-receive", "cashier@north", 403),
    ("transfer-receive", "fulfillment_associate@dc", 403), ("transfer-receive", "fulfillment_associate@north", 200),
    ("transfer-cancel", "anonymous", 401), ("transfer-cancel", "key:inventory:read", 403), ("transfer-cancel", "cashier@north", 403),
    ("transfer-cancel", "store_manager@south", 403), ("transfer-cancel", "store_manager@north", 200),
    ("counts", "anonymous", 401), ("counts", "key:inventory:read", 403), ("counts", "cashier@north", 403),
    ("counts", "fulfillment_associate@north", 200),
    ("count-create", "anonymous", 401), ("count-create", "key:inventory:read", 403), ("count-create", "cashier@north", 403),
    ("count-create", "store_manager@south", 403), ("count-create", "fulfillment_associate@north", 201),
    ("count", "anonymous", 401), ("count", "key:inventory:read", 403), ("count", "store_manager@south", 403),
    ("count", "store_manager@north", 200),
    *[(name, caller, code) for name in ("locations", "location") for caller, code in [
        ("anonymous", 401), ("key:catalog:read", 403), ("key:inventory:read", 200), ("cashier@south", 200),
    ]],
    ("location-create", "anonymous", 401), ("location-create", "key:inventory:read", 403),
    ("location-create", "store_manager@north", 403), ("location-create", "administrator", 201),
    ("location-update", "anonymous", 401), ("location-update", "key:inventory:read", 403),
    ("location-update", "store_manager@north", 403), ("location-update", "administrator", 200),
]


@pytest.fixture
def caller(network, key_client, staff_client):
    def make(spec: str):
        if spec == "anonymous":
            return APIClient()
        if spec.startswith("key:"):
            return key_client([spec.removeprefix("key:")])
        if spec == "administrator":
            return staff_client(Role.ADMINISTRATOR)
        role, code = spec.split("@")
        return staff_client(role, network[code])

    return make


@pytest.mark.parametrize(("endpoint", "who", "expected"), CASES, ids=[f"{case[0]}-{case[1]}" for case in CASES])
def test_endpoint_access(network, caller, endpoint, who, expected):
    method, target = ENDPOINTS[endpoint]
    url, body = target(network)
    client = caller(who)
    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())} if method == "post" else {}
    response = getattr(client, method)(url, body, format="json", **headers) if body is not None else client.get(url)
    assert response.status_code == expected, response.json()
    if expected == 403 and "@" in who and who.split("@")[0] in (Role.STORE_MANAGER, Role.FULFILLMENT_ASSOCIATE, Role.CASHIER):
        message = response.json()["message"]
        assert response.json()["code"] in ("location_forbidden", "role_not_allowed")
        if response.json()["code"] == "location_forbidden":
            assert "north" in message or "dc" in message
