from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from commerce.errors import Conflict, NotFound, ValidationFailed
from loyalty import services
from loyalty.models import EntryKind, LoyaltyAccount, LoyaltySpend, PointsEntry
from tests.factories import CategoryFactory, CustomerFactory

from .factories import ProgramFactory, TierFactory, at

pytestmark = pytest.mark.django_db


def _earn(customer, reference, amount, placed_at=None, category=None):
    return services.points_earn_for_order(
        customer_id=customer.pk,
        order_reference=reference,
        lines=[(category.pk if category else None, Decimal(amount))],
        placed_at=placed_at or timezone.now(),
    )


def _account(customer):
    return LoyaltyAccount.objects.get(customer=customer)


def _ledger_sum(account):
    return PointsEntry.objects.filter(account=account).aggregate(total=Sum("points"))["total"] or 0


# Earning


def test_earn_on_paid_amount():
    ProgramFactory()
    customer = CustomerFactory()
    entry = services.points_earn_for_order(
        customer_id=customer.pk,
        order_reference="WEB-1",
        lines=[(None, Decimal("19.99")), (None, "5.50")],
        placed_at=at(2026, 3, 1),
    )
    account = _account(customer)
    assert entry.points == 25
    assert entry.amount == Decimal("25.49")
    assert entry.expires_at == at(2027, 3, 1)
    assert account.balance == 25
    assert _ledger_sum(account) == 25


def test_earn_skips_excluded_category_subtree():
    program = ProgramFactory()
    tobacco = CategoryFactory(name="Tobacco", path="Tobacco")
    cigars = CategoryFactory(name="Cigars", path="Tobacco > Cigars", parent=tobacco)
    tobacco_like = CategoryFactory(name="Tobacco Pipes Cleaner", path="Tobacco Pipes Cleaner")
    program.excluded_categories.add(tobacco)
    customer = CustomerFactory()
    entry = services.points_earn_for_order(
        customer_id=customer.pk,
        order_reference="POS-7",
        lines=[(tobacco.pk, "40.00"), (cigars.pk, "30.00"), (tobacco_like.pk, "10.00"), (None, "5.00")],
        placed_at=timezone.now(),
    )
    assert entry.points == 15
    assert LoyaltySpend.objects.get(order_reference="POS-7").amount == Decimal("85.00")


def test_earn_same_order_twice_once():
    ProgramFactory()
    customer = CustomerFactory()
    first = _earn(customer, "POS-1", "120.00")
    second = _earn(customer, "POS-1", "120.00")
    account = _account(customer)
    assert first.pk == second.pk
    assert account.balance == 120
    assert PointsEntry.objects.filter(account=account).count() == 1
    assert LoyaltySpend.objects.filter(account=account).count() == 1


def test_earn_rounds_down():
    ProgramFactory(points_per_unit=Decimal("1.5"))
    customer = CustomerFactory()
    assert _earn(customer, "WEB-2", "9.99").points == 14


def test_earn_unknown_customer_404():
    ProgramFactory()
    with pytest.raises(NotFound) as error:
        services.points_earn_for_order(customer_id=424242, order_reference="X-1", lines=[(None, "1.00")], placed_at=timezone.now())
    assert "424242" in error.value.message


def test_earn_bad_amount_names_value():
    ProgramFactory()
    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as error:
        _earn(customer, "WEB-3", "12.345")
    assert "12.345" in error.value.message
    assert LoyaltySpend.objects.count() == 0


def test_earn_without_program_is_none():
    customer = CustomerFactory()
    assert _earn(customer, "WEB-4", "10.00") is None
    assert LoyaltyAccount.objects.count() == 0


def test_earn_for_merged_customer_goes_to_kept():
    from customers.services import customer_merge

    ProgramFactory()
    kept, merged = CustomerFactory(), CustomerFactory()
    customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk)
    _earn(merged, "POS-9", "10.00")
    assert _account(kept).balance == 10
    assert not LoyaltyAccount.objects.filter(customer=merged).exists()


