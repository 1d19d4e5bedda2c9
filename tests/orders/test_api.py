import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from commerce.models import Role, Scope
from inventory.models import StockLevel
from orders.models import Order, OrderStatus, OrderStatusChange
from orders.services import order_place_web, order_record_register_sale
from tests.factories import CustomerFactory, LocationFactory, VariantFactory, WarehouseFactory

from .conftest import receive, row_counts

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
REGISTER_SALES = "/api/v1/register-sales/"


def post(client, path, body, *, key=None, **extra):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()), **extra)


def assert_error_body(response, status, code):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert body["message"]


@pytest.fixture
def shop(channels):
    """Two SKUs in stock at a warehouse, a store with stock of its own, and a second store."""
    warehouse, store, other_store = WarehouseFactory(), LocationFactory(), LocationFactory()
    mug, tee = VariantFactory(sku="MUG-1", price="12.50"), VariantFactory(sku="TEE-1", price="20.00")
    for variant in (mug, tee):
        receive(variant, warehouse, 50)
        receive(variant, store, 10)
        receive(variant, other_store, 10)
    return {"warehouse": warehouse, "store": store, "other_store": other_store, "mug": mug, "tee": tee}


def web_order(shop, **kwargs):
    order, _ = order_place_web(lines=[{"sku": "MUG-1", "quantity": 1}], **kwargs)
    return order


def register_sale(location, **kwargs):
    order, _ = order_record_register_sale(location_id=location.pk, lines=[{"sku": "MUG-1", "quantity": 1}], **kwargs)
    return order


# Placing web orders


def test_place_web_order(storefront_client, shop):
    body = {
        "lines": [{"sku": "MUG-1", "quantity": 2, "expected_unit_price": "12.50"}, {"variant": shop["tee"].pk, "quantity": 1}],
        "shipping_total": "5.00",
        "customer": {"email": "ada@example.com", "first_name": "Ada"},
        "external_ref": "SHOP-1001",
    }
    response = post(storefront_client, ORDERS, body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["channel"] == "web"
    assert data["status"] == "placed"
    assert data["location"] == shop["warehouse"].code
    assert (data["subtotal"], data["shipping_total"], data["total"], data["currency"]) == ("45.00", "5.00", "50.00", "USD")
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in data["lines"]] == [("MUG-1", 2, "25.00"), ("TEE-1", 1, "20.00")]
    assert data["status_history"][0]["to_status"] == "placed"
    assert data["status_history"][0]["api_key"] == storefront_client.api_key.prefix
    order = Order.objects.get(number=data["number"])
    assert order.api_key_id == storefront_client.api_key.pk
    assert order.customer.email == "ada@example.com"
    assert StockLevel.objects.get(variant=shop["mug"], location=shop["warehouse"]).reserved == 2


def test_idempotent_replay_returns_first_response(storefront_client, shop):
    body = {"lines": [{"sku": "MUG-1", "quantity": 1}]}
    first = post(storefront_client, ORDERS, body, key="retry-1")
    again = post(storefront_client, ORDERS, body, key="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(variant=shop["mug"], location=shop["warehouse"]).reserved == 1


def test_same_key_other_body_conflicts(storefront_client, shop):
    assert post(storefront_client, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}]}, key="k").status_code == 201
    before = row_counts()
    response = post(storefront_client, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 2}]}, key="k")
    assert_error_body(response, 409, "idempotency_key_reused")
    assert row_counts() == before


def test_missing_idempotency_key(storefront_client, shop):
    before = row_counts()
    response = storefront_client.post(ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}]}, format="json")
    assert_error_body(response, 400, "idempotency_key_missing")
    assert row_counts() == before


