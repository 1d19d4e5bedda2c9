from decimal import Decimal

import pytest

from catalog.models import Barcode, Product, Variant, VariantPrice
from catalog.services import barcode_add, category_get_or_create
from commerce.models import Role, Scope
from tests.factories import BrandFactory, LocationFactory, ProductFactory, TaxClassFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(channels):
    """Two products: a sweater with two variants and barcodes, and a tea."""
    knits = BrandFactory(name="Northfield Knits")
    sweaters = category_get_or_create(path="Apparel > Sweaters")
    sweater = ProductFactory(name="Merino Crew Sweater", brand=knits, category=sweaters, tax_class=TaxClassFactory(code="standard"))
    small = VariantFactory(product=sweater, sku="NK-S", option_values={"Size": "S"}, price="89.00", unit_cost=Decimal("31.5000"))
    medium = VariantFactory(product=sweater, sku="NK-M", option_values={"Size": "M"}, price="89.00")
    barcode_add(variant=small, code="036000291452")
    barcode_add(variant=small, code="96385074")
    tea = ProductFactory(name="Earl Grey Tea", category=category_get_or_create(path="Grocery > Tea"), tax_class=TaxClassFactory(code="food", name="Food"))
    tea_variant = VariantFactory(product=tea, sku="TEA-1", price="4.50")
    return {"sweater": sweater, "small": small, "medium": medium, "tea": tea, "tea_variant": tea_variant, "knits": knits}


def reader(key_client):
    return key_client([Scope.CATALOG_READ])


# Reads --------------------------------------------------------------------------------------------


def test_product_list_paginated(catalog, key_client):
    response = reader(key_client).get("/api/v1/products/", {"page_size": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [product["name"] for product in body["results"]] == ["Merino Crew Sweater"]
    assert body["next"] is not None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "merino"}, ["Merino Crew Sweater"]),
        ({"q": "NK-"}, ["Merino Crew Sweater"]),
        ({"q": "036000291452"}, ["Merino Crew Sweater"]),
        ({"q": "0036000291452"}, ["Merino Crew Sweater"]),
        ({"q": "grey"}, ["Earl Grey Tea"]),
        ({"category": "Grocery"}, ["Earl Grey Tea"]),
        ({"category": "apparel > sweaters"}, ["Merino Crew Sweater"]),
        ({"brand": "northfield knits"}, ["Merino Crew Sweater"]),
        ({"tax_class": "food"}, ["Earl Grey Tea"]),
        ({"needs_review": "true"}, []),
        ({"is_active": "true"}, ["Merino Crew Sweater", "Earl Grey Tea"]),
    ],
)
def test_product_list_filters(catalog, key_client, params, expected):
    response = reader(key_client).get("/api/v1/products/", params)
    assert response.status_code == 200
    assert [product["name"] for product in response.json()["results"]] == expected


def test_product_list_filter_by_ids(catalog, key_client):
    client = reader(key_client)
    tea = catalog["tea"]
    assert [p["id"] for p in client.get("/api/v1/products/", {"category": tea.category_id}).json()["results"]] == [tea.pk]
    assert [p["id"] for p in client.get("/api/v1/products/", {"brand": catalog["knits"].pk}).json()["results"]] == [catalog["sweater"].pk]
    assert [p["id"] for p in client.get("/api/v1/products/", {"tax_class": tea.tax_class_id}).json()["results"]] == [tea.pk]