# Tiers


def test_tier_multiplier_after_threshold():
    program = ProgramFactory()
    TierFactory(program=program, name="Base", min_spend=Decimal("0.00"), multiplier=Decimal("1.00"))
    silver = TierFactory(program=program, name="Silver", min_spend=Decimal("500.00"), multiplier=Decimal("2.00"))
    customer = CustomerFactory()
    now = timezone.now()
    first = _earn(customer, "O-1", "400.00", now - timedelta(days=30))
    crossing = _earn(customer, "O-2", "200.00", now - timedelta(days=20))
    after = _earn(customer, "O-3", "100.00", now - timedelta(days=10))
    assert first.points == 400
    assert crossing.points == 200
    assert after.points == 200
    account = _account(customer)
    assert account.balance == 800
    assert account.tier == silver


def test_tier_ignores_spend_older_than_year():
    program = ProgramFactory()
    TierFactory(program=program, name="Silver", min_spend=Decimal("500.00"), multiplier=Decimal("2.00"))
    customer = CustomerFactory()
    _earn(customer, "OLD-1", "1000.00", at(2025, 1, 10))
    assert _earn(customer, "NEW-1", "100.00", at(2026, 2, 10)).points == 100
    assert _earn(customer, "NEW-2", "100.00", at(2025, 12, 10)).points == 200


def test_refund_lowers_tier_spend():
    program = ProgramFactory()
    TierFactory(program=program, name="Silver", min_spend=Decimal("500.00"), multiplier=Decimal("2.00"))
    customer = CustomerFactory()
    now = timezone.now()
    _earn(customer, "O-1", "600.00", now - timedelta(days=5))
    services.points_reverse_for_refund(
        customer_id=customer.pk, order_reference="O-1", refund_reference="R-1", refunded_amount="200.00", refunded_at=now - timedelta(days=4)
    )
    assert _earn(customer, "O-2", "50.00", now - timedelta(days=1)).points == 50
    assert _account(customer).tier is None


# Reversal on refunds


@pytest.fixture
def earned_100_on_250():
    ProgramFactory(points_per_unit=Decimal("0.4"))
    customer = CustomerFactory()
    entry = _earn(customer, "WEB-100", "250.00")
    assert entry.points == 100
    return customer


def test_partial_refund_reverses_share(earned_100_on_250):
    customer = earned_100_on_250
    entry = services.points_reverse_for_refund(customer_id=customer.pk, order_reference="WEB-100", refund_reference="RF-1", refunded_amount="75.00")
    assert entry.points == -30
    assert entry.kind == EntryKind.REVERSE
    assert _account(customer).balance == 70


def test_refunds_never_reverse_more_than_earned(earned_100_on_250):
    customer = earned_100_on_250
    reversed_points = []
    for reference, amount in (("RF-1", "75.00"), ("RF-2", "100.00"), ("RF-3", "75.00")):
        entry = services.points_reverse_for_refund(customer_id=customer.pk, order_reference="WEB-100", refund_reference=reference, refunded_amount=amount)
        reversed_points.append(entry.points)
    assert reversed_points == [-30, -40, -30]
    account = _account(customer)
    assert account.balance == 0
    with pytest.raises(ValidationFailed) as error:
        services.points_reverse_for_refund(customer_id=customer.pk, order_reference="WEB-100", refund_reference="RF-4", refunded_amount="0.01")
    assert error.value.code == "refund_exceeds_paid"
    assert "0.01" in error.value.message


