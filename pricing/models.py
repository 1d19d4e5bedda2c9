"""Price lists, tax regions and rates, promotions and coupons.

Base prices live in catalog.VariantPrice. Everything here is read by pricing.selectors and applied by
the pure engine in pricing.engine; every write goes through pricing.services.
"""

from django.db import models
from django.db.models import F, Q

# The largest unit price or discount value the pricing tables accept.
MAX_PRICE_TEXT = "999999999.99"


class CustomerGroup(models.Model):
    """A named set of customers that price lists can target, e.g. "Loyalty card members"."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    members = models.ManyToManyField("customers.Customer", blank=True, related_name="pricing_groups")

    def __str__(self) -> str:
        return self.name


class PriceList(models.Model):
    """Prices that override the base price on one channel for a store, a customer group and/or a period.

    The winning price for a variant is decided by pricing.engine.select_unit_price: the most specific list
    wins (store and group, then group, then store, then a list with neither), then the higher priority,
    then the lower price.
    """

    name = models.CharField(max_length=200)
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Only at this store. Empty: every store and the online shop of the channel.",
    )
    customer_group = models.ForeignKey(
        CustomerGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="price_lists",
        help_text="Only for members of this group. Empty: every customer.",
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Exclusive: the list stops applying at this instant.")
    priority = models.IntegerField(default=0, help_text="Among lists of the same specificity, the higher priority wins.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_id", "-priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="price_list_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    """The price of one variant on a price list, in the currency of the list's channel."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["price_list", "variant"], name="price_list_item_unique_variant"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_list_item_not_negative"),
        ]
        indexes = [models.Index(fields=["variant", "price_list"], name="price_list_item_variant_idx")]


class TaxRounding(models.TextChoices):
    """The point at which tax is rounded half-up to the minor unit: every line and rate, or once per rate on the document."""

    PER_LINE = "per_line", "Per line"
    PER_DOCUMENT = "per_document", "Per document"


class TaxRegion(models.Model):
    """A tax jurisdiction: a country, or one state or province of it (an empty `state` covers the whole country)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. US.")
    state = models.CharField(max_length=100, blank=True, help_text="State or province code as written in addresses, e.g. TX.")
    rounding = models.CharField(max_length=16, choices=TaxRounding.choices, default=TaxRounding.PER_LINE)

    class Meta:
        ordering = ["country", "state"]
        constraints = [models.UniqueConstraint(fields=["country", "state"], name="tax_region_unique_country_state")]

    def __str__(self) -> str:
        return self.name


class TaxRate(models.Model):
    """A rate in percent on one tax class in one region, effective from a date to an optional end date."""

    region = models.ForeignKey(TaxRegion, on_delete=models.CASCADE, related_name="rates")
    tax_class = models.ForeignKey("catalog.TaxClass", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100, help_text='Shown on the receipt, e.g. "State sales tax".')
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent, e.g. 8.2500.")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Last day the rate applies. Empty: open-ended.")

    class Meta:
        ordering = ["region_id", "tax_class_id", "effective_from", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100), name="tax_rate_percent_range"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="tax_rate_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.rate}%"


class LocationTaxRegion(models.Model):
    """The tax region a store's register sales and pickups are taxed in."""

    location = models.OneToOneField("inventory.Location", on_delete=models.CASCADE, related_name="tax_region_link")
    region = models.ForeignKey(TaxRegion, on_delete=models.PROTECT, related_name="locations")

    def __str__(self) -> str:
        return f"{self.location_id} -> {self.region}"


class TaxExemption(models.Model):
    """A customer's tax exemption certificate; with a region it applies only there."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="tax_exemptions")
    reference = models.CharField(max_length=100, help_text="The certificate or exemption number.")
    region = models.ForeignKey(TaxRegion, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reference=""), name="tax_exemption_reference_required"),
        ]

    def __str__(self) -> str:
        return self.reference


class PromotionKind(models.TextChoices):
    PERCENTAGE = "percentage", "Percentage off"
    FIXED_AMOUNT = "fixed_amount", "Fixed amount off"
    BUY_X_GET_Y = "buy_x_get_y", "Buy X get Y"


class PromotionScope(models.TextChoices):
    """The part of a basket a promotion discounts. `order` promotions apply after every item-level one."""

    ITEMS = "items", "Chosen variants"
    CATEGORIES = "categories", "Categories and their subcategories"
    ORDER = "order", "Whole order"


class Promotion(models.Model):
    """A discount rule. The engine applies promotions in a fixed order, described in pricing.engine."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=PromotionKind.choices)
    scope = models.CharField(max_length=16, choices=PromotionScope.choices)
    value = models.DecimalField(
        max_digits=14, decimal_places=2, default=0,
        help_text="Percent for percentage promotions; an amount in the channel currency for fixed amount ones "
        "(per unit for items and categories, once for the order).",
    )
    cheapest_unit_only = models.BooleanField(default=False, help_text="Discount only the cheapest qualifying unit, once.")
    buy_quantity = models.PositiveIntegerField(default=0, help_text="Buy X get Y: units to pay in full per group.")
    get_quantity = models.PositiveIntegerField(default=0, help_text="Buy X get Y: discounted units per group.")
    get_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=100, help_text="Buy X get Y: percent off each discounted unit (100 = free)."
    )
    min_quantity = models.PositiveIntegerField(default=0, help_text="Qualifying units the basket must hold.")
    min_subtotal = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Amount of qualifying lines, after earlier discounts, the basket must reach."
    )
    variants = models.ManyToManyField("catalog.Variant", blank=True, related_name="+")
    categories = models.ManyToManyField("catalog.Category", blank=True, related_name="+")
    channels = models.ManyToManyField("catalog.Channel", blank=True, related_name="+", help_text="Empty: every channel.")
    locations = models.ManyToManyField("inventory.Location", blank=True, related_name="+", help_text="Empty: every store and the online shop.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(default=0, help_text="Higher first within the item-level and the order-level phase.")
    exclusive = models.BooleanField(default=False, help_text="When it applies, no other promotion applies.")
    requires_coupon = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="promotion_value_not_negative"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="promotion_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "ends_at"], name="promotion_live_idx")]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    """A code that unlocks a promotion. `times_used` counts live redemptions and only changes by conditional UPDATE."""

    code = models.CharField(max_length=64, unique=True, help_text="Stored upper-case; customers may type any case.")
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="coupons")
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Redemptions in total; 1 makes a single-use code. Empty: unlimited.")
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Redemptions per customer. Empty: unlimited.")
    times_used = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=F("usage_limit")),
                name="coupon_used_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    """One use of a coupon by one order; released (not deleted) when the order is cancelled."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    order_reference = models.CharField(max_length=64, help_text="The order number the coupon was used on.")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "order_reference"], condition=Q(released_at__isnull=True), name="coupon_redemption_once_per_order"
            ),
        ]
        indexes = [
            models.Index(fields=["coupon", "customer"], name="coupon_redemption_customer_idx"),
            models.Index(fields=["order_reference"], name="coupon_redemption_order_idx"),
        ]
