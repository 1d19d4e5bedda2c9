"""The pricing API: the quote endpoint, the staff endpoints, their errors and who may call them."""

from decimal import Decimal

import pytest

from commerce.models import AuditEntry, Role
from pricing.models import Coupon, PriceList, Promotion, TaxRate, TaxRegion
from tests.factories import CustomerFactory, LocationFactory, ProductFactory, TaxClassFactory, VariantFactory

from .factories import CouponFactory, LocationTaxRegionFactory, PriceListFactory, PromotionFactory, TaxRateFactory, TaxRegionFactory

pytestmark = pytest.mark.django_db

QUOTE = "/api/v1/pricing/quote/"


@pytest.fixture
def store(channels):
    store = LocationFactory(code="dallas")
    region = TaxRegionFactory(code="us-tx", country="US", state="TX")
    LocationTaxRegionFactory(location=store, region=region)
    TaxRateFactory(region=region, tax_class=TaxClassFactory(code="standard"), rate=Decimal("8.2500"))
    return store


@pytest.fixture
def items(store):
    product = ProductFactory(tax_class=TaxClassFactory(code="standard"))
    return [VariantFactory(sku="MILK-1L", price="19.99", product=product), VariantFactory(sku="BREAD", price="3.00", product=product)]


def quote_body(store, **fields):
    body = {"channel": "pos", "store_id": store.id, "lines": [{"sku": "MILK-1L", "quantity": 1}, {"sku": "BREAD", "quantity": 2}]}
    body.update(fields)
    return body