def test_rejected_order_key_may_be_reused(storefront_client, shop):
    response = post(storefront_client, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 999}]}, key="again")
    assert_error_body(response, 409, "insufficient_stock")
    response = post(storefront_client, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 999}]}, key="again")
    assert_error_body(response, 409, "insufficient_stock")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 400, "unknown_sku"),
        ({"lines": [{"variant": 10**30, "quantity": 1}]}, 400, "invalid"),
        ({"lines": [{"variant": 999999, "quantity": 1}]}, 400, "unknown_sku"),
        ({"lines": [{"sku": "MUG-1", "quantity": 0}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": -1}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 10**12}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": "abc"}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1.5}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": None}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1, "expected_unit_price": "12.499"}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1, "expected_unit_price": "-1.00"}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1, "expected_unit_price": "NaN"}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1, "expected_unit_price": "11.00"}]}, 409, "price_changed"),
        ({"lines": [{"sku": "MUG-1", "quantity": 51}]}, 409, "insufficient_stock"),
        ({"lines": []}, 400, "invalid"),
        ({"lines": "MUG-1"}, 400, "invalid"),
        ({}, 400, "invalid"),
        ([], 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}, {"sku": "MUG-1", "quantity": 2}]}, 400, "duplicate_line"),
        ({"lines": [{"sku": "MUG-1", "variant": 1, "quantity": 1}]}, 400, "invalid"),
        ({"lines": [{"quantity": 1}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "shipping_total": "1.005"}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "customer": {"id": 987654}}, 400, "customer_not_found"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "customer": {}}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "customer": {"email": "not-an-email"}}, 400, "invalid_email"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "external_ref": "x" * 101}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "1.00"}]}, 403, "import_fields_forbidden"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "placed_at": "2017-01-01T00:00:00Z"}, 403, "import_fields_forbidden"),
        (None, 400, "invalid"),
        ("lines", 400, "invalid"),
        ({"lines": [None]}, 400, "invalid"),
        ({"lines": [{"sku": None, "quantity": 1}]}, 400, "invalid"),
        ({"lines": [{"sku": 12345, "quantity": 1}]}, 400, "unknown_sku"),
        ({"lines": [{"sku": "x" * 65, "quantity": 1}]}, 400, "invalid"),
        ({"lines": [{"variant": "abc", "quantity": 1}]}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "customer": "abc"}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "customer": {"id": 10**30}}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "shipping_total": 1e308}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}], "shipping_total": "Infinity"}, 400, "invalid"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}] * 501}, 400, "invalid"),
    ],
)
def test_bad_web_order_writes_nothing(storefront_client, shop, body, status, code):
    before = row_counts()
    response = post(storefront_client, ORDERS, body)
    assert_error_body(response, status, code)
    assert row_counts() == before


def test_malformed_json(storefront_client, shop):
    before = row_counts()
    response = storefront_client.post(ORDERS, data='{"lines": [', content_type="application/json", HTTP_IDEMPOTENCY_KEY="m")
    assert_error_body(response, 400, "malformed_request")
    assert row_counts() == before


def test_wrong_content_type(storefront_client, shop):
    before = row_counts()
    response = storefront_client.post(ORDERS, data="lines=MUG-1", content_type="application/x-www-form-urlencoded", HTTP_IDEMPOTENCY_KEY="c")
    assert_error_body(response, 415, "unsupported_media_type")
    assert row_counts() == before


def test_administrator_imports_historical_order(admin_client_api, shop):
    body = {
        "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "10.28", "discount_amount": "4.11", "line_total": "16.45", "unit_cost": "7.1234"}],
        "placed_at": "2016-11-08T00:00:00Z", "external_ref": "CA-2016-152156", "source": "replay",
    }
    response = post(admin_client_api, ORDERS, body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["subtotal"], data["discount_total"], data["total"], data["source"]) == ("20.56", "4.11", "16.45", "replay")
    assert data["placed_at"] == "2016-11-08T00:00:00Z"
    again = post(admin_client_api, ORDERS, body)
    assert again.status_code == 200
    assert again.json()["number"] == data["number"]
    assert Order.objects.count() == 1


# Permissions of placing web orders


def test_place_anonymous(api_client, shop):
    response = post(api_client, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}]})
    assert_error_body(response, 401, "not_authenticated")


def test_place_key_without_scope(key_client, shop):
    before = row_counts()
    response = post(key_client([Scope.ORDERS_READ]), ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}]})
    assert_error_body(response, 403, "missing_scope")
    assert row_counts() == before


