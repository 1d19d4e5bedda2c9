from django.conf import settings
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