def test_refund_thirds_round_down_then_catch_up():
    ProgramFactory()
    customer = CustomerFactory()
    _earn(customer, "O-30", "10.00")
    _earn(customer, "O-OTHER", "50.00")
    reversed_points = [
        services.points_reverse_for_refund(customer_id=customer.pk, order_reference="O-30", refund_reference=f"R-{n}", refunded_amount="3.33").points
        for n in range(3)
    ]
    assert reversed_points == [-3, -3, -3]
    last = services.points_reverse_for_refund(customer_id=customer.pk, order_reference="O-30", refund_reference="R-last", refunded_amount="0.01")
    assert last.points == -1
    assert _account(customer).balance == 50


def test_same_refund_twice_reverses_once(earned_100_on_250):
    customer = earned_100_on_250
    for _ in range(2):
        services.points_reverse_for_refund(customer_id=customer.pk, order_reference="WEB-100", refund_reference="RF-1", refunded_amount="75.00")
    account = _account(customer)
    assert account.balance == 70
    assert PointsEntry.objects.filter(account=account, kind=EntryKind.REVERSE).count() == 1


def test_refund_after_spending_stops_at_zero(earned_100_on_250):
    customer = earned_100_on_250
    account = _account(customer)
    services.points_redeem(account_id=account.pk, points=90, order_reference="WEB-200")
    entry = services.points_reverse_for_refund(customer_id=customer.pk, order_reference="WEB-100", refund_reference="RF-1", refunded_amount="250.00")
    account.refresh_from_db()
    assert entry.points == -10
    assert account.balance == 0
    assert _ledger_sum(account) == 0


def test_refund_of_order_without_points_is_none():
    ProgramFactory()
    customer = CustomerFactory()
    assert services.points_reverse_for_refund(customer_id=customer.pk, order_reference="NOPE", refund_reference="R", refunded_amount="1.00") is None


# Redemption


@pytest.fixture
def account_500():
    ProgramFactory()
    customer = CustomerFactory()
    _earn(customer, "SEED", "500.00")
    return _account(customer)


def test_redeem_pays_at_point_value(account_500):
    entry = services.points_redeem(account_id=account_500.pk, points=200, order_reference="WEB-9")
    account_500.refresh_from_db()
    assert entry.points == -200
    assert entry.amount == Decimal("2.00")
    assert account_500.balance == 300
    assert _ledger_sum(account_500) == 300


def test_redeem_same_order_once(account_500):
    first = services.points_redeem(account_id=account_500.pk, points=200, order_reference="WEB-9")
    again = services.points_redeem(account_id=account_500.pk, points=200, order_reference="WEB-9")
    account_500.refresh_from_db()
    assert first.pk == again.pk
    assert account_500.balance == 300
    with pytest.raises(Conflict) as error:
        services.points_redeem(account_id=account_500.pk, points=100, order_reference="WEB-9")
    assert error.value.code == "redemption_exists"


def test_redeem_beyond_balance_names_balance(account_500):
    with pytest.raises(ValidationFailed) as error:
        services.points_redeem(account_id=account_500.pk, points=501, order_reference="WEB-9")
    assert error.value.code == "insufficient_points"
    assert "balance of 500 points" in error.value.message
    account_500.refresh_from_db()
    assert account_500.balance == 500


@pytest.mark.parametrize("points", [0, -5, "10", 2.5, True])
def test_redeem_bad_points_rejected(account_500, points):
    with pytest.raises(ValidationFailed) as error:
        services.points_redeem(account_id=account_500.pk, points=points, order_reference="WEB-9")
    assert error.value.code == "invalid_points"


def test_redeem_cancel_gives_points_back(account_500):
    services.points_redeem(account_id=account_500.pk, points=200, order_reference="WEB-9")
    services.points_redeem_cancel(account_id=account_500.pk, order_reference="WEB-9")
    services.points_redeem_cancel(account_id=account_500.pk, order_reference="WEB-9")
    account_500.refresh_from_db()
    assert account_500.balance == 500
    assert PointsEntry.objects.filter(account=account_500, kind=EntryKind.REDEEM_CANCEL).count() == 1


