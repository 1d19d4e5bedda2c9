"""Merging two customer profiles moves loyalty points through the customer.merged outbox event."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from commerce.models import AuditEntry, OutboxEvent
from commerce.outbox import outbox_deliver_event
from customers.services import CUSTOMER_MERGED_TOPIC, customer_merge
from loyalty import services
from loyalty.models import EntryKind, LoyaltyAccount, LoyaltySpend, PointsEntry
from tests.factories import CustomerFactory

from .factories import ProgramFactory, TierFactory

pytestmark = pytest.mark.django_db


def _earn(customer, reference, amount):
    return services.points_earn_for_order(
        customer_id=customer.pk, order_reference=reference, lines=[(None, Decimal(amount))], placed_at=timezone.now()
    )


def _merge_and_deliver(kept, merged):
    customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    event = OutboxEvent.objects.get(topic=CUSTOMER_MERGED_TOPIC, payload__merged_customer_id=merged.pk)
    assert outbox_deliver_event(event_id=event.pk) is True
    return event


def test_merge_moves_points_to_kept_account():
    ProgramFactory()
    kept, merged = CustomerFactory(), CustomerFactory()
    _earn(kept, "K-1", "100.00")
    _earn(merged, "M-1", "250.00")
    _merge_and_deliver(kept, merged)
    kept_account = LoyaltyAccount.objects.get(customer=kept)
    merged_account = LoyaltyAccount.objects.get(customer=merged)
    assert kept_account.balance == 350
    assert merged_account.balance == 0
    assert PointsEntry.objects.filter(account=kept_account).aggregate(total=Sum("points"))["total"] == 350
    assert PointsEntry.objects.filter(account=merged_account).count() == 0
    assert LoyaltySpend.objects.filter(account=kept_account).count() == 2
    audit = AuditEntry.objects.get(action="loyalty.account.merged")
    assert audit.data["points"] == 250
    assert audit.data["from_customer_id"] == merged.pk


def test_merge_reassigns_account_when_kept_has_none():
    ProgramFactory()
    kept, merged = CustomerFactory(), CustomerFactory()
    _earn(merged, "M-1", "80.00")
    account_id = LoyaltyAccount.objects.get(customer=merged).pk
    _merge_and_deliver(kept, merged)
    account = LoyaltyAccount.objects.get(pk=account_id)
    assert account.customer_id == kept.pk
    assert account.balance == 80


def test_refund_after_merge_reverses_on_kept():
    ProgramFactory()
    kept, merged = CustomerFactory(), CustomerFactory()
    _earn(kept, "K-1", "100.00")
    _earn(merged, "M-1", "200.00")
    _merge_and_deliver(kept, merged)
    entry = services.points_reverse_for_refund(customer_id=merged.pk, order_reference="M-1", refund_reference="R-1", refunded_amount="50.00")
    assert entry.points == -50
    assert entry.kind == EntryKind.REVERSE
    assert LoyaltyAccount.objects.get(customer=kept).balance == 250


def test_merge_event_delivered_once():
    ProgramFactory()
    kept, merged = CustomerFactory(), CustomerFactory()
    _earn(kept, "K-1", "10.00")
    _earn(merged, "M-1", "20.00")
    event = _merge_and_deliver(kept, merged)
    assert outbox_deliver_event(event_id=event.pk) is False
    assert services.loyalty_accounts_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk) == 0
    assert LoyaltyAccount.objects.get(customer=kept).balance == 30


def test_merge_refreshes_tier():
    program = ProgramFactory()
    gold = TierFactory(program=program, name="Gold", min_spend=Decimal("300.00"), multiplier=Decimal("3.00"))
    kept, merged = CustomerFactory(), CustomerFactory()
    _earn(kept, "K-1", "200.00")
    _earn(merged, "M-1", "200.00")
    _merge_and_deliver(kept, merged)
    assert LoyaltyAccount.objects.get(customer=kept).tier == gold
    assert _earn(kept, "K-2", "10.00").points == 30
