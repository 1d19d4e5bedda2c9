import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce.models import Scope
from loyalty import services
from loyalty.models import LoyaltyAccount, PointsEntry
from tests.factories import CustomerFactory, LocationFactory

from .factories import ProgramFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    program = ProgramFactory()
    TierFactory(program=program, name="Silver", min_spend=Decimal("100.00"), multiplier=Decimal("2.00"))
    TierFactory(program=program, name="Gold", min_spend=Decimal("1000.00"), multiplier=Decimal("3.00"))
    customer = CustomerFactory()
    services.points_earn_for_order(customer_id=customer.pk, order_reference="SEED", lines=[(None, Decimal("500.00"))], placed_at=timezone.now())
    return customer


def _base(customer_id):
    return f"/api/v1/loyalty/customers/{customer_id}/account/"


def test_account_summary(staff_client, customer):
    response = staff_client("cashier").get(_base(customer.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == 500
    assert body["balance_value"] == "5.00"
    assert body["rolling_spend"] == "500.00"
    assert body["tier"]["name"] == "Silver"
    assert body["next_tier"]["name"] == "Gold"
    assert body["currency"] == "USD"


def test_account_entries(key_client, customer):
    response = key_client([Scope.CUSTOMERS_READ]).get(_base(customer.pk) + "entries/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["kind"], row["points"], row["order_reference"]) for row in rows] == [("earn", 500, "SEED")]


def test_unknown_customer_404(staff_client, customer):
    response = staff_client("cashier").get(_base(777777))
    assert response.status_code == 404
    assert "777777" in response.json()["message"]


def test_customer_without_account_404(staff_client, customer):
    other = CustomerFactory()
    response = staff_client("cashier").get(_base(other.pk))
    assert response.status_code == 404
    assert response.json()["code"] == "loyalty_account_not_found"


def test_redeem_preview(staff_client, customer):
    response = staff_client("cashier").get(_base(customer.pk) + "redeem-preview/", {"points": 150})
    assert response.status_code == 200
    assert response.json() == {"points": 150, "amount": "1.50", "currency": "USD", "balance": 500, "balance_after": 350}
    assert PointsEntry.objects.count() == 1


def test_redeem_preview_beyond_balance_400(staff_client, customer):
    response = staff_client("cashier").get(_base(customer.pk) + "redeem-preview/", {"points": 501})
    assert response.status_code == 400
    assert response.json()["code"] == "insufficient_points"
    assert "balance of 500 points" in response.json()["message"]


@pytest.mark.parametrize("points", ["abc", "-3", "0", ""])
def test_redeem_preview_bad_points_400(staff_client, customer, points):
    response = staff_client("cashier").get(_base(customer.pk) + "redeem-preview/", {"points": points})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_points"


def test_redemption_replay_returns_first(staff_client, customer):
    client = staff_client("cashier")
    key = str(uuid.uuid4())
    body = {"points": 200, "order_reference": "POS-55"}
    first = client.post(_base(customer.pk) + "redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post(_base(customer.pk) + "redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    assert first.json()["amount"] == "2.00"
    assert first.json()["balance"] == 300
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert LoyaltyAccount.objects.get(customer=customer).balance == 300


def test_redemption_beyond_balance_400(staff_client, customer):
    response = staff_client("cashier").post(
        _base(customer.pk) + "redemptions/", {"points": 900, "order_reference": "POS-56"}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code == 400
    assert response.json()["code"] == "insufficient_points"
    assert "balance of 500 points" in response.json()["message"]
    assert LoyaltyAccount.objects.get(customer=customer).balance == 500


def test_redemption_needs_idempotency_key(staff_client, customer):
    response = staff_client("cashier").post(_base(customer.pk) + "redemptions/", {"points": 10, "order_reference": "POS-57"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"


def test_redemption_bad_points_400(staff_client, customer):
    response = staff_client("cashier").post(
        _base(customer.pk) + "redemptions/", {"points": "lots", "order_reference": "POS-58"}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code == 400
    assert "points" in response.json()["fields"]


# Permissions. Loyalty accounts follow the customer across stores, so location does not limit access.

READ, REDEEM = "read", "redeem"
ENDPOINTS = [
    ("account", READ, "get", "", None),
    ("entries", READ, "get", "entries/", None),
    ("redeem preview", READ, "get", "redeem-preview/?points=10", None),
    ("redemption", REDEEM, "post", "redemptions/", {"points": 10, "order_reference": "POS-PERM"}),
]
ALLOWED_ROLES = {READ: ["cashier", "store_manager", "administrator", "finance"], REDEEM: ["cashier", "store_manager", "administrator"]}
WRONG_ROLE = {READ: "fulfillment_associate", REDEEM: "finance"}
SCOPE = {READ: Scope.CUSTOMERS_READ, REDEEM: Scope.CUSTOMERS_WRITE}
OTHER_SCOPE = {READ: Scope.ORDERS_READ, REDEEM: Scope.CUSTOMERS_READ}
IDS = [endpoint[0] for endpoint in ENDPOINTS]


def _call(client, method, suffix, body, customer):
    return getattr(client, method)(_base(customer.pk) + suffix, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


@pytest.mark.parametrize("name, kind, method, suffix, body", ENDPOINTS, ids=IDS)
def test_anonymous_rejected(api_client, customer, name, kind, method, suffix, body):
    response = _call(api_client, method, suffix, body, customer)
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("name, kind, method, suffix, body", ENDPOINTS, ids=IDS)
def test_key_without_scope_rejected(key_client, customer, name, kind, method, suffix, body):
    response = _call(key_client([OTHER_SCOPE[kind]]), method, suffix, body, customer)
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


@pytest.mark.parametrize("name, kind, method, suffix, body", ENDPOINTS, ids=IDS)
def test_wrong_role_rejected(staff_client, customer, name, kind, method, suffix, body):
    response = _call(staff_client(WRONG_ROLE[kind]), method, suffix, body, customer)
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


@pytest.mark.parametrize("name, kind, method, suffix, body", ENDPOINTS, ids=IDS)
def test_key_with_scope_succeeds(key_client, customer, name, kind, method, suffix, body):
    response = _call(key_client([SCOPE[kind]]), method, suffix, body, customer)
    assert response.status_code in (200, 201)


ALLOWED_CASES = [(*endpoint, role) for endpoint in ENDPOINTS for role in ALLOWED_ROLES[endpoint[1]]]


@pytest.mark.parametrize(
    "name, kind, method, suffix, body, role", ALLOWED_CASES, ids=[f"{case[0]}-{case[-1]}" for case in ALLOWED_CASES]
)
def test_allowed_role_succeeds(staff_client, customer, name, kind, method, suffix, body, role):
    response = _call(staff_client(role, LocationFactory()), method, suffix, body, customer)
    assert response.status_code in (200, 201)