def test_product_list_bad_boolean_is_400(catalog, key_client):
    response = reader(key_client).get("/api/v1/products/", {"is_active": "maybe"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "is_active" in response.json()["fields"]


def test_product_detail_has_variants_barcodes_prices(catalog, key_client):
    response = reader(key_client).get(f"/api/v1/products/{catalog['sweater'].pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["brand"]["name"] == "Northfield Knits"
    assert body["category"]["path"] == "Apparel > Sweaters"
    small = body["variants"][0]
    assert small["sku"] == "NK-S"
    assert small["option_values"] == {"Size": "S"}
    assert small["barcodes"] == [{"gtin": "0036000291452", "kind": "EAN-13"}, {"gtin": "96385074", "kind": "EAN-8"}]
    assert small["prices"] == [{"channel": "pos", "currency": "USD", "amount": "89.00"}, {"channel": "web", "currency": "USD", "amount": "89.00"}]
    # Unit costs are for staff only.
    assert small["unit_cost"] is None


def test_product_detail_shows_cost_to_staff(catalog, staff_client):
    response = staff_client(Role.FINANCE).get(f"/api/v1/products/{catalog['sweater'].pk}/")
    assert response.json()["variants"][0]["unit_cost"] == {"amount": "31.5000", "currency": "USD"}


def test_product_detail_unknown_is_404(catalog, key_client):
    response = reader(key_client).get("/api/v1/products/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


def test_variant_list_and_detail(catalog, key_client):
    client = reader(key_client)
    listed = client.get("/api/v1/variants/", {"product": catalog["sweater"].pk}).json()
    assert [variant["sku"] for variant in listed["results"]] == ["NK-S", "NK-M"]
    searched = client.get("/api/v1/variants/", {"q": "tea"}).json()
    assert [variant["sku"] for variant in searched["results"]] == ["TEA-1"]
    detail = client.get(f"/api/v1/variants/{catalog['medium'].pk}/").json()
    assert detail["sku"] == "NK-M"
    assert detail["product_name"] == "Merino Crew Sweater"


def test_by_sku_found_and_missing(catalog, key_client):
    client = reader(key_client)
    assert client.get("/api/v1/variants/by-sku/NK-S/").json()["id"] == catalog["small"].pk
    response = client.get("/api/v1/variants/by-sku/NK-XXL/")
    assert response.status_code == 404
    assert response.json()["code"] == "sku_not_found"
    assert "NK-XXL" in response.json()["message"]
    assert set(response.json()) == {"code", "message", "fields"}


@pytest.mark.parametrize("code", ["036000291452", "0036000291452", "96385074"])
def test_by_barcode_found(catalog, key_client, code):
    response = reader(key_client).get(f"/api/v1/variants/by-barcode/{code}/")
    assert response.status_code == 200
    assert response.json()["sku"] == "NK-S"


def test_by_barcode_missing_is_404(catalog, key_client):
    response = reader(key_client).get("/api/v1/variants/by-barcode/4006381333931/")
    assert response.status_code == 404
    assert response.json()["code"] == "barcode_not_found"
    assert "4006381333931" in response.json()["message"]


@pytest.mark.parametrize(("code", "reason"), [("4006381333932", "check digit"), ("4006381AB", "digits"), ("12345", "5 digits")])
def test_by_barcode_malformed_is_400(catalog, key_client, code, reason):
    response = reader(key_client).get(f"/api/v1/variants/by-barcode/{code}/")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_barcode"
    assert reason in response.json()["message"]


def test_categories_tree(catalog, key_client):
    body = reader(key_client).get("/api/v1/categories/").json()
    assert body["count"] == 2
    apparel = body["results"][0]
    assert apparel["name"] == "Apparel"
    assert [child["path"] for child in apparel["children"]] == ["Apparel > Sweaters"]


def test_brands_list(catalog, key_client):
    body = reader(key_client).get("/api/v1/brands/").json()
    assert "Northfield Knits" in [brand["name"] for brand in body["results"]]


# Writes -------------------------------------------------------------------------------------------


def test_product_create_and_update(channels, staff_client):
    TaxClassFactory(code="food", name="Food")
    client = staff_client(Role.STORE_MANAGER, LocationFactory())
    response = client.post("/api/v1/products/", {"name": "Rye Bread", "brand": "Kiln Bakery", "category": "Grocery > Bakery", "tax_class": "food"}, format="json")
    assert response.status_code == 201
    product = Product.objects.get(pk=response.json()["id"])
    assert product.category.path == "Grocery > Bakery"
    assert product.tax_class.code == "food"
    response = client.patch(f"/api/v1/products/{product.pk}/", {"name": "Dark Rye Bread", "is_active": False}, format="json")
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.name == "Dark Rye Bread"
    assert product.is_active is False


def test_product_create_rejects_unknown_tax_class(staff_client):
    response = staff_client(Role.ADMINISTRATOR).post("/api/v1/products/", {"name": "X", "tax_class": "nope"}, format="json")
    assert response.status_code == 400
    assert "tax_class" in response.json()["fields"]


def test_variant_create_update_barcode_price(catalog, staff_client):
    client = staff_client(Role.ADMINISTRATOR)
    response = client.post(f"/api/v1/products/{catalog['sweater'].pk}/variants/", {"sku": "NK-L", "option_values": {"Size": "L"}, "unit_cost": "30.1000"}, format="json")
    assert response.status_code == 201
    variant_id = response.json()["id"]
    response = client.patch(f"/api/v1/variants/{variant_id}/", {"name": "Merino Crew Sweater / L"}, format="json")
    assert response.status_code == 200
    assert Variant.objects.get(pk=variant_id).name == "Merino Crew Sweater / L"
    response = client.post(f"/api/v1/variants/{variant_id}/barcodes/", {"barcode": "4006381333931"}, format="json")
    assert response.status_code == 201
    assert response.json()["barcodes"] == [{"gtin": "4006381333931", "kind": "EAN-13"}]
    again = client.post(f"/api/v1/variants/{variant_id}/barcodes/", {"barcode": "4006381333931"}, format="json")
    assert again.status_code == 200
    response = client.put(f"/api/v1/variants/{variant_id}/prices/web/", {"amount": "92.50"}, format="json")
    assert response.status_code == 200
    assert VariantPrice.objects.get(variant_id=variant_id, channel__code="web").amount == Decimal("92.50")


def test_variant_create_taken_sku_is_409(catalog, staff_client):
    response = staff_client(Role.ADMINISTRATOR).post(f"/api/v1/products/{catalog['sweater'].pk}/variants/", {"sku": "NK-S"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "sku_taken"


def test_barcode_taken_is_409(catalog, staff_client):
    response = staff_client(Role.ADMINISTRATOR).post(f"/api/v1/variants/{catalog['medium'].pk}/barcodes/", {"barcode": "036000291452"}, format="json")
    assert response.status_code == 409
    assert "NK-S" in response.json()["message"]
    assert Barcode.objects.filter(variant=catalog["medium"]).count() == 0


@pytest.mark.parametrize(("amount", "code"), [("-1.00", "negative_amount"), ("1.999", "too_many_decimals"), ("abc", "invalid_amount")])
def test_price_set_rejects_bad_amount(catalog, staff_client, amount, code):
    response = staff_client(Role.ADMINISTRATOR).put(f"/api/v1/variants/{catalog['medium'].pk}/prices/web/", {"amount": amount}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_price_set_unknown_channel_is_400(catalog, staff_client):
    response = staff_client(Role.ADMINISTRATOR).put(f"/api/v1/variants/{catalog['medium'].pk}/prices/mars/", {"amount": "1.00"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_channel"


# Permissions: every endpoint, anonymous, a key without the scope, a staff role not allowed, allowed ----


READ_ENDPOINTS = [
    "/api/v1/products/",
    "/api/v1/products/{sweater}/",
    "/api/v1/variants/",
    "/api/v1/variants/{small}/",
    "/api/v1/variants/by-sku/NK-S/",
    "/api/v1/variants/by-barcode/036000291452/",
    "/api/v1/categories/",
    "/api/v1/brands/",
]

WRITE_ENDPOINTS = [
    ("post", "/api/v1/products/", {"name": "New product"}, 201),
    ("patch", "/api/v1/products/{sweater}/", {"description": "Warm."}, 200),
    ("post", "/api/v1/products/{sweater}/variants/", {"sku": "NK-XL"}, 201),
    ("patch", "/api/v1/variants/{small}/", {"name": "Small"}, 200),
    ("post", "/api/v1/variants/{small}/barcodes/", {"barcode": "10012345678902"}, 201),
    ("put", "/api/v1/variants/{small}/prices/web/", {"amount": "95.00"}, 200),
]


def _url(template, catalog):
    return template.format(sweater=catalog["sweater"].pk, small=catalog["small"].pk)


@pytest.mark.parametrize("template", READ_ENDPOINTS)
def test_read_anonymous_rejected(catalog, api_client, template):
    response = api_client.get(_url(template, catalog))
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("template", READ_ENDPOINTS)
def test_read_key_without_scope_rejected(catalog, key_client, template):
    response = key_client([Scope.ORDERS_READ]).get(_url(template, catalog))
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


@pytest.mark.parametrize("template", READ_ENDPOINTS)
def test_read_staff_without_role_rejected(catalog, api_client, template):
    from tests.factories import UserFactory

    api_client.force_login(UserFactory())
    response = api_client.get(_url(template, catalog))
    assert response.status_code == 403
    assert response.json()["code"] == "no_role"


@pytest.mark.parametrize("template", READ_ENDPOINTS)
@pytest.mark.parametrize("role", list(Role.values))
def test_read_every_staff_role_allowed(catalog, staff_client, template, role):
    # The catalog is the same at every location, so a cashier of any store may read all of it.
    client = staff_client(role, LocationFactory()) if role in (Role.CASHIER, Role.STORE_MANAGER, Role.FULFILLMENT_ASSOCIATE) else staff_client(role)
    assert client.get(_url(template, catalog)).status_code == 200


@pytest.mark.parametrize("template", READ_ENDPOINTS)
def test_read_key_with_scope_allowed(catalog, key_client, template):
    assert reader(key_client).get(_url(template, catalog)).status_code == 200


@pytest.mark.parametrize(("method", "template", "body", "ok"), WRITE_ENDPOINTS)
def test_write_anonymous_rejected(catalog, api_client, method, template, body, ok):
    response = getattr(api_client, method)(_url(template, catalog), body, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "template", "body", "ok"), WRITE_ENDPOINTS)
def test_write_api_key_rejected(catalog, key_client, method, template, body, ok):
    response = getattr(reader(key_client), method)(_url(template, catalog), body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


@pytest.mark.parametrize(("method", "template", "body", "ok"), WRITE_ENDPOINTS)
@pytest.mark.parametrize("role", [Role.CASHIER, Role.FULFILLMENT_ASSOCIATE, Role.FINANCE])
def test_write_other_roles_rejected(catalog, staff_client, method, template, body, ok, role):
    client = staff_client(role, LocationFactory()) if role != Role.FINANCE else staff_client(role)
    response = getattr(client, method)(_url(template, catalog), body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


@pytest.mark.parametrize(("method", "template", "body", "ok"), WRITE_ENDPOINTS)
@pytest.mark.parametrize("role", [Role.STORE_MANAGER, Role.ADMINISTRATOR])
def test_write_managers_allowed(catalog, staff_client, method, template, body, ok, role):
    # Store managers of any store may change the catalog: it is shared by every location.
    client = staff_client(role, LocationFactory()) if role == Role.STORE_MANAGER else staff_client(role)
    response = getattr(client, method)(_url(template, catalog), body, format="json")
    assert response.status_code == ok