@pytest.mark.parametrize("role", [Role.CASHIER, Role.STORE_MANAGER, Role.FULFILLMENT_ASSOCIATE, Role.FINANCE])
def test_place_staff_not_allowed(staff_client, shop, role):
    response = post(staff_client(role, shop["store"]), ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}]})
    assert_error_body(response, 403, "role_not_allowed")


def test_place_administrator(admin_client_api, shop):
    response = post(admin_client_api, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}]})
    assert response.status_code == 201
    assert response.json()["status_history"][0]["actor"] == admin_client_api.user.username


# Register sales


def sale_body(shop, **extra):
    return {"location": shop["store"].code, "lines": [{"sku": "MUG-1", "quantity": 2}], **extra}


def test_cashier_records_sale(staff_client, shop):
    cashier = staff_client(Role.CASHIER, shop["store"])
    response = post(cashier, REGISTER_SALES, sale_body(shop, external_ref="4d7f3c1e-6d55-4a0c-9bb8-8f0a2e6c1d11"))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["channel"], data["status"], data["location"], data["total"]) == ("pos", "completed", shop["store"].code, "25.00")
    assert data["status_history"][0]["actor"] == cashier.user.username
    assert StockLevel.objects.get(variant=shop["mug"], location=shop["store"]).on_hand == 8


def test_offline_sale_synced_twice(staff_client, shop):
    cashier = staff_client(Role.CASHIER, shop["store"])
    body = sale_body(shop, external_ref="0b8f9a52-3f5e-4d8e-8a51-0d2c9e1f7a20", placed_at="2026-01-01T10:00:00-06:00")
    first = post(cashier, REGISTER_SALES, body)
    again = post(cashier, REGISTER_SALES, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    assert first.json()["placed_at"] == "2026-01-01T16:00:00Z"
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(variant=shop["mug"], location=shop["store"]).on_hand == 8


def test_store_manager_records_sale(staff_client, shop):
    assert post(staff_client(Role.STORE_MANAGER, shop["store"]), REGISTER_SALES, sale_body(shop)).status_code == 201


def test_sale_at_store_user_does_not_work_at(staff_client, shop):
    before = row_counts()
    response = post(staff_client(Role.CASHIER, shop["other_store"]), REGISTER_SALES, sale_body(shop))
    assert_error_body(response, 403, "location_forbidden")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"location": "no-such-store", "lines": [{"sku": "MUG-1", "quantity": 1}]}, 400, "location_not_found"),
        ({"location": "{warehouse}", "lines": [{"sku": "MUG-1", "quantity": 1}]}, 403, "location_forbidden"),
        ({"location": "{store}", "lines": [{"sku": "MUG-1", "quantity": 11}]}, 409, "insufficient_stock"),
        ({"location": "{store}", "lines": [{"sku": "NOPE", "quantity": 1}]}, 400, "unknown_sku"),
        ({"location": "{store}", "lines": [{"sku": "MUG-1", "quantity": "abc"}]}, 400, "invalid"),
        ({"location": "{store}", "lines": []}, 400, "invalid"),
        ({"location": "{store}", "lines": [{"sku": "MUG-1", "quantity": 1}], "placed_at": "yesterday"}, 400, "invalid"),
        ({"location": "{store}", "lines": [{"sku": "MUG-1", "quantity": 1}], "placed_at": "2999-01-01T00:00:00Z"}, 400, "invalid_placed_at"),
        ({"location": "{store}", "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "0.01"}]}, 403, "import_fields_forbidden"),
        ({"lines": [{"sku": "MUG-1", "quantity": 1}]}, 400, "invalid"),
    ],
)
def test_bad_register_sale_writes_nothing(staff_client, shop, body, status, code):
    body = {key: value.format(store=shop["store"].code, warehouse=shop["warehouse"].code) if key == "location" else value for key, value in body.items()}
    cashier = staff_client(Role.CASHIER, shop["store"])
    before = row_counts()
    response = post(cashier, REGISTER_SALES, body)
    assert_error_body(response, status, code)
    assert row_counts() == before


