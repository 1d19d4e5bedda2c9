from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Func, Q, Value
from django.db.models.functions import Cast

# Order numbers come from this PostgreSQL sequence (migration 0002), so an INSERT gets its number
# without a second statement. Numbers are unique and increasing but may have gaps (rolled-back orders).
ORDER_NUMBER_SEQUENCE = "orders_order_number_seq"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"  # web: units reserved, waiting for fulfillment
    SHIPPED = "shipped", "Shipped"  # web: units left on hand at the serving location
    COMPLETED = "completed", "Completed"  # register sales complete at once; web orders after delivery
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    """An order from any channel: a web order, a register sale."""

    number = models.CharField(
        max_length=32, unique=True,
        db_default=Cast(Func(Value(ORDER_NUMBER_SEQUENCE), function="nextval"), output_field=models.CharField(max_length=32)),
    )
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
        help_text="The store of a register sale, or the location that serves a web order.",
    )
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    shipping_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # The order's id in the system it came from (a storefront, a file being replayed).
    external_ref = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, default="api")
    shipping_country = models.CharField(max_length=2, blank=True, help_text="Web orders: where the order ships, ISO 3166-1 alpha-2.")
    shipping_region = models.CharField(max_length=100, blank=True)
    shipping_postal_code = models.CharField(max_length=20, blank=True)
    pickup_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Web orders: the store where the customer collects the order.",
    )
    placed_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey("commerce.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_ref"], condition=~Q(external_ref=""), name="order_unique_external_ref"),
        ]
        indexes = [
            models.Index(fields=["placed_at"], name="order_placed_at_idx"),
            models.Index(fields=["location", "placed_at"], name="order_location_time_idx"),
            models.Index(fields=["customer", "placed_at"], name="order_customer_time_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=500)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    discount_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True, help_text="Copied at sale time, for margin.")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+", help_text="Where the units come from.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="order_line_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]


class OrderStatusChange(models.Model):
    """One step along the order state machine: who, when and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey("commerce.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class OrderLineDiscount(models.Model):
    """One promotion's share of a line's discount, as the pricing engine allocated it."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="discounts")
    promotion = models.ForeignKey(
        "pricing.Promotion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty when the promotion was deleted later; promotion_name keeps what the receipt showed.",
    )
    promotion_name = models.CharField(max_length=200)
    coupon_code = models.CharField(max_length=64, blank=True, help_text="The coupon that unlocked the promotion, if any.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["order_line_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="order_line_discount_positive")]
        indexes = [models.Index(fields=["promotion"], name="order_line_discount_promo_idx")]


class OrderLineTax(models.Model):
    """The tax of one rate on one line, rounded by the rule of the tax region."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="taxes")
    tax_rate = models.ForeignKey(
        "pricing.TaxRate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty when the rate was deleted later; name and rate keep what the receipt showed.",
    )
    name = models.CharField(max_length=100)
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent, e.g. 23.0000.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["order_line_id", "id"]
        indexes = [models.Index(fields=["tax_rate"], name="order_line_tax_rate_idx")]


class TenderKind(models.TextChoices):
    LOYALTY_POINTS = "loyalty_points", "Loyalty points"


class OrderTender(models.Model):
    """A way the order was paid, apart from the payments app: for now only loyalty points.

    Card, cash and gift card tenders belong to the payments app, which records them itself.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tenders")
    kind = models.CharField(max_length=32, choices=TenderKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    points = models.PositiveIntegerField(null=True, blank=True, help_text="Loyalty points spent, for loyalty tenders.")
    loyalty_account = models.ForeignKey("loyalty.LoyaltyAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="order_tender_amount_positive")]


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    CHECKED_OUT = "checked_out", "Checked out"
    ABANDONED = "abandoned", "Abandoned"


class Cart(models.Model):
    """A storefront basket, held by the storefront as an unguessable token until checkout.

    The delivery is either a shipping address (country, region, postal code) or a store for pickup.
    `priced_snapshot` is the priced basket of the last response, which checkout compares with a fresh
    pricing so that the customer never pays a price they were not shown.
    """

    token = models.CharField(max_length=64, unique=True)
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=CartStatus.choices, default=CartStatus.OPEN)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="carts")
    coupon_codes = ArrayField(models.CharField(max_length=64), default=list, blank=True, help_text="Upper-case codes.")
    shipping_country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. US.")
    shipping_region = models.CharField(max_length=100, blank=True, help_text="State or province code, e.g. TX.")
    shipping_postal_code = models.CharField(max_length=20, blank=True)
    pickup_location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    shipping_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    version = models.PositiveIntegerField(default=0, help_text="Goes up with every change of lines, customer, coupons or delivery.")
    priced_snapshot = models.JSONField(null=True, blank=True)
    priced_at = models.DateTimeField(null=True, blank=True)
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="cart")
    api_key = models.ForeignKey("commerce.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(shipping_country="") | Q(pickup_location__isnull=True), name="cart_ships_or_picks_up"
            ),
            models.CheckConstraint(
                condition=~Q(status="checked_out") | Q(order__isnull=False), name="cart_checked_out_has_order"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="cart_status_expiry_idx")]

    def __str__(self) -> str:
        return f"Cart {self.token[:8]}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]
