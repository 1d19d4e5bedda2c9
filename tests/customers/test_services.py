from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.models import AuditEntry, OutboxEvent
from customers import selectors, services
from customers.models import Address, ConsentEvent, Customer, CustomerIdentity, IdentityKind, WishList, WishListItem
from tests.factories import CustomerFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _address(**overrides):
    values = {"line1": "1 Main St", "city": "Springfield", "country": "us", "postal_code": "62701"}
    values.update(overrides)
    return values


# Creating and updating


def test_create_normalizes_identities():
    customer = services.customer_create(email=" Ada@Example.COM ", phone="(415) 555-2671", card_number="1234 5678", first_name=" Ada ")
    assert customer.email == "ada@example.com"
    assert customer.phone == "+14155552671"
    assert customer.first_name == "Ada"
    identities = set(CustomerIdentity.objects.filter(customer=customer).values_list("kind", "value", "is_primary"))
    assert identities == {("email", "ada@example.com", True), ("phone", "+14155552671", True), ("card", "12345678", True)}


def test_create_identity_taken_conflict():
    owner = services.customer_create(email="ada@example.com")
    with pytest.raises(Conflict) as error:
        services.customer_create(email="ADA@example.com", first_name="Other")
    assert error.value.code == "identity_taken"
    assert "ada@example.com" in error.value.message
    assert str(owner.pk) in error.value.message
    assert Customer.objects.count() == 1


def test_create_bad_phone_names_value():
    with pytest.raises(ValidationFailed) as error:
        services.customer_create(phone="555-CALL-NOW")
    assert error.value.code == "invalid_phone"
    assert "555-CALL-NOW" in error.value.message
    assert Customer.objects.count() == 0


def test_update_keeps_old_email_as_secondary():
    customer = services.customer_create(email="old@example.com")
    services.customer_update(customer_id=customer.pk, email="New@Example.com", last_name="Byron")
    customer.refresh_from_db()
    assert customer.email == "new@example.com"
    assert customer.last_name == "Byron"
    assert selectors.customer_find_by_identity(kind=IdentityKind.EMAIL, value="old@example.com") == customer
    primary = CustomerIdentity.objects.get(customer=customer, kind="email", is_primary=True)
    assert primary.value == "new@example.com"


def test_update_none_clears_primary_phone():
    customer = services.customer_create(phone="+14155552671")
    services.customer_update(customer_id=customer.pk, phone=None)
    customer.refresh_from_db()
    assert customer.phone is None
    assert CustomerIdentity.objects.filter(customer=customer, kind="phone", is_primary=False).count() == 1


def test_update_unknown_customer_not_found():
    with pytest.raises(NotFound) as error:
        services.customer_update(customer_id=999999, first_name="X")
    assert "999999" in error.value.message


def test_identity_remove_promotes_next():
    customer = services.customer_create(email="a@example.com")
    services.customer_identity_add(customer_id=customer.pk, kind="email", value="b@example.com")
    primary = CustomerIdentity.objects.get(customer=customer, value="a@example.com")
    services.customer_identity_remove(customer_id=customer.pk, identity_id=primary.pk)
    customer.refresh_from_db()
    assert customer.email == "b@example.com"
    assert CustomerIdentity.objects.get(customer=customer, kind="email").is_primary is True


def test_several_cards_per_customer():
    customer = services.customer_create(card_number="CARD0001")
    services.customer_identity_add(customer_id=customer.pk, kind="card", value="card-0002")
    assert selectors.customer_lookup(kind="card", value="CARD 0001") == customer
    assert selectors.customer_lookup(kind="card", value="card0002") == customer
    assert CustomerIdentity.objects.filter(customer=customer, kind="card").count() == 2


# Get or create by identity


def test_get_or_create_same_person_by_email():
    first, created_first = services.customer_get_or_create_by_identity(email="Ada@Example.com", first_name="Ada")
    second, created_second = services.customer_get_or_create_by_identity(email="  ada@example.COM")
    assert created_first is True
    assert created_second is False
    assert first.pk == second.pk
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    "kind, stored, typed",
    [
        ("phone", "+14155552671", "(415) 555-2671"),
        ("card_number", "CARD77", "card 77"),
        ("external_id", "shop-9", " shop-9 "),
    ],
)
def test_get_or_create_finds_by_each_identity(kind, stored, typed):
    existing = services.customer_create(**{kind: stored})
    found, created = services.customer_get_or_create_by_identity(**{kind: typed})
    assert created is False
    assert found.pk == existing.pk


def test_get_or_create_attaches_new_identities():
    existing = services.customer_create(phone="+14155552671")
    found, created = services.customer_get_or_create_by_identity(phone="4155552671", email="ada@example.com", first_name="Ada")
    assert created is False
    assert found.pk == existing.pk
    found.refresh_from_db()
    assert found.email == "ada@example.com"
    assert found.first_name == "Ada"