def test_administrator_sale_at_warehouse_rejected(admin_client_api, shop):
    response = post(admin_client_api, REGISTER_SALES, {"location": shop["warehouse"].code, "lines": [{"sku": "MUG-1", "quantity": 1}]})
    assert_error_body(response, 400, "location_not_selling")


def test_register_sale_anonymous(api_client, shop):
    assert_error_body(post(api_client, REGISTER_SALES, sale_body(shop)), 401, "not_authenticated")


def test_register_sale_api_key(storefront_client, shop):
    assert_error_body(post(storefront_client, REGISTER_SALES, sale_body(shop)), 403, "missing_scope")


@pytest.mark.parametrize("role", [Role.FULFILLMENT_ASSOCIATE, Role.FINANCE])
def test_register_sale_wrong_role(staff_client, shop, role):
    assert_error_body(post(staff_client(role, shop["store"]), REGISTER_SALES, sale_body(shop)), 403, "role_not_allowed")


def test_register_sale_administrator(admin_client_api, shop):
    assert post(admin_client_api, REGISTER_SALES, sale_body(shop)).status_code == 201


# Lists and details


@pytest.fixture
def orders(shop, storefront_client):
    web = web_order(shop, api_key=storefront_client.api_key)
    at_store = register_sale(shop["store"])
    at_other = register_sale(shop["other_store"])
    return {"web": web, "store": at_store, "other": at_other}


def numbers(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {order["number"] for order in response.json()["results"]}


def test_list_for_location_bound_staff(staff_client, shop, orders):
    cashier = staff_client(Role.CASHIER, shop["store"])
    assert numbers(cashier.get(ORDERS)) == {orders["store"].number}


def test_list_for_warehouse_associate(staff_client, shop, orders):
    associate = staff_client(Role.FULFILLMENT_ASSOCIATE, shop["warehouse"])
    assert numbers(associate.get(ORDERS)) == {orders["web"].number}


@pytest.mark.parametrize("role", [Role.FINANCE, Role.ADMINISTRATOR])
def test_list_for_finance_and_administrators(staff_client, orders, role):
    assert numbers(staff_client(role).get(ORDERS)) == {order.number for order in orders.values()}


def test_list_for_api_key_shows_web_orders(key_client, orders):
    assert numbers(key_client([Scope.ORDERS_READ]).get(ORDERS)) == {orders["web"].number}


def test_list_key_without_scope(key_client, orders):
    assert_error_body(key_client([Scope.CATALOG_READ]).get(ORDERS), 403, "missing_scope")


def test_list_anonymous(api_client, orders):
    assert_error_body(api_client.get(ORDERS), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channel=pos", {"store", "other"}),
        ("channel=web", {"web"}),
        ("status=placed", {"web"}),
        ("status=completed", {"store", "other"}),
        ("location={store}", {"store"}),
        ("number={web_number}", {"web"}),
        ("placed_after=2000-01-01T00:00:00Z", {"web", "store", "other"}),
        ("placed_before=2000-01-01T00:00:00Z", set()),
    ],
)
def test_list_filters(admin_client_api, shop, orders, query, expected):
    query = query.format(store=shop["store"].code, web_number=orders["web"].number)
    assert numbers(admin_client_api.get(f"{ORDERS}?{query}")) == {orders[name].number for name in expected}


def test_list_filter_by_customer(admin_client_api, shop, orders):
    customer = CustomerFactory()
    mine = register_sale(shop["store"], customer_id=customer.pk)
    assert numbers(admin_client_api.get(f"{ORDERS}?customer={customer.pk}")) == {mine.number}


@pytest.mark.parametrize("query", ["status=lost", "customer=abc", "placed_after=yesterday", f"customer={10**30}", "page=999"])
def test_list_bad_filters_are_4xx(admin_client_api, orders, query):
    response = admin_client_api.get(f"{ORDERS}?{query}")
    assert 400 <= response.status_code < 500 or response.json()["results"] == []


