"""Loyalty: programs, tiers, and the points ledger of each customer.

Points are whole numbers. An account's `balance` is the sum of its `PointsEntry` rows, is updated in
the same transaction as each row, and never goes below zero (a check constraint and conditional
UPDATEs hold this).
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q


class Program(models.Model):
    """A set of rules for earning and redeeming points. At most one program is active at a time.

    Points are earned on what the customer paid for each line after discounts and before tax, except
    lines in an excluded category or in a category below it. Points are redeemed as a tender of the order.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    currency = models.CharField(max_length=3, default="USD")
    points_per_unit = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("1"), help_text="Points earned per whole currency unit paid, before the tier multiplier."
    )
    point_value = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("0.01"), help_text="What one point pays when redeemed, in the program currency."
    )
    expiry_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Points expire this many months after they are earned; empty means never."
    )
    excluded_categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", help_text="Lines in these categories or any category below them earn no points."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="loyalty_one_active_program"),
            models.CheckConstraint(condition=Q(points_per_unit__gte=0), name="loyalty_points_per_unit_not_negative"),
            models.CheckConstraint(condition=Q(point_value__gt=0), name="loyalty_point_value_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Tier(models.Model):
    """A level reached by spending at least `min_spend` over the rolling 12 months; it multiplies points earned."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=50)
    min_spend = models.DecimalField(max_digits=14, decimal_places=2, help_text="Spend over the last 12 months needed to reach this tier.")
    multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1.00"))

    class Meta:
        ordering = ["program", "min_spend"]
        constraints = [
            models.UniqueConstraint(fields=["program", "min_spend"], name="loyalty_tier_unique_threshold"),
            models.UniqueConstraint(fields=["program", "name"], name="loyalty_tier_unique_name"),
            models.CheckConstraint(condition=Q(min_spend__gte=0), name="loyalty_tier_min_spend_not_negative"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="loyalty_tier_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (from {self.min_spend}, x{self.multiplier})"


class LoyaltyAccount(models.Model):
    """A customer's points in one program."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="accounts")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="loyalty_accounts")
    balance = models.IntegerField(default=0, help_text="The sum of the account's entries, kept in step with them.")
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "customer"], name="loyalty_account_unique_per_customer"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_account_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} in {self.program}: {self.balance} points"


class EntryKind(models.TextChoices):
    EARN = "earn", "Earned on an order"
    REVERSE = "reverse", "Reversed on a refund"
    REDEEM = "redeem", "Redeemed as a tender"
    REDEEM_CANCEL = "redeem_cancel", "Redemption given back"
    EXPIRE = "expire", "Expired"
    ADJUST = "adjust", "Adjusted by staff"


class PointsEntry(models.Model):
    """One change of an account's points: positive for earning, negative for spending.

    `source_reference` makes each change happen once: an order reference for earning and redeeming,
    a refund reference for reversals, the expired entry for expiries.
    """

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    points = models.IntegerField()
    source_reference = models.CharField(max_length=100)
    order_reference = models.CharField(max_length=100, blank=True, db_index=True)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Money behind the entry: paid on the order when earning, refunded when reversing, tendered when redeeming.",
    )
    occurred_at = models.DateTimeField(help_text="When the sale, refund or expiry happened.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="For positive entries: when what is left of them expires.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "points entries"
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "source_reference"], name="loyalty_entry_unique_source"),
            models.CheckConstraint(condition=~Q(points=0), name="loyalty_entry_points_not_zero"),
        ]
        indexes = [models.Index(fields=["account", "occurred_at"], name="loyalty_entry_account_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d} ({self.source_reference})"


class LoyaltySpend(models.Model):
    """A customer's spend on one order (positive) or money back on a refund (negative), for tiers."""

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="spends")
    source_reference = models.CharField(max_length=100, help_text="The order reference, or the refund reference for a refund.")
    order_reference = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    spent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "source_reference"], name="loyalty_spend_unique_source")]
        indexes = [models.Index(fields=["account", "spent_at"], name="loyalty_spend_account_time_idx")]
