"""Reads of loyalty accounts and their ledgers."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from commerce.errors import NotFound
from commerce.money import quantize
from customers.models import Customer

from .models import LoyaltyAccount, PointsEntry, Tier
from .services import program_active, rolling_spend, tier_for_spend


@dataclass(frozen=True)
class AccountSummary:
    account: LoyaltyAccount
    tier: Tier | None
    next_tier: Tier | None
    rolling_spend: Decimal
    balance_value: Decimal


def account_for_customer(*, customer_id: int) -> LoyaltyAccount:
    """Return the customer's account in the active program, following a merge. Raises `NotFound` when there is none."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist: check the id.", code="customer_not_found")
    if customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    program = program_active()
    if program is None:
        raise NotFound("No loyalty program is active: an administrator sets one up in the admin.", code="loyalty_program_not_found")
    account = LoyaltyAccount.objects.select_related("program").filter(program=program, customer=customer).first()
    if account is None:
        raise NotFound(
            f"Customer {customer.pk} has no loyalty account yet: it opens with the first order that earns points.",
            code="loyalty_account_not_found",
        )
    return account


def account_summary(*, account: LoyaltyAccount) -> AccountSummary:
    """Return the balance with its money value, and the tier from the spend of the last 12 months up to now."""
    program = account.program
    spend = rolling_spend(account=account, as_of=timezone.now())
    tier = tier_for_spend(program=program, spend=spend)
    next_tier = Tier.objects.filter(program=program, min_spend__gt=spend).order_by("min_spend").first()
    return AccountSummary(
        account=account,
        tier=tier,
        next_tier=next_tier,
        rolling_spend=spend,
        balance_value=quantize(account.balance * program.point_value, program.currency),
    )


def account_entries(*, account: LoyaltyAccount) -> QuerySet[PointsEntry]:
    """Return the ledger, newest first."""
    return PointsEntry.objects.filter(account=account).order_by("-occurred_at", "-id")
