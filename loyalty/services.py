"""Writes to the points ledger: earning on orders, reversal on refunds, redemption as a tender, expiry, merging.

Every change of points is one `PointsEntry` row written in the same transaction as a conditional
UPDATE of `LoyaltyAccount.balance`, so the balance stays the sum of the entries and never goes below
zero. Each write locks the account row (`select_for_update`) before reading the ledger, which
serialises concurrent earnings, refunds and redemptions of one account.

Redemption is a tender, not a discount: points are spent at the payment step, once the order total
and its tax are known, like a gift card. Pricing and promotions stay untouched, a refund of the order
gives the points back through the same tender, and the outstanding points read as a liability the
way stored value does.
"""

import calendar
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from catalog.models import Category
from commerce.audit import audit_record
from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.money import parse_amount, quantize
from customers.models import Customer

from .models import EntryKind, LoyaltyAccount, LoyaltySpend, PointsEntry, Program, Tier

logger = logging.getLogger(__name__)

TIER_WINDOW_MONTHS = 12
REFERENCE_MAX_LENGTH = 100


# Helpers -------------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Move `moment` by whole calendar months, clamping the day to the end of a shorter month."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _reference(value, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{field} {value!r} is blank: send the reference of the order or refund.", code="invalid_reference", fields={field: ["Required."]})
    value = value.strip()
    if len(value) > REFERENCE_MAX_LENGTH:
        raise ValidationFailed(
            f"{field} is {len(value)} characters long: use at most {REFERENCE_MAX_LENGTH}.",
            code="invalid_reference",
            fields={field: [f"At most {REFERENCE_MAX_LENGTH} characters."]},
        )
    return value


def _points(value, *, field: str = "points") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationFailed(f"{field} {value!r} is not a whole number of points above zero.", code="invalid_points", fields={field: ["A whole number above zero."]})
    return value


def _moment(value, *, field: str) -> datetime:
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise ValidationFailed(f"{field} {value!r} is not a date and time with a time zone.", code="invalid_time", fields={field: ["A time-zone-aware datetime."]})
    return value


def program_active() -> Program | None:
    return Program.objects.filter(is_active=True).first()


def _customer_kept(customer_id: int) -> Customer:
    """Return the customer, or the profile it was merged into."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist: check the id.", code="customer_not_found", fields={"customer_id": ["Not found."]})
    if customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def _account_open_locked(*, program: Program, customer: Customer) -> LoyaltyAccount:
    """Lock the customer's account in `program`, opening it first when it does not exist yet."""
    account = LoyaltyAccount.objects.select_for_update().filter(program=program, customer=customer).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            LoyaltyAccount.objects.create(program=program, customer=customer)
    except IntegrityError:
        pass  # opened by a concurrent transaction: lock that one
    return LoyaltyAccount.objects.select_for_update().get(program=program, customer=customer)


def _balance_add(account: LoyaltyAccount, points: int) -> None:
    LoyaltyAccount.objects.filter(pk=account.pk).update(balance=F("balance") + points, updated_at=timezone.now())
    account.balance += points


def _balance_take(account: LoyaltyAccount, points: int) -> bool:
    """Take `points` off the balance unless that would leave it below zero; return whether it did."""
    updated = LoyaltyAccount.objects.filter(pk=account.pk, balance__gte=points).update(
        balance=F("balance") - points, updated_at=timezone.now()
    )
    if updated:
        account.balance -= points
    return bool(updated)


def rolling_spend(*, account: LoyaltyAccount, as_of: datetime, include_as_of: bool = True) -> Decimal:
    """Return what the customer spent in the 12 months up to `as_of`, net of refunds."""
    window = LoyaltySpend.objects.filter(account=account, spent_at__gt=add_months(as_of, -TIER_WINDOW_MONTHS))
    window = window.filter(spent_at__lte=as_of) if include_as_of else window.filter(spent_at__lt=as_of)
    return window.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def tier_for_spend(*, program: Program, spend: Decimal) -> Tier | None:
    return Tier.objects.filter(program=program, min_spend__lte=spend).order_by("-min_spend").first()


def _tier_refresh(account: LoyaltyAccount) -> None:
    tier = tier_for_spend(program=account.program, spend=rolling_spend(account=account, as_of=timezone.now()))
    if account.tier_id != (tier.pk if tier else None):
        account.tier = tier
        account.save(update_fields=["tier", "updated_at"])