def test_get_or_create_prefers_card_over_email():
    by_email = services.customer_create(email="family@example.com")
    by_card = services.customer_create(card_number="CARD1234")
    found, created = services.customer_get_or_create_by_identity(email="family@example.com", card_number="CARD1234")
    assert created is False
    assert found.pk == by_card.pk
    assert CustomerIdentity.objects.get(kind="email", value="family@example.com").customer_id == by_email.pk


def test_get_or_create_needs_identity():
    with pytest.raises(ValidationFailed) as error:
        services.customer_get_or_create_by_identity(first_name="Nobody")
    assert error.value.code == "identity_missing"


def test_factory_customer_found_by_email():
    customer = CustomerFactory(email="factory@example.com")
    found, created = services.customer_get_or_create_by_identity(email="FACTORY@example.com")
    assert created is False
    assert found.pk == customer.pk


# Addresses


def test_first_address_becomes_default():
    customer = CustomerFactory()
    first = services.address_create(customer_id=customer.pk, values=_address())
    assert first.is_default_shipping is True
    assert first.is_default_billing is True
    assert first.country == "US"
    second = services.address_create(customer_id=customer.pk, values=_address(line1="2 Elm St", is_default_shipping=True))
    first.refresh_from_db()
    assert second.is_default_shipping is True
    assert second.is_default_billing is False
    assert first.is_default_shipping is False
    assert first.is_default_billing is True


def test_address_bad_country_rejected():
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as error:
        services.address_create(customer_id=customer.pk, values=_address(country="USA"))
    assert "'USA'" in error.value.message
    assert Address.objects.count() == 0


def test_address_missing_line1_rejected():
    customer = CustomerFactory()
    values = _address()
    del values["line1"]
    with pytest.raises(ValidationFailed) as error:
        services.address_create(customer_id=customer.pk, values=values)
    assert error.value.fields == {"line1": ["Required."]}


# Consent


def test_consent_history_and_current():
    customer = CustomerFactory()
    granted_at = timezone.now() - timedelta(days=10)
    services.consent_record(customer_id=customer.pk, channel="email", granted=True, source="register", occurred_at=granted_at)
    services.consent_record(customer_id=customer.pk, channel="email", granted=False, source="unsubscribe_link")
    services.consent_record(customer_id=customer.pk, channel="sms", granted=True, source="web")
    assert ConsentEvent.objects.filter(customer=customer).count() == 3
    current = selectors.consent_current(customer=Customer.objects.get(pk=customer.pk))
    assert current["email"].granted is False
    assert current["email"].source == "unsubscribe_link"
    assert current["sms"].granted is True
    assert selectors.customer_marketing_allowed(customer_id=customer.pk, channel="email") is False
    assert selectors.customer_marketing_allowed(customer_id=customer.pk, channel="sms") is True


def test_consent_unknown_channel_rejected():
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as error:
        services.consent_record(customer_id=customer.pk, channel="fax", granted=True, source="web")
    assert "'fax'" in error.value.message


# Wish lists


def test_wish_list_items_added_once():
    customer = CustomerFactory()
    variant = VariantFactory()
    wish_list = services.wish_list_create(customer_id=customer.pk, name=" Birthday ")
    services.wish_list_item_add(customer_id=customer.pk, wish_list_id=wish_list.pk, variant=variant)
    services.wish_list_item_add(customer_id=customer.pk, wish_list_id=wish_list.pk, variant=variant)
    assert wish_list.name == "Birthday"
    assert WishListItem.objects.filter(wish_list=wish_list).count() == 1


def test_wish_list_duplicate_name_conflict():
    customer = CustomerFactory()
    services.wish_list_create(customer_id=customer.pk, name="Birthday")
    with pytest.raises(Conflict) as error:
        services.wish_list_create(customer_id=customer.pk, name="Birthday")
    assert error.value.code == "wish_list_name_taken"


# Merging


@pytest.fixture
def two_profiles():
    kept = services.customer_create(email="ada@example.com", first_name="Ada", last_name="")
    merged = services.customer_create(phone="+14155552671", email="ada.work@example.com", card_number="CARD5555", last_name="Lovelace")
    services.address_create(customer_id=kept.pk, values=_address())
    services.address_create(customer_id=merged.pk, values=_address(line1="9 Work Rd"))
    services.consent_record(customer_id=merged.pk, channel="sms", granted=True, source="register")
    shared_variant, other_variant, own_variant = VariantFactory(), VariantFactory(), VariantFactory()
    kept_list = services.wish_list_create(customer_id=kept.pk, name="Birthday")
    services.wish_list_item_add(customer_id=kept.pk, wish_list_id=kept_list.pk, variant=shared_variant)
    merged_same_name = services.wish_list_create(customer_id=merged.pk, name="Birthday")
    services.wish_list_item_add(customer_id=merged.pk, wish_list_id=merged_same_name.pk, variant=shared_variant)
    services.wish_list_item_add(customer_id=merged.pk, wish_list_id=merged_same_name.pk, variant=other_variant)
    merged_other = services.wish_list_create(customer_id=merged.pk, name="Garden")
    services.wish_list_item_add(customer_id=merged.pk, wish_list_id=merged_other.pk, variant=own_variant)
    return kept, merged


