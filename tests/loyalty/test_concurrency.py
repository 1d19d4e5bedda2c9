"""Concurrent redemptions and earnings against PostgreSQL with real threads."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from commerce.errors import ValidationFailed
from loyalty import services
from loyalty.models import EntryKind, LoyaltyAccount, PointsEntry
from tests.factories import CustomerFactory
from tests.threads import run_in_threads

from .factories import ProgramFactory


def _account_with(points):
    ProgramFactory()
    customer = CustomerFactory()
    services.points_earn_for_order(customer_id=customer.pk, order_reference="SEED", lines=[(None, Decimal(points))], placed_at=timezone.now())
    return LoyaltyAccount.objects.get(customer=customer)


@pytest.mark.django_db(transaction=True)
def test_two_redemptions_never_below_zero():
    account = _account_with("100.00")
    results = run_in_threads(2, lambda index: services.points_redeem(account_id=account.pk, points=60, order_reference=f"ORDER-{index}"))
    failures = [result for result in results if isinstance(result, Exception)]
    assert len(failures) == 1
    assert isinstance(failures[0], ValidationFailed)
    assert failures[0].code == "insufficient_points"
    assert "balance of 40 points" in failures[0].message
    account.refresh_from_db()
    assert account.balance == 40
    assert PointsEntry.objects.filter(account=account, kind=EntryKind.REDEEM).count() == 1
    assert PointsEntry.objects.filter(account=account).aggregate(total=Sum("points"))["total"] == 40


@pytest.mark.django_db(transaction=True)
def test_many_redemptions_sum_to_balance():
    account = _account_with("100.00")
    results = run_in_threads(8, lambda index: services.points_redeem(account_id=account.pk, points=30, order_reference=f"ORDER-{index}"))
    successes = [result for result in results if not isinstance(result, Exception)]
    assert len(successes) == 3
    account.refresh_from_db()
    assert account.balance == 10
    assert PointsEntry.objects.filter(account=account).aggregate(total=Sum("points"))["total"] == 10


@pytest.mark.django_db(transaction=True)
def test_same_sale_synced_concurrently_earns_once():
    ProgramFactory()
    customer = CustomerFactory()
    results = run_in_threads(
        4,
        lambda index: services.points_earn_for_order(
            customer_id=customer.pk, order_reference="POS-OFFLINE-1", lines=[(None, Decimal("42.00"))], placed_at=timezone.now()
        ),
    )
    assert not [result for result in results if isinstance(result, Exception)]
    account = LoyaltyAccount.objects.get(customer=customer)
    assert account.balance == 42
    assert PointsEntry.objects.filter(account=account, kind=EntryKind.EARN).count() == 1
