from decimal import Decimal

import pytest

from commerce.api_keys import api_key_create
from commerce.errors import ValidationFailed
from commerce.models import ApiKey
from commerce.money import parse_amount, quantize


def test_quantize_rounds_half_up_to_cent():
    assert quantize(Decimal("907.152"), "USD") == Decimal("907.15")
    assert quantize(Decimal("0.125"), "USD") == Decimal("0.13")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("3")


def test_parse_amount_rejects_three_decimals():
    with pytest.raises(ValidationFailed) as error:
        parse_amount("1.999", field="price", currency="USD")
    assert error.value.code == "too_many_decimals"
    assert "1.999" in error.value.message


def test_parse_amount_rejects_text():
    with pytest.raises(ValidationFailed) as error:
        parse_amount("abc", field="price", currency="USD")
    assert error.value.code == "invalid_amount"


@pytest.mark.django_db
def test_api_key_stores_only_hash():
    api_key, secret = api_key_create(name="storefront", scopes=["catalog:read"])
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert secret.startswith(f"tdm_{stored.prefix}_")
    assert secret not in (stored.secret_hash, stored.prefix)
    assert stored.scopes == ["catalog:read"]


@pytest.mark.django_db
def test_api_key_rejects_unknown_scope():
    with pytest.raises(ValidationFailed) as error:
        api_key_create(name="bad", scopes=["everything"])
    assert error.value.code == "unknown_scope"
    assert ApiKey.objects.count() == 0


@pytest.mark.django_db
def test_malformed_api_key_gets_401(api_client):
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION="Api-Key nonsense")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_whoami_reports_key_scopes(key_client):
    client = key_client(["catalog:read"])
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["scopes"] == ["catalog:read"]


@pytest.mark.django_db
def test_whoami_needs_scope(key_client):
    response = key_client(["orders:read"]).get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


@pytest.mark.django_db
def test_whoami_anonymous_gets_401(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_whoami_cashier_sees_own_locations(staff_client):
    from tests.factories import LocationFactory

    store = LocationFactory()
    response = staff_client("cashier", store).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["role"] == "cashier"
    assert response.json()["location_ids"] == [store.pk]


def test_parse_amount_rejects_huge_exponent():
    with pytest.raises(ValidationFailed) as error:
        parse_amount("1e308", field="price", currency="USD")
    assert error.value.code == "amount_too_large"


@pytest.mark.django_db
def test_nul_in_body_gets_400(key_client):
    client = key_client(["carts:write"])
    response = client.post("/api/v1/pricing/quote/", data='{"name": "a\\u0000b"}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_character"
    assert response.json()["fields"] == {"name": ["Contains a NUL character."]}


@pytest.mark.django_db
def test_nul_in_url_gets_400(key_client):
    response = key_client(["catalog:read"]).get("/api/v1/variants/by-sku/A%00B/")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_character"


@pytest.mark.django_db
def test_nul_in_query_gets_400(key_client):
    response = key_client(["catalog:read"]).get("/api/v1/products/?q=a%00b")
    assert response.status_code == 400


@pytest.mark.django_db
def test_validation_message_reads_cleanly(key_client):
    response = key_client(["carts:write"]).post("/api/v1/pricing/quote/", data={"lines": "x"}, format="json")
    assert response.status_code == 400
    assert ".." not in response.json()["message"]


@pytest.mark.django_db
def test_staff_only_endpoint_message_for_api_key(key_client):
    response = key_client(["orders:write"]).post("/api/v1/register-sales/", data={}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 403
    assert response.json()["message"].startswith("API keys cannot call POST /api/v1/register-sales/")