def test_merge_moves_identities(two_profiles):
    kept, merged = two_profiles
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    kept.refresh_from_db()
    merged.refresh_from_db()
    assert kept.email == "ada@example.com"
    assert kept.phone == "+14155552671"
    assert kept.last_name == "Lovelace"
    assert CustomerIdentity.objects.filter(customer=kept).count() == 4
    assert CustomerIdentity.objects.filter(customer=merged).count() == 0
    assert CustomerIdentity.objects.get(value="ada.work@example.com").is_primary is False
    assert selectors.customer_lookup(kind="card", value="CARD5555") == kept
    assert selectors.customer_lookup(kind="phone", value="415 555 2671") == kept


def test_merge_marks_profile_and_keeps_row(two_profiles):
    kept, merged = two_profiles
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    merged.refresh_from_db()
    assert merged.merged_into_id == kept.pk
    assert merged.merged_at is not None
    assert merged.email is None
    assert merged.phone is None
    assert selectors.customer_get(customer_id=merged.pk, follow_merges=True) == kept


def test_merge_moves_addresses_and_consents(two_profiles):
    kept, merged = two_profiles
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    assert Address.objects.filter(customer=kept).count() == 2
    assert Address.objects.filter(customer=kept, is_default_shipping=True).count() == 1
    assert Address.objects.get(customer=kept, is_default_shipping=True).line1 == "1 Main St"
    assert ConsentEvent.objects.filter(customer=kept, channel="sms", granted=True).count() == 1
    assert ConsentEvent.objects.filter(customer=merged).count() == 0


def test_merge_combines_wish_lists(two_profiles):
    kept, merged = two_profiles
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    lists = {wish_list.name: wish_list.items.count() for wish_list in WishList.objects.filter(customer=kept)}
    assert lists == {"Birthday": 2, "Garden": 1}
    assert WishList.objects.filter(customer=merged).count() == 0


def test_merge_writes_audit_and_event(two_profiles):
    kept, merged = two_profiles
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk, reason="Same person at the counter")
    audit = AuditEntry.objects.get(action="customer.merged")
    assert audit.object_id == str(kept.pk)
    assert audit.data["merged_customer_id"] == merged.pk
    assert audit.data["addresses"] == 1
    assert "card:CARD5555" in audit.data["identities"]
    assert audit.data["reason"] == "Same person at the counter"
    event = OutboxEvent.objects.get(topic=services.CUSTOMER_MERGED_TOPIC)
    assert event.payload == {"kept_customer_id": kept.pk, "merged_customer_id": merged.pk}


def test_merge_twice_conflict(two_profiles):
    kept, merged = two_profiles
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    with pytest.raises(Conflict) as error:
        services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    assert error.value.code == "customer_merged"
    assert AuditEntry.objects.filter(action="customer.merged").count() == 1


def test_merge_into_itself_rejected():
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as error:
        services.customer_merge(kept_customer_id=customer.pk, merged_customer_id=customer.pk)
    assert error.value.code == "merge_same_customer"


def test_merge_chain_points_to_last_kept():
    first, second, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    services.customer_merge(kept_customer_id=second.pk, merged_customer_id=first.pk)
    services.customer_merge(kept_customer_id=third.pk, merged_customer_id=second.pk)
    first.refresh_from_db()
    assert first.merged_into_id == third.pk
    assert selectors.customer_get(customer_id=first.pk, follow_merges=True) == third


def test_merged_profile_cannot_be_changed(two_profiles):
    kept, merged = two_profiles
    services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    with pytest.raises(Conflict) as error:
        services.customer_update(customer_id=merged.pk, first_name="Late")
    assert error.value.code == "customer_merged"
    assert str(kept.pk) in error.value.message


# Search


def test_search_matches_normalized_phone():
    customer = services.customer_create(phone="+14155552671", first_name="Grace", last_name="Hopper")
    services.customer_create(email="other@example.com")
    assert list(selectors.customer_list(search="(415) 555-2671")) == [customer]
    assert list(selectors.customer_list(search="hopp")) == [customer]
    assert list(selectors.customer_list(search="Grace Hopper")) == [customer]
