import pytest

from commerce.models import AuditEntry, Scope
from customers import services
from customers.models import ConsentEvent, Customer, CustomerIdentity, WishListItem
from tests.factories import CustomerFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cashier(staff_client):
    return staff_client("cashier")


def test_lookup_by_phone_normalizes_input(cashier):
    customer = services.customer_create(phone="+14155552671", first_name="Ada")
    response = cashier.get("/api/v1/customers/lookup/", {"phone": "(415) 555-2671"})
    assert response.status_code == 200
    assert response.json()["id"] == customer.pk
    assert response.json()["phone"] == "+14155552671"


def test_lookup_by_email_and_card(cashier):
    customer = services.customer_create(email="ada@example.com", card_number="CARD0042")
    by_email = cashier.get("/api/v1/customers/lookup/", {"email": " ADA@example.com "})
    by_card = cashier.get("/api/v1/customers/lookup/", {"card_number": "card-0042"})
    assert by_email.json()["id"] == customer.pk
    assert by_card.json()["id"] == customer.pk
    kinds = sorted(identity["kind"] for identity in by_card.json()["identities"])
    assert kinds == ["card", "email"]


def test_lookup_by_external_id(cashier):
    customer = services.customer_create(external_id="shop-17")
    response = cashier.get("/api/v1/customers/lookup/", {"external_id": "shop-17"})
    assert response.json()["id"] == customer.pk


def test_lookup_not_found_body(cashier):
    response = cashier.get("/api/v1/customers/lookup/", {"phone": "415.555.2671"})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "customer_not_found"
    assert "+14155552671" in body["message"]
    assert set(body) == {"code", "message", "fields"}


