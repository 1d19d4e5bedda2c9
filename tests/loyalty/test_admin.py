from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from loyalty import services
from loyalty.models import LoyaltyAccount
from tests.factories import CustomerFactory

from .factories import ProgramFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-battery"))
    return client


def test_program_page_lists_tiers(admin_browser):
    program = ProgramFactory()
    TierFactory(program=program, name="Silver", min_spend=Decimal("500.00"))
    response = admin_browser.get(f"/admin/loyalty/program/{program.pk}/change/")
    assert response.status_code == 200
    assert "Silver" in response.content.decode()


def test_account_ledger_read_only(admin_browser):
    ProgramFactory()
    customer = CustomerFactory()
    services.points_earn_for_order(customer_id=customer.pk, order_reference="POS-ADMIN-1", lines=[(None, "12.00")], placed_at=timezone.now())
    account = LoyaltyAccount.objects.get(customer=customer)
    response = admin_browser.get(f"/admin/loyalty/loyaltyaccount/{account.pk}/change/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "POS-ADMIN-1" in content
    assert 'name="entries-0-points"' not in content
    assert admin_browser.get("/admin/loyalty/loyaltyaccount/add/").status_code == 403


def test_account_search_by_email(admin_browser):
    ProgramFactory()
    customer = CustomerFactory(email="points@example.com")
    services.points_earn_for_order(customer_id=customer.pk, order_reference="POS-ADMIN-2", lines=[(None, "5.00")], placed_at=timezone.now())
    response = admin_browser.get("/admin/loyalty/loyaltyaccount/", {"q": "points@example.com"})
    assert [account.customer_id for account in response.context["cl"].result_list] == [customer.pk]