def test_detail_with_lines_and_history(staff_client, shop, orders):
    manager = staff_client(Role.STORE_MANAGER, shop["store"])
    response = manager.get(f"{ORDERS}{orders['store'].number}/")
    assert response.status_code == 200
    data = response.json()
    assert data["lines"] == [{
        "line_number": 1, "sku": "MUG-1", "name": shop["mug"].name, "quantity": 1, "unit_price": "12.50",
        "discount_amount": "0.00", "tax_amount": "0.00", "line_total": "12.50", "location": shop["store"].code,
        "discounts": [], "taxes": [],
    }]
    assert [(change["from_status"], change["to_status"]) for change in data["status_history"]] == [("", "completed")]
    assert data["tenders"] == []


def test_detail_of_other_store_hidden(staff_client, shop, orders):
    cashier = staff_client(Role.CASHIER, shop["store"])
    assert_error_body(cashier.get(f"{ORDERS}{orders['other'].number}/"), 404, "order_not_found")


def test_detail_register_sale_hidden_from_api_key(key_client, orders):
    client = key_client([Scope.ORDERS_READ])
    assert_error_body(client.get(f"{ORDERS}{orders['store'].number}/"), 404, "order_not_found")
    assert client.get(f"{ORDERS}{orders['web'].number}/").status_code == 200


def test_detail_key_without_scope(key_client, orders):
    assert_error_body(key_client([Scope.ORDERS_WRITE]).get(f"{ORDERS}{orders['web'].number}/"), 403, "missing_scope")


def test_detail_anonymous(api_client, orders):
    assert_error_body(api_client.get(f"{ORDERS}{orders['web'].number}/"), 401, "not_authenticated")


# Status changes