def _excluded_paths(program: Program) -> list[str]:
    return list(program.excluded_categories.values_list("path", flat=True))


def _is_excluded(path: str | None, excluded_paths: list[str]) -> bool:
    """True when the category at `path` is an excluded category or lies below one."""
    if path is None:
        return False
    return any(path == excluded or path.startswith(excluded + " > ") for excluded in excluded_paths)


# Earning -------------------------------------------------------------------------------------------


def _lines_parse(lines, *, currency: str) -> list[tuple[int | None, Decimal]]:
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ValidationFailed("lines is empty: send one (category_id, amount paid) pair per order line.", code="invalid_lines", fields={"lines": ["Required."]})
    parsed = []
    for index, line in enumerate(lines):
        if not isinstance(line, (list, tuple)) or len(line) != 2:
            raise ValidationFailed(
                f"Line {index} {line!r} is not a (category_id, amount paid) pair.", code="invalid_lines", fields={f"lines.{index}": ["A pair."]}
            )
        category_id, amount = line
        if category_id is not None and (isinstance(category_id, bool) or not isinstance(category_id, int)):
            raise ValidationFailed(
                f"Line {index} category {category_id!r} is not a category id.", code="invalid_lines", fields={f"lines.{index}": ["Category id or null."]}
            )
        parsed.append((category_id, parse_amount(amount, field=f"lines.{index}.amount", currency=currency)))
    return parsed


@transaction.atomic
def points_earn_for_order(*, customer_id: int, order_reference: str, lines, placed_at: datetime) -> PointsEntry | None:
    """Award points for a completed order, once per order however often it is called.

    `lines` contains one (category_id, amount paid after discounts and before tax) pair per order line.
    Points are floor(eligible amount x points_per_unit x tier multiplier). The eligible amount leaves out
    lines in excluded categories. The tier comes from the 12 months of spend before `placed_at`, so the
    order that crosses a threshold still earns at the old rate. Every line counts toward spend. Returns the earning entry, or None when no program is active or the order
    earns nothing. Locks the customer's account.
    """
    order_reference = _reference(order_reference, field="order_reference")
    placed_at = _moment(placed_at, field="placed_at")
    program = program_active()
    if program is None:
        logger.info("No active loyalty program: order %s earns no points", order_reference)
        return None
    parsed = _lines_parse(lines, currency=program.currency)
    customer = _customer_kept(customer_id)
    account = _account_open_locked(program=program, customer=customer)

    if LoyaltySpend.objects.filter(account=account, source_reference=order_reference).exists():
        return PointsEntry.objects.filter(account=account, kind=EntryKind.EARN, source_reference=order_reference).first()

    category_ids = {category_id for category_id, _ in parsed if category_id is not None}
    paths = dict(Category.objects.filter(pk__in=category_ids).values_list("id", "path"))
    excluded = _excluded_paths(program)
    paid = sum((amount for _, amount in parsed), Decimal("0.00"))
    eligible = sum((amount for category_id, amount in parsed if not _is_excluded(paths.get(category_id), excluded)), Decimal("0.00"))

    tier = tier_for_spend(program=program, spend=rolling_spend(account=account, as_of=placed_at, include_as_of=False))
    multiplier = tier.multiplier if tier else Decimal("1")
    points = int((eligible * program.points_per_unit * multiplier).to_integral_value(rounding=ROUND_DOWN))

    LoyaltySpend.objects.create(
        account=account, source_reference=order_reference, order_reference=order_reference, amount=paid, spent_at=placed_at
    )
    entry = None
    if points > 0:
        expires_at = add_months(placed_at, program.expiry_months) if program.expiry_months else None
        entry = PointsEntry.objects.create(
            account=account,
            kind=EntryKind.EARN,
            points=points,
            source_reference=order_reference,
            order_reference=order_reference,
            amount=paid,
            occurred_at=placed_at,
            expires_at=expires_at,
        )
        _balance_add(account, points)
    _tier_refresh(account)
    logger.info("Order %s earned %d points for customer %s (tier %s)", order_reference, points, customer.pk, tier or "base")
    return entry


# Reversal on refunds -------------------------------------------------------------------------------