def test_lookup_malformed_phone_400(cashier):
    response = cashier.get("/api/v1/customers/lookup/", {"phone": "call me"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"
    assert "'call me'" in response.json()["message"]


def test_lookup_needs_exactly_one(cashier):
    response = cashier.get("/api/v1/customers/lookup/", {"phone": "4155552671", "email": "a@example.com"})
    assert response.status_code == 400
    assert response.json()["code"] == "lookup_needs_one_identity"
    assert cashier.get("/api/v1/customers/lookup/").status_code == 400


def test_create_and_detail(cashier):
    response = cashier.post(
        "/api/v1/customers/",
        {"email": "Grace@Example.com", "phone": "202 555 0143", "first_name": "Grace", "card_number": "9999 0000"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "grace@example.com"
    assert body["phone"] == "+12025550143"
    assert body["consents"] == {"email": None, "sms": None}
    assert len(body["identities"]) == 3
    assert Customer.objects.count() == 1


def test_create_malformed_email_400(cashier):
    response = cashier.post("/api/v1/customers/", {"email": "grace@"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_email"
    assert "'grace@'" in response.json()["message"]
    assert response.json()["fields"] == {"email": ["'grace@' is not a valid e-mail address."]}


def test_create_taken_email_409(cashier):
    existing = services.customer_create(email="grace@example.com")
    response = cashier.post("/api/v1/customers/", {"email": "GRACE@example.com"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "identity_taken"
    assert str(existing.pk) in response.json()["message"]


def test_update_names_and_email(cashier):
    customer = services.customer_create(email="old@example.com")
    response = cashier.patch(f"/api/v1/customers/{customer.pk}/", {"first_name": "Ada", "email": "new@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Ada"
    assert response.json()["email"] == "new@example.com"
    assert CustomerIdentity.objects.filter(customer=customer, kind="email").count() == 2


def test_unknown_customer_404(cashier):
    response = cashier.get("/api/v1/customers/987654/")
    assert response.status_code == 404
    assert "987654" in response.json()["message"]
    response = cashier.patch("/api/v1/customers/987654/", {"first_name": "X"}, format="json")
    assert response.status_code == 404


def test_search_list(staff_client):
    services.customer_create(email="grace@example.com", first_name="Grace", last_name="Hopper")
    services.customer_create(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    response = staff_client("finance").get("/api/v1/customers/", {"q": "hopper"})
    assert response.status_code == 200
    assert [row["email"] for row in response.json()["results"]] == ["grace@example.com"]
    assert response.json()["count"] == 1


def test_search_too_short_400(cashier):
    response = cashier.get("/api/v1/customers/", {"q": "a"})
    assert response.status_code == 400
    assert response.json()["code"] == "search_too_short"


def test_list_hides_merged(staff_client):
    kept, merged = CustomerFactory(), CustomerFactory()
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    client = staff_client("store_manager")
    ids = [row["id"] for row in client.get("/api/v1/customers/").json()["results"]]
    assert ids == [kept.pk]
    with_merged = client.get("/api/v1/customers/", {"include_merged": "true"}).json()["results"]
    assert sorted(row["id"] for row in with_merged) == sorted([kept.pk, merged.pk])


def test_addresses_and_consents(cashier):
    customer = CustomerFactory()
    address = cashier.post(
        f"/api/v1/customers/{customer.pk}/addresses/",
        {"line1": "1 Main St", "city": "Springfield", "country": "us", "phone": "(217) 555-0100"},
        format="json",
    )
    assert address.status_code == 201
    assert address.json()["country"] == "US"
    assert address.json()["phone"] == "+12175550100"
    assert address.json()["is_default_shipping"] is True
    consent = cashier.post(
        f"/api/v1/customers/{customer.pk}/consents/", {"channel": "email", "granted": True, "source": "register"}, format="json"
    )
    assert consent.status_code == 201
    assert consent.json()["recorded_by"] == cashier.user.username
    detail = cashier.get(f"/api/v1/customers/{customer.pk}/").json()
    assert detail["consents"]["email"]["granted"] is True
    assert detail["consents"]["sms"] is None
    assert len(detail["addresses"]) == 1


def test_consent_withdrawal_kept_as_history(cashier):
    customer = CustomerFactory()
    url = f"/api/v1/customers/{customer.pk}/consents/"
    cashier.post(url, {"channel": "sms", "granted": True, "source": "register"}, format="json")
    cashier.post(url, {"channel": "sms", "granted": False, "source": "web"}, format="json")
    history = cashier.get(url).json()
    assert [event["granted"] for event in history] == [True, False]
    assert ConsentEvent.objects.filter(customer=customer).count() == 2
    assert cashier.get(f"/api/v1/customers/{customer.pk}/").json()["consents"]["sms"]["granted"] is False


def test_consent_bad_channel_400(cashier):
    customer = CustomerFactory()
    response = cashier.post(f"/api/v1/customers/{customer.pk}/consents/", {"channel": "pigeon", "granted": True, "source": "web"}, format="json")
    assert response.status_code == 400
    assert "'pigeon'" in response.json()["message"]


def test_wish_list_flow(key_client):
    client = key_client([Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE])
    customer = CustomerFactory()
    variant = VariantFactory(sku="MUG-RED")
    created = client.post(f"/api/v1/customers/{customer.pk}/wish-lists/", {"name": "Kitchen"}, format="json")
    assert created.status_code == 201
    list_id = created.json()["id"]
    item = client.post(f"/api/v1/customers/{customer.pk}/wish-lists/{list_id}/items/", {"sku": "MUG-RED"}, format="json")
    assert item.status_code == 201
    assert item.json()["variant_id"] == variant.pk
    detail = client.get(f"/api/v1/customers/{customer.pk}/wish-lists/{list_id}/").json()
    assert [row["sku"] for row in detail["items"]] == ["MUG-RED"]
    renamed = client.patch(f"/api/v1/customers/{customer.pk}/wish-lists/{list_id}/", {"name": "Kitchen 2"}, format="json")
    assert renamed.json()["name"] == "Kitchen 2"
    removed = client.delete(f"/api/v1/customers/{customer.pk}/wish-lists/{list_id}/items/{item.json()['id']}/")
    assert removed.status_code == 204
    assert WishListItem.objects.count() == 0


def test_wish_list_unknown_sku_404(cashier):
    customer = CustomerFactory()
    wish_list = services.wish_list_create(customer_id=customer.pk, name="Kitchen")
    response = cashier.post(f"/api/v1/customers/{customer.pk}/wish-lists/{wish_list.pk}/items/", {"sku": "NOPE-1"}, format="json")
    assert response.status_code == 404
    assert "'NOPE-1'" in response.json()["message"]


def test_wish_list_of_other_customer_404(cashier):
    owner, other = CustomerFactory(), CustomerFactory()
    wish_list = services.wish_list_create(customer_id=owner.pk, name="Kitchen")
    response = cashier.get(f"/api/v1/customers/{other.pk}/wish-lists/{wish_list.pk}/")
    assert response.status_code == 404


def test_merge_endpoint(staff_client):
    kept = services.customer_create(email="ada@example.com")
    merged = services.customer_create(phone="+14155552671")
    manager = staff_client("store_manager")
    response = manager.post(f"/api/v1/customers/{kept.pk}/merge/", {"merged_customer_id": merged.pk, "reason": "duplicate"}, format="json")
    assert response.status_code == 200
    assert response.json()["phone"] == "+14155552671"
    merged.refresh_from_db()
    assert merged.merged_into_id == kept.pk
    audit = AuditEntry.objects.get(action="customer.merged")
    assert audit.actor_id == manager.user.pk
    merged_detail = manager.get(f"/api/v1/customers/{merged.pk}/").json()
    assert merged_detail["merged_into_id"] == kept.pk


def test_merge_unknown_customer_404(staff_client):
    kept = CustomerFactory()
    response = staff_client("administrator").post(f"/api/v1/customers/{kept.pk}/merge/", {"merged_customer_id": 424242}, format="json")
    assert response.status_code == 404
    assert "424242" in response.json()["message"]


def test_merge_bad_id_400(staff_client):
    kept = CustomerFactory()
    response = staff_client("administrator").post(f"/api/v1/customers/{kept.pk}/merge/", {"merged_customer_id": "abc"}, format="json")
    assert response.status_code == 400
    assert "merged_customer_id" in response.json()["fields"]