def test_ship_then_complete(staff_client, shop, orders):
    associate = staff_client(Role.FULFILLMENT_ASSOCIATE, shop["warehouse"])
    number = orders["web"].number
    response = post(associate, f"{ORDERS}{number}/ship/", {"reason": "Handed to the carrier"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "shipped"
    assert response.json()["status_history"][-1] == {
        "from_status": "placed", "to_status": "shipped", "reason": "Handed to the carrier", "actor": associate.user.username,
        "api_key": None, "at": response.json()["status_history"][-1]["at"],
    }
    level = StockLevel.objects.get(variant=shop["mug"], location=shop["warehouse"])
    assert (level.on_hand, level.reserved) == (49, 0)
    manager = staff_client(Role.STORE_MANAGER, shop["warehouse"])
    assert post(manager, f"{ORDERS}{number}/complete/", {}).json()["status"] == "completed"


def test_ship_twice_is_invalid_transition(admin_client_api, orders):
    number = orders["web"].number
    assert post(admin_client_api, f"{ORDERS}{number}/ship/", {}).status_code == 200
    response = post(admin_client_api, f"{ORDERS}{number}/ship/", {})
    assert_error_body(response, 409, "invalid_transition")
    assert number in response.json()["message"]
    assert "shipped" in response.json()["message"]
    assert "completed" in response.json()["message"]


def test_ship_replay_with_same_key(admin_client_api, orders):
    number = orders["web"].number
    first = post(admin_client_api, f"{ORDERS}{number}/ship/", {}, key="ship-1")
    again = post(admin_client_api, f"{ORDERS}{number}/ship/", {}, key="ship-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert OrderStatusChange.objects.filter(order__number=number, to_status="shipped").count() == 1


def test_ship_wrong_location(staff_client, shop, orders):
    associate = staff_client(Role.FULFILLMENT_ASSOCIATE, shop["other_store"])
    assert_error_body(post(associate, f"{ORDERS}{orders['web'].number}/ship/", {}), 403, "location_forbidden")
    assert Order.objects.get(pk=orders["web"].pk).status == OrderStatus.PLACED


@pytest.mark.parametrize("role", [Role.CASHIER, Role.FINANCE])
def test_ship_wrong_role(staff_client, shop, orders, role):
    assert_error_body(post(staff_client(role, shop["warehouse"]), f"{ORDERS}{orders['web'].number}/ship/", {}), 403, "role_not_allowed")


def test_ship_api_key(storefront_client, orders):
    assert_error_body(post(storefront_client, f"{ORDERS}{orders['web'].number}/ship/", {}), 403, "missing_scope")


def test_ship_anonymous(api_client, orders):
    assert_error_body(post(api_client, f"{ORDERS}{orders['web'].number}/ship/", {}), 401, "not_authenticated")


def test_complete_by_associate_not_allowed(staff_client, shop, orders):
    associate = staff_client(Role.FULFILLMENT_ASSOCIATE, shop["warehouse"])
    assert_error_body(post(associate, f"{ORDERS}{orders['web'].number}/complete/", {}), 403, "role_not_allowed")


def test_complete_placed_order_invalid(admin_client_api, orders):
    assert_error_body(post(admin_client_api, f"{ORDERS}{orders['web'].number}/complete/", {}), 409, "invalid_transition")


def test_api_key_cancels_own_web_order(storefront_client, shop, orders):
    response = post(storefront_client, f"{ORDERS}{orders['web'].number}/cancel/", {"reason": "Payment failed"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert response.json()["status_history"][-1]["api_key"] == storefront_client.api_key.prefix
    assert StockLevel.objects.get(variant=shop["mug"], location=shop["warehouse"]).reserved == 0


def test_api_key_cannot_cancel_others_orders(key_client, orders):
    other_key = key_client([Scope.ORDERS_WRITE])
    assert_error_body(post(other_key, f"{ORDERS}{orders['web'].number}/cancel/", {}), 403, "order_forbidden")
    assert_error_body(post(other_key, f"{ORDERS}{orders['store'].number}/cancel/", {}), 404, "order_not_found")
    assert Order.objects.get(pk=orders["web"].pk).status == OrderStatus.PLACED


def test_api_key_cancel_without_scope(key_client, orders):
    assert_error_body(post(key_client([Scope.ORDERS_READ]), f"{ORDERS}{orders['web'].number}/cancel/", {}), 403, "missing_scope")


def test_manager_voids_register_sale(staff_client, shop, orders):
    manager = staff_client(Role.STORE_MANAGER, shop["store"])
    response = post(manager, f"{ORDERS}{orders['store'].number}/cancel/", {"reason": "Rung up twice"})
    assert response.status_code == 200
    assert StockLevel.objects.get(variant=shop["mug"], location=shop["store"]).on_hand == 10


def test_manager_of_other_store_cannot_cancel(staff_client, shop, orders):
    manager = staff_client(Role.STORE_MANAGER, shop["other_store"])
    assert_error_body(post(manager, f"{ORDERS}{orders['store'].number}/cancel/", {}), 403, "location_forbidden")


def test_cashier_cannot_cancel(staff_client, shop, orders):
    cashier = staff_client(Role.CASHIER, shop["store"])
    assert_error_body(post(cashier, f"{ORDERS}{orders['store'].number}/cancel/", {}), 403, "role_not_allowed")


def test_cancel_unknown_order(admin_client_api, orders):
    assert_error_body(post(admin_client_api, f"{ORDERS}999999999/cancel/", {}), 404, "order_not_found")


def test_cancel_reason_too_long(admin_client_api, orders):
    assert_error_body(post(admin_client_api, f"{ORDERS}{orders['store'].number}/cancel/", {"reason": "x" * 501}), 400, "invalid")


def test_transition_needs_idempotency_key(admin_client_api, orders):
    response = admin_client_api.post(f"{ORDERS}{orders['web'].number}/cancel/", {}, format="json")
    assert_error_body(response, 400, "idempotency_key_missing")


# A customer's purchase history


def test_customer_history_across_channels(staff_client, shop, storefront_client):
    customer = CustomerFactory()
    web = web_order(shop, customer_id=customer.pk)
    sale = register_sale(shop["store"], customer_id=customer.pk)
    register_sale(shop["store"])
    response = staff_client(Role.FINANCE).get(f"/api/v1/customers/{customer.pk}/orders/")
    assert numbers(response) == {web.number, sale.number}
    assert {order["channel"] for order in response.json()["results"]} == {"web", "pos"}


def test_customer_history_for_store_staff(staff_client, shop):
    customer = CustomerFactory()
    web_order(shop, customer_id=customer.pk)
    sale = register_sale(shop["store"], customer_id=customer.pk)
    cashier = staff_client(Role.CASHIER, shop["store"])
    assert numbers(cashier.get(f"/api/v1/customers/{customer.pk}/orders/")) == {sale.number}


def test_customer_history_unknown_customer(admin_client_api):
    assert_error_body(admin_client_api.get("/api/v1/customers/987654/orders/"), 404, "customer_not_found")
    assert_error_body(admin_client_api.get(f"/api/v1/customers/{10**30}/orders/"), 404, "customer_not_found")


def test_customer_history_api_key(storefront_client):
    customer = CustomerFactory()
    assert_error_body(storefront_client.get(f"/api/v1/customers/{customer.pk}/orders/"), 403, "missing_scope")


def test_customer_history_anonymous(api_client):
    customer = CustomerFactory()
    assert_error_body(api_client.get(f"/api/v1/customers/{customer.pk}/orders/"), 401, "not_authenticated")


def test_totals_are_decimal_strings(admin_client_api, shop):
    response = post(admin_client_api, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 3}], "shipping_total": "0.10"})
    data = response.json()
    assert Decimal(data["total"]) == Decimal("37.60")
    assert isinstance(data["total"], str)


def test_no_user_without_role(shop):
    from tests.factories import UserFactory

    client = APIClient()
    client.force_login(UserFactory())
    assert_error_body(post(client, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}]}), 403, "no_role")