@transaction.atomic
def points_reverse_for_refund(
    *, customer_id: int, order_reference: str, refund_reference: str, refunded_amount, refunded_at: datetime | None = None
) -> PointsEntry | None:
    """Take back the points an order earned in proportion to what a refund gives back, once per refund.

    After all refunds of an order so far, floor(points earned x refunded total / paid) points are
    reversed in total, so several partial refunds never reverse more than the order earned. Raises
    `ValidationFailed` when the refunds would exceed what was paid. Returns the reversal entry, or None
    when the order earned nothing or this refund has nothing left to reverse. Locks the account.
    """
    order_reference = _reference(order_reference, field="order_reference")
    refund_reference = _reference(refund_reference, field="refund_reference")
    refunded_at = _moment(refunded_at, field="refunded_at") if refunded_at is not None else timezone.now()
    customer = _customer_kept(customer_id)
    spend = (
        LoyaltySpend.objects.filter(account__customer=customer, source_reference=order_reference).select_related("account").first()
    )
    if spend is None:
        logger.info("Order %s earned no points for customer %s: nothing to reverse for refund %s", order_reference, customer.pk, refund_reference)
        return None
    account = LoyaltyAccount.objects.select_for_update().get(pk=spend.account_id)
    spend_reference = f"refund:{refund_reference}"
    if LoyaltySpend.objects.filter(account=account, source_reference=spend_reference).exists():
        return PointsEntry.objects.filter(account=account, kind=EntryKind.REVERSE, source_reference=refund_reference).first()

    refunded_amount = parse_amount(refunded_amount, field="refunded_amount", currency=account.program.currency, allow_zero=False)
    refunded_before = -(
        LoyaltySpend.objects.filter(account=account, order_reference=order_reference, amount__lt=0).aggregate(total=Sum("amount"))["total"]
        or Decimal("0.00")
    )
    paid = spend.amount
    if refunded_before + refunded_amount > paid:
        raise ValidationFailed(
            f"refunded_amount {refunded_amount} is more than the {paid - refunded_before} left to refund on order "
            f"{order_reference} ({paid} paid, {refunded_before} refunded before).",
            code="refund_exceeds_paid",
            fields={"refunded_amount": [f"At most {paid - refunded_before}."]},
        )
    LoyaltySpend.objects.create(
        account=account, source_reference=spend_reference, order_reference=order_reference, amount=-refunded_amount, spent_at=refunded_at
    )

    earned = PointsEntry.objects.filter(account=account, kind=EntryKind.EARN, source_reference=order_reference).values_list("points", flat=True).first() or 0
    reversed_before = -(
        PointsEntry.objects.filter(account=account, kind=EntryKind.REVERSE, order_reference=order_reference).aggregate(total=Sum("points"))["total"] or 0
    )
    target = min(earned, int((Decimal(earned) * (refunded_before + refunded_amount) / paid).to_integral_value(rounding=ROUND_DOWN)))
    due = target - reversed_before
    taken = min(due, account.balance)
    if taken < due:
        # NOTE: the customer already spent these points; the shortfall is not carried as a debt.
        logger.warning(
            "Refund %s of order %s should reverse %d points but account %s has only %d; reversing %d",
            refund_reference, order_reference, due, account.pk, account.balance, taken,
        )
    entry = None
    if taken > 0:
        if not _balance_take(account, taken):
            raise Conflict(f"Loyalty account {account.pk} changed during the refund: retry.", code="balance_changed")
        entry = PointsEntry.objects.create(
            account=account,
            kind=EntryKind.REVERSE,
            points=-taken,
            source_reference=refund_reference,
            order_reference=order_reference,
            amount=refunded_amount,
            occurred_at=refunded_at,
        )
    _tier_refresh(account)
    return entry


# Redemption ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedeemPreview:
    points: int
    amount: Decimal
    currency: str
    balance: int
    balance_after: int


def _insufficient_points(account: LoyaltyAccount, points: int) -> ValidationFailed:
    return ValidationFailed(
        f"Cannot redeem {points} points: loyalty account {account.pk} has a balance of {account.balance} points. "
        f"Redeem at most {account.balance}.",
        code="insufficient_points",
        fields={"points": [f"At most {account.balance}."]},
    )


def points_redeem_preview(*, account: LoyaltyAccount, points) -> RedeemPreview:
    """Compute what redeeming `points` would pay and leave. Raises `ValidationFailed` beyond the balance and writes nothing."""
    points = _points(points)
    if points > account.balance:
        raise _insufficient_points(account, points)
    program = account.program
    return RedeemPreview(
        points=points,
        amount=quantize(points * program.point_value, program.currency),
        currency=program.currency,
        balance=account.balance,
        balance_after=account.balance - points,
    )