def test_redeem_preview(account_500):
    preview = services.points_redeem_preview(account=account_500, points=250)
    assert preview.amount == Decimal("2.50")
    assert preview.balance_after == 250
    with pytest.raises(ValidationFailed):
        services.points_redeem_preview(account=account_500, points=600)


# Expiry


@pytest.fixture
def three_lots():
    ProgramFactory(expiry_months=12)
    customer = CustomerFactory()
    _earn(customer, "A", "100.00", at(2025, 1, 1))
    _earn(customer, "B", "50.00", at(2025, 3, 1))
    _earn(customer, "C", "30.00", at(2026, 1, 15))
    account = _account(customer)
    services.points_redeem(account_id=account.pk, points=80, order_reference="SPEND")
    return account


def test_expiry_takes_oldest_lot_first(three_lots):
    expired = services.points_expire(as_of=at(2026, 2, 1))
    three_lots.refresh_from_db()
    assert expired == 20
    assert three_lots.balance == 80
    entry = PointsEntry.objects.get(account=three_lots, kind=EntryKind.EXPIRE)
    assert entry.points == -20
    assert entry.order_reference == "A"
    assert entry.occurred_at == at(2026, 1, 1)


def test_expiry_twice_expires_once(three_lots):
    services.points_expire(as_of=at(2026, 2, 1))
    assert services.points_expire(as_of=at(2026, 2, 1)) == 0
    three_lots.refresh_from_db()
    assert three_lots.balance == 80
    assert PointsEntry.objects.filter(account=three_lots, kind=EntryKind.EXPIRE).count() == 1


def test_expiry_later_lots_in_turn(three_lots):
    assert services.points_expire(as_of=at(2026, 3, 2)) == 70
    assert services.points_expire(as_of=at(2026, 3, 2)) == 0
    assert services.points_expire(as_of=at(2027, 1, 16)) == 30
    three_lots.refresh_from_db()
    assert three_lots.balance == 0
    expiries = list(PointsEntry.objects.filter(account=three_lots, kind=EntryKind.EXPIRE).order_by("occurred_at").values_list("order_reference", "points"))
    assert expiries == [("A", -20), ("B", -50), ("C", -30)]
    assert _ledger_sum(three_lots) == 0


def test_expiry_never_without_period():
    ProgramFactory(expiry_months=None)
    customer = CustomerFactory()
    _earn(customer, "A", "100.00", at(2020, 1, 1))
    assert services.points_expire(as_of=at(2030, 1, 1)) == 0
    assert _account(customer).balance == 100


def test_expiry_task_runs_service():
    from loyalty.tasks import loyalty_points_expire

    ProgramFactory(expiry_months=12)
    customer = CustomerFactory()
    now = timezone.now()
    _earn(customer, "OLD", "40.00", now - timedelta(days=400))
    _earn(customer, "NEW", "10.00", now - timedelta(days=10))
    assert loyalty_points_expire.apply().get() == 40
    assert loyalty_points_expire.apply().get() == 0
    assert _account(customer).balance == 10


def test_add_months_clamps_day():
    assert services.add_months(at(2025, 1, 31), 1) == at(2025, 2, 28)
    assert services.add_months(at(2024, 2, 29), 12) == at(2025, 2, 28)
    assert services.add_months(at(2026, 3, 15), -12) == at(2025, 3, 15)


def test_adjust_writes_audit():
    from commerce.models import AuditEntry

    ProgramFactory()
    customer = CustomerFactory()
    _earn(customer, "A", "10.00")
    account = _account(customer)
    services.points_adjust(account_id=account.pk, points=-4, reference="ADJ-1", reason="typo at the register")
    account.refresh_from_db()
    assert account.balance == 6
    assert AuditEntry.objects.get(action="loyalty.points.adjusted").data["points"] == -4
    with pytest.raises(ValidationFailed):
        services.points_adjust(account_id=account.pk, points=-7, reference="ADJ-2")