def test_fast_body_matches_serializer(admin_client_api, shop):
    from orders.api import OrderSerializer, order_body
    from orders.selectors import order_get

    customer = CustomerFactory()
    placed = post(admin_client_api, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 3}, {"sku": "TEE-1", "quantity": 1}],
                                             "shipping_total": "0.10", "customer": {"id": customer.pk}})
    sale = post(admin_client_api, REGISTER_SALES, {"location": shop["store"].code, "lines": [{"sku": "MUG-1", "quantity": 1}]})
    for response in (placed, sale):
        stored = order_get(number=response.json()["number"], location_ids=None)
        assert order_body(stored) == OrderSerializer(stored).data
        assert response.json() == OrderSerializer(stored).data


def test_location_filter_matches_split_orders(admin_client_api, shop, channels):
    only_east = VariantFactory(sku="EAST-ONLY")
    receive(only_east, shop["other_store"], 500)
    response = post(admin_client_api, ORDERS, {"lines": [{"sku": "MUG-1", "quantity": 1}, {"sku": "EAST-ONLY", "quantity": 1}]})
    number = response.json()["number"]
    assert response.json()["location"] is None
    assert number in numbers(admin_client_api.get(f"{ORDERS}?location={shop['other_store'].code}"))
    assert number in numbers(admin_client_api.get(f"{ORDERS}?location={shop['warehouse'].code}"))
    assert number not in numbers(admin_client_api.get(f"{ORDERS}?location={shop['store'].code}"))


@pytest.mark.parametrize("path", [f"{ORDERS}%00/", f"{ORDERS}{'9' * 40}/", f"{ORDERS}?number=%00", f"{ORDERS}?location=%00", f"{ORDERS}?channel=%00"])
def test_nul_and_long_numbers_in_reads(admin_client_api, orders, path):
    response = admin_client_api.get(path)
    assert response.status_code in (400, 404)
    assert set(response.json()) == {"code", "message", "fields"}


@pytest.mark.parametrize("action", ["cancel", "ship", "complete"])
def test_nul_number_in_transition(admin_client_api, orders, action):
    before = row_counts()
    # The kernel's middleware rejects a NUL anywhere in the URL before the view runs.
    assert_error_body(post(admin_client_api, f"{ORDERS}%00/{action}/", {}), 400, "invalid_character")
    assert row_counts() == before


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [{"sku": "MUG\x00", "quantity": 1}]},
        {"lines": [{"sku": "MUG-1", "quantity": 1}], "external_ref": "a\x00"},
        {"lines": [{"sku": "MUG-1", "quantity": 1}], "customer": {"email": "a\x00@example.com"}},
    ],
)
def test_nul_in_order_body(admin_client_api, shop, body):
    before = row_counts()
    assert_error_body(post(admin_client_api, ORDERS, body), 400, "invalid_character")
    assert row_counts() == before