@transaction.atomic
def points_redeem(*, account_id: int, points, order_reference: str) -> PointsEntry:
    """Spend points as a tender of an order; `entry.amount` is what they pay. Once per order reference.

    A repeat with the same points returns the first entry; with other points it raises `Conflict`.
    Raises `ValidationFailed` naming the balance when the account has fewer points. The caller
    checks that the amount does not exceed what is due on the order. Locks the account.
    """
    points = _points(points)
    order_reference = _reference(order_reference, field="order_reference")
    account = LoyaltyAccount.objects.select_for_update().select_related("program").filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"Loyalty account {account_id} does not exist: check the id.", code="loyalty_account_not_found")
    existing = PointsEntry.objects.filter(account=account, kind=EntryKind.REDEEM, source_reference=order_reference).first()
    if existing is not None:
        if -existing.points != points:
            raise Conflict(
                f"Order {order_reference} already redeemed {-existing.points} points from account {account.pk}: "
                f"cancel that redemption before redeeming {points}.",
                code="redemption_exists",
            )
        return existing
    if not _balance_take(account, points):
        account.refresh_from_db(fields=["balance"])
        raise _insufficient_points(account, points)
    program = account.program
    return PointsEntry.objects.create(
        account=account,
        kind=EntryKind.REDEEM,
        points=-points,
        source_reference=order_reference,
        order_reference=order_reference,
        amount=quantize(points * program.point_value, program.currency),
        occurred_at=timezone.now(),
    )


@transaction.atomic
def points_redeem_cancel(*, account_id: int, order_reference: str) -> PointsEntry | None:
    """Give back the points an order redeemed (the order was cancelled or the tender refunded); once per order.

    Returns None when the order redeemed nothing. Locks the account.
    """
    order_reference = _reference(order_reference, field="order_reference")
    account = LoyaltyAccount.objects.select_for_update().select_related("program").filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"Loyalty account {account_id} does not exist: check the id.", code="loyalty_account_not_found")
    redemption = PointsEntry.objects.filter(account=account, kind=EntryKind.REDEEM, source_reference=order_reference).first()
    if redemption is None:
        return None
    existing = PointsEntry.objects.filter(account=account, kind=EntryKind.REDEEM_CANCEL, source_reference=order_reference).first()
    if existing is not None:
        return existing
    now = timezone.now()
    program = account.program
    # NOTE: the points come back as a new lot with a full expiry period, not with the expiry of the lots they came from.
    entry = PointsEntry.objects.create(
        account=account,
        kind=EntryKind.REDEEM_CANCEL,
        points=-redemption.points,
        source_reference=order_reference,
        order_reference=order_reference,
        amount=redemption.amount,
        occurred_at=now,
        expires_at=add_months(now, program.expiry_months) if program.expiry_months else None,
    )
    _balance_add(account, entry.points)
    return entry


# Expiry --------------------------------------------------------------------------------------------


def lots_remaining(account: LoyaltyAccount) -> list[tuple[PointsEntry, int]]:
    """Return each positive entry with the points still unspent in it, the soonest-expiring first.

    Every negative entry (redemption, reversal, expiry) is taken from the lots in expiry order. With
    one expiry period for all earnings, that order is first in, first out.
    """
    entries = list(PointsEntry.objects.filter(account=account).order_by("occurred_at", "id"))
    lots = sorted((entry for entry in entries if entry.points > 0), key=lambda entry: (entry.expires_at is None, entry.expires_at or entry.occurred_at, entry.occurred_at, entry.id))
    spent = -sum(entry.points for entry in entries if entry.points < 0)
    remaining = []
    for lot in lots:
        used = min(lot.points, spent)
        spent -= used
        remaining.append((lot, lot.points - used))
    return remaining


def points_expire(*, as_of: datetime) -> int:
    """Write an expiry entry for what is left of every lot whose expiry is at or before `as_of`.

    Each account is handled in its own transaction with its row locked. Running it again for the same
    `as_of` writes nothing more, because expired points count as spent and the entry for each lot is
    unique. Returns the number of points expired.
    """
    as_of = _moment(as_of, field="as_of")
    account_ids = list(
        LoyaltyAccount.objects.filter(balance__gt=0, entries__points__gt=0, entries__expires_at__lte=as_of)
        .values_list("id", flat=True)
        .distinct()
        .order_by("id")
    )
    total = 0
    for account_id in account_ids:
        total += _account_expire(account_id=account_id, as_of=as_of)
    if total:
        logger.info("Expired %d points in %d accounts as of %s", total, len(account_ids), as_of.isoformat())
    return total


