import pytest
from django.contrib.auth import get_user_model

from commerce.models import AuditEntry
from customers import services
from customers.models import ConsentEvent, Customer, CustomerIdentity

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-battery")
    client.force_login(user)
    client.user = user
    return client


def _management(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _change_form(customer, **extra):
    data = {"first_name": customer.first_name, "last_name": customer.last_name}
    data.update(_management("identities"))
    data.update(_management("addresses"))
    data.update(_management("consent_events"))
    data.update(_management("wish_lists"))
    data.update(extra)
    return data


@pytest.mark.parametrize("term", ["CARD0077", "ada@example.com", "+14155552671", "Lovelace"])
def test_search_by_each_identity(admin_browser, term):
    customer = services.customer_create(email="ada@example.com", phone="+14155552671", card_number="CARD0077", last_name="Lovelace")
    services.customer_create(email="grace@example.com", last_name="Hopper")
    response = admin_browser.get("/admin/customers/customer/", {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [customer]


def test_change_page_shows_inlines(admin_browser):
    customer = services.customer_create(email="ada@example.com", card_number="CARD0077")
    services.wish_list_create(customer_id=customer.pk, name="Kitchen")
    response = admin_browser.get(f"/admin/customers/customer/{customer.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "CARD0077" in content
    assert "Kitchen" in content
    assert "consent_events-TOTAL_FORMS" in content


def test_identity_inline_normalizes_and_mirrors(admin_browser):
    customer = services.customer_create(first_name="Ada")
    data = _change_form(customer)
    data.update(_management("identities", total=1))
    data.update({"identities-0-kind": "phone", "identities-0-value": "(415) 555-2671", "identities-0-is_primary": "on", "identities-0-customer": str(customer.pk)})
    response = admin_browser.post(f"/admin/customers/customer/{customer.pk}/change/", data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.phone == "+14155552671"
    assert CustomerIdentity.objects.get(customer=customer).value == "+14155552671"


def test_identity_inline_rejects_bad_email(admin_browser):
    customer = services.customer_create(first_name="Ada")
    data = _change_form(customer)
    data.update(_management("identities", total=1))
    data.update({"identities-0-kind": "email", "identities-0-value": "not-an-email", "identities-0-customer": str(customer.pk)})
    response = admin_browser.post(f"/admin/customers/customer/{customer.pk}/change/", data)
    assert response.status_code == 200
    assert "not-an-email" in response.content.decode()
    assert CustomerIdentity.objects.count() == 0


def test_consent_inline_records_staff(admin_browser):
    customer = services.customer_create(first_name="Ada")
    data = _change_form(customer)
    data.update(_management("consent_events", total=1))
    data.update({
        "consent_events-0-channel": "sms", "consent_events-0-granted": "on", "consent_events-0-source": "admin",
        "consent_events-0-occurred_at_0": "2026-01-02", "consent_events-0-occurred_at_1": "10:00:00",
        "consent_events-0-customer": str(customer.pk),
    })
    response = admin_browser.post(f"/admin/customers/customer/{customer.pk}/change/", data)
    assert response.status_code == 302
    event = ConsentEvent.objects.get(customer=customer)
    assert event.recorded_by == admin_browser.user
    assert event.granted is True


def test_merge_action_keeps_oldest(admin_browser):
    oldest = services.customer_create(email="ada@example.com")
    newer = services.customer_create(phone="+14155552671")
    response = admin_browser.post(
        "/admin/customers/customer/", {"action": "merge_into_oldest", "_selected_action": [str(oldest.pk), str(newer.pk)]}
    )
    assert response.status_code == 302
    newer.refresh_from_db()
    assert newer.merged_into_id == oldest.pk
    assert AuditEntry.objects.get(action="customer.merged").actor == admin_browser.user
    assert Customer.objects.get(pk=oldest.pk).phone == "+14155552671"