def test_quote_full_breakdown(staff_client, store, items):
    PromotionFactory(name="Quarter off milk", scope="items", value=Decimal("25.00")).variants.add(items[0])
    response = staff_client(Role.CASHIER, store).post(QUOTE, quote_body(store), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    milk, bread = body["lines"]
    assert milk["unit_price"] == "19.99"
    assert milk["price_source"] == "base"
    assert milk["discounts"] == [{"promotion_id": milk["discounts"][0]["promotion_id"], "promotion_name": "Quarter off milk", "coupon_code": None, "amount": "5.00"}]
    assert milk["paid_before_tax"] == "14.99"
    assert milk["tax_total"] == "1.24"  # 14.99 * 8.25% = 1.2367
    assert bread["tax_total"] == "0.50"  # 6.00 * 8.25% = 0.495
    assert body["subtotal"] == "25.99"
    assert body["discount_total"] == "5.00"
    assert body["tax_total"] == "1.74"
    assert body["total"] == "22.73"
    assert body["tax_region_code"] == "us-tx"
    assert body["promotions"][0]["applied"] is True


def test_quote_reports_price_list(staff_client, store, items, channels):
    price_list = PriceListFactory(channel=channels["pos"], location=store, name="Dallas prices")
    price_list.items.create(variant=items[1], amount=Decimal("2.50"))
    response = staff_client(Role.STORE_MANAGER, store).post(QUOTE, quote_body(store), format="json")
    bread = response.json()["lines"][1]
    assert (bread["price_source"], bread["price_list_name"], bread["unit_price"]) == ("price_list", "Dallas prices", "2.50")


def test_quote_storefront_with_coupon(storefront_client, store, items):
    CouponFactory(code="WELCOME", promotion=PromotionFactory(value=Decimal("10.00"), requires_coupon=True))
    body = {
        "channel": "web",
        "lines": [{"sku": "BREAD", "quantity": 1}],
        "coupon_codes": ["welcome"],
        "shipping_address": {"country": "US", "state": "TX"},
        "shipping_amount": "4.99",
    }
    response = storefront_client.post(QUOTE, body, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["discount_total"] == "0.30"
    assert body["tax_total"] == "0.22"  # 2.70 * 8.25% = 0.22275
    assert body["total"] == "7.91"
    assert body["coupon_codes"] == ["WELCOME"]


@pytest.mark.parametrize(
    ("change", "code", "named"),
    [
        ({"lines": [{"sku": "NOPE-1", "quantity": 1}]}, "unknown_sku", "NOPE-1"),
        ({"lines": [{"sku": "BREAD", "quantity": 0}]}, "invalid", "quantity"),
        ({"lines": [{"sku": "BREAD", "quantity": "abc"}]}, "invalid", "abc"),
        ({"coupon_codes": ["GHOST"]}, "coupon_not_found", "GHOST"),
        ({"coupon_codes": ["OLD"]}, "coupon_expired", "OLD"),
        ({"coupon_codes": ["WEBONLY"]}, "coupon_wrong_channel", "WEBONLY"),
        ({"shipping_amount": "1.999"}, "too_many_decimals", "1.999"),
        ({"channel": "fax"}, "unknown_channel", "fax"),
    ],
)
def test_quote_bad_input_names_value(staff_client, store, items, channels, change, code, named):
    from datetime import timedelta

    from django.utils import timezone

    CouponFactory(code="OLD", promotion=PromotionFactory(requires_coupon=True, starts_at=timezone.now() - timedelta(days=9), ends_at=timezone.now() - timedelta(days=1)))
    web_only = PromotionFactory(requires_coupon=True)
    web_only.channels.add(channels["web"])
    CouponFactory(code="WEBONLY", promotion=web_only)

    response = staff_client(Role.CASHIER, store).post(QUOTE, quote_body(store, **change), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert named in body["message"]


def test_quote_used_up_coupon(staff_client, store, items):
    CouponFactory(code="ONCE", usage_limit=1, times_used=1)
    response = staff_client(Role.CASHIER, store).post(QUOTE, quote_body(store, coupon_codes=["once"]), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "coupon_used_up"


def test_quote_permissions(api_client, key_client, staff_client, store, items):
    body = quote_body(store)
    assert api_client.post(QUOTE, body, format="json").status_code in (401, 403)
    assert key_client(["catalog:read"]).post(QUOTE, body, format="json").json()["code"] == "missing_scope"
    assert key_client(["carts:write"]).post(QUOTE, body, format="json").status_code == 200
    for role in (Role.FINANCE, Role.FULFILLMENT_ASSOCIATE):
        response = staff_client(role, store).post(QUOTE, body, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "role_not_allowed"
    other_store = LocationFactory(code="austin")
    response = staff_client(Role.CASHIER, other_store).post(QUOTE, body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "location_forbidden"
    response = staff_client(Role.CASHIER, store).post(QUOTE, quote_body(store, store_id=None), format="json")
    assert response.json()["code"] == "required"
    assert staff_client(Role.ADMINISTRATOR).post(QUOTE, body, format="json").status_code == 200


def test_quote_customer_group_price(staff_client, store, items, channels):
    from .factories import CustomerGroupFactory

    customer = CustomerFactory()
    group = CustomerGroupFactory(code="loyalty")
    group.members.add(customer)
    PriceListFactory(channel=channels["pos"], customer_group=group, name="Members").items.create(variant=items[0], amount=Decimal("17.99"))
    response = staff_client(Role.CASHIER, store).post(QUOTE, quote_body(store, customer_id=customer.id), format="json")
    assert response.json()["lines"][0]["unit_price"] == "17.99"


# Staff endpoints.


STAFF_ENDPOINTS = [
    "/api/v1/pricing/price-lists/",
    "/api/v1/pricing/promotions/",
    "/api/v1/pricing/coupons/",
    "/api/v1/pricing/tax-regions/",
    "/api/v1/pricing/tax-rates/",
]


@pytest.mark.parametrize("url", STAFF_ENDPOINTS)
def test_staff_endpoint_permissions(api_client, key_client, staff_client, store, url):
    assert api_client.get(url).status_code in (401, 403)
    assert key_client(["carts:write", "catalog:read"]).get(url).json()["code"] == "missing_scope"
    assert staff_client(Role.CASHIER, store).get(url).json()["code"] == "role_not_allowed"
    assert staff_client(Role.FINANCE).get(url).status_code == 200
    assert staff_client(Role.STORE_MANAGER, store).get(url).status_code == 200
    response = staff_client(Role.STORE_MANAGER, store).post(url, {}, format="json")
    assert response.status_code == 403
    assert staff_client(Role.ADMINISTRATOR).post(url, {}, format="json").status_code == 400


def test_staff_detail_permissions(api_client, staff_client, store, channels):
    price_list = PriceListFactory(channel=channels["pos"])
    promotion = PromotionFactory()
    for url in (f"/api/v1/pricing/price-lists/{price_list.id}/", f"/api/v1/pricing/promotions/{promotion.id}/"):
        assert api_client.get(url).status_code in (401, 403)
        assert staff_client(Role.CASHIER, store).get(url).status_code == 403
        assert staff_client(Role.FINANCE).get(url).status_code == 200
        assert staff_client(Role.STORE_MANAGER, store).put(url, {}, format="json").status_code == 403
        assert staff_client(Role.ADMINISTRATOR).put(url, {}, format="json").status_code == 400


def test_store_manager_sees_own_store_lists(staff_client, store, channels):
    own = PriceListFactory(channel=channels["pos"], location=store)
    shared = PriceListFactory(channel=channels["pos"])
    foreign = PriceListFactory(channel=channels["pos"], location=LocationFactory(code="austin"))
    client = staff_client(Role.STORE_MANAGER, store)
    ids = {row["id"] for row in client.get("/api/v1/pricing/price-lists/").json()["results"]}
    assert ids == {own.id, shared.id}
    assert client.get(f"/api/v1/pricing/price-lists/{foreign.id}/").status_code == 404


def test_admin_creates_price_list(admin_client_api, store, items):
    body = {"name": "Dallas", "channel": "pos", "location_id": store.id, "items": [{"sku": "BREAD", "amount": "2.75"}]}
    response = admin_client_api.post("/api/v1/pricing/price-lists/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["items"] == [{"sku": "BREAD", "amount": "2.75"}]
    assert AuditEntry.objects.filter(action="pricing.price_list_saved").count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"items": [{"sku": "BREAD", "amount": "-1.00"}]}, "negative_amount"),
        ({"items": [{"sku": "BREAD", "amount": "1000000000.00"}]}, "amount_too_large"),
        ({"items": [{"sku": "BREAD", "amount": "2.755"}]}, "too_many_decimals"),
        ({"items": [{"sku": "GHOST", "amount": "2.75"}]}, "unknown_sku"),
        ({"starts_at": "2026-07-01T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"}, "invalid_period"),
    ],
)
def test_admin_price_list_bad_input(admin_client_api, store, items, change, code):
    body = {"name": "Dallas", "channel": "pos", "items": [{"sku": "BREAD", "amount": "2.75"}]}
    body.update(change)
    response = admin_client_api.post("/api/v1/pricing/price-lists/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert PriceList.objects.count() == 0


def test_admin_price_list_overlap_is_409(admin_client_api, store, items):
    body = {"name": "First", "channel": "pos", "items": [{"sku": "BREAD", "amount": "2.75"}]}
    assert admin_client_api.post("/api/v1/pricing/price-lists/", body, format="json").status_code == 201
    body = {"name": "Second", "channel": "pos", "items": [{"sku": "BREAD", "amount": "2.50"}]}
    response = admin_client_api.post("/api/v1/pricing/price-lists/", body, format="json")
    assert response.status_code == 409
    assert "First" in response.json()["message"]
    assert "Second" in response.json()["message"]


def test_admin_updates_price_list(admin_client_api, channels):
    price_list = PriceListFactory(channel=channels["pos"], name="Old")
    body = {"name": "New", "channel": "pos", "priority": 4}
    response = admin_client_api.put(f"/api/v1/pricing/price-lists/{price_list.id}/", body, format="json")
    assert response.status_code == 200, response.json()
    price_list.refresh_from_db()
    assert (price_list.name, price_list.priority) == ("New", 4)


def test_admin_creates_promotion_and_coupon(admin_client_api, items, channels):
    body = {"name": "3 for 2 bread", "kind": "buy_x_get_y", "scope": "items", "buy_quantity": 2, "get_quantity": 1, "skus": ["BREAD"], "channels": ["pos"]}
    response = admin_client_api.post("/api/v1/pricing/promotions/", body, format="json")
    assert response.status_code == 201, response.json()
    promotion_id = response.json()["id"]
    assert response.json()["skus"] == ["BREAD"]
    response = admin_client_api.post("/api/v1/pricing/coupons/", {"code": "bread3", "promotion_id": promotion_id, "usage_limit": 100}, format="json")
    assert response.status_code == 201, response.json()
    assert Coupon.objects.get().code == "BREAD3"
    assert Promotion.objects.get().requires_coupon is True
    response = admin_client_api.put(f"/api/v1/pricing/promotions/{promotion_id}/", dict(body, value="0", kind="percentage"), format="json")
    assert response.json()["code"] == "invalid_percentage"


def test_admin_creates_tax_region_and_rate(admin_client_api, channels):
    TaxClassFactory(code="standard")
    response = admin_client_api.post("/api/v1/pricing/tax-regions/", {"code": "pl", "name": "Poland", "country": "PL", "rounding": "per_document"}, format="json")
    assert response.status_code == 201, response.json()
    body = {"region": "pl", "tax_class": "standard", "name": "VAT", "rate": "23", "effective_from": "2011-01-01"}
    response = admin_client_api.post("/api/v1/pricing/tax-rates/", body, format="json")
    assert response.status_code == 201, response.json()
    assert TaxRate.objects.get().rate == Decimal("23.0000")
    response = admin_client_api.post("/api/v1/pricing/tax-rates/", dict(body, rate="123"), format="json")
    assert response.json()["code"] == "invalid_rate"
    response = admin_client_api.post("/api/v1/pricing/tax-regions/", {"code": "pl2", "name": "Poland", "country": "PL"}, format="json")
    assert response.status_code == 409
    assert TaxRegion.objects.count() == 1