@transaction.atomic
def _account_expire(*, account_id: int, as_of: datetime) -> int:
    account = LoyaltyAccount.objects.select_for_update().get(pk=account_id)
    expired = 0
    for lot, remaining in lots_remaining(account):
        if remaining <= 0 or lot.expires_at is None or lot.expires_at > as_of:
            continue
        if not _balance_take(account, remaining):
            logger.error("Expiry failed: account %s has fewer points than lot %s leaves unspent; check the ledger", account.pk, lot.pk)
            break
        PointsEntry.objects.create(
            account=account,
            kind=EntryKind.EXPIRE,
            points=-remaining,
            source_reference=f"lot:{lot.pk}",
            order_reference=lot.order_reference,
            occurred_at=lot.expires_at,
        )
        expired += remaining
    if expired:
        _tier_refresh(account)
    return expired


# Adjustments and merging ---------------------------------------------------------------------------


@transaction.atomic
def points_adjust(*, account_id: int, points: int, reference: str, actor=None, reason: str = "") -> PointsEntry:
    """Add (positive) or remove (negative) points by hand, with an audit row; never below a zero balance."""
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise ValidationFailed(f"points {points!r} is not a whole number other than zero.", code="invalid_points", fields={"points": ["Non-zero integer."]})
    reference = _reference(reference, field="reference")
    account = LoyaltyAccount.objects.select_for_update().select_related("program").get(pk=account_id)
    if points < 0 and not _balance_take(account, -points):
        raise _insufficient_points(account, -points)
    if points > 0:
        _balance_add(account, points)
    now = timezone.now()
    program = account.program
    entry = PointsEntry.objects.create(
        account=account,
        kind=EntryKind.ADJUST,
        points=points,
        source_reference=reference,
        occurred_at=now,
        expires_at=add_months(now, program.expiry_months) if points > 0 and program.expiry_months else None,
    )
    audit_record(actor=actor, action="loyalty.points.adjusted", obj=account, data={"points": points, "reference": reference, "reason": reason[:500]})
    return entry


@transaction.atomic
def loyalty_accounts_merge(*, kept_customer_id: int, merged_customer_id: int) -> int:
    """Move the merged customer's loyalty accounts, entries and spend to the kept customer; safe to run twice.

    Where the kept customer has no account in a program, the merged account changes owner. Otherwise
    its entries and spend rows move over and its balance is added to the kept account, so refunds of
    orders placed under either profile find their earnings. Locks the accounts in primary-key order.
    Returns the number of points moved.
    """
    accounts = list(
        LoyaltyAccount.objects.select_for_update().filter(customer_id__in=[kept_customer_id, merged_customer_id]).order_by("pk")
    )
    kept_by_program = {account.program_id: account for account in accounts if account.customer_id == kept_customer_id}
    moved = 0
    for account in accounts:
        if account.customer_id != merged_customer_id:
            continue
        target = kept_by_program.get(account.program_id)
        if target is None:
            account.customer_id = kept_customer_id
            account.save(update_fields=["customer", "updated_at"])
            kept_by_program[account.program_id] = account
            moved += account.balance
            audit_record(action="loyalty.account.merged", obj=account, data={"from_customer_id": merged_customer_id, "points": account.balance})
            continue
        points = account.balance
        entries = PointsEntry.objects.filter(account=account).update(account=target)
        spends = LoyaltySpend.objects.filter(account=account).update(account=target)
        if points:
            if not _balance_take(account, points):
                raise Conflict(f"Loyalty account {account.pk} changed during the merge: retry.", code="balance_changed")
            _balance_add(target, points)
        moved += points
        audit_record(
            action="loyalty.account.merged",
            obj=target,
            data={"from_account_id": account.pk, "from_customer_id": merged_customer_id, "points": points, "entries": entries, "spends": spends},
        )
    for target in kept_by_program.values():
        _tier_refresh(target)
    if moved:
        logger.info("Moved %d loyalty points from customer %s to customer %s", moved, merged_customer_id, kept_customer_id)
    return moved
