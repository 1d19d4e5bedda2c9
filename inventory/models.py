from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Location(models.Model):
    """A store or a warehouse that keeps stock."""

    STORE = "store"
    WAREHOUSE = "warehouse"
    KINDS = [(STORE, "Store"), (WAREHOUSE, "Warehouse")]

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=KINDS)
    address_line1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True, help_text="State or province.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    coordinates_synthetic = models.BooleanField(default=False, help_text="Coordinates were made up, not surveyed.")
    time_zone = models.CharField(max_length=64, default="UTC")
    sells_in_store = models.BooleanField(default=False)
    ships = models.BooleanField(default=False)
    offers_pickup = models.BooleanField(default=False)
    ships_from_store = models.BooleanField(default=False)
    allow_negative_stock = models.BooleanField(default=False, help_text="A register may sell an item in hand past zero on hand.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90) | Q(latitude__isnull=True), name="location_latitude_range"),
            models.CheckConstraint(condition=Q(longitude__gte=-180, longitude__lte=180) | Q(longitude__isnull=True), name="location_longitude_range"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StockLevel(models.Model):
    """Units of one variant at one location. `on_hand` equals the sum of the level's movements."""

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    available = models.GeneratedField(
        expression=F("on_hand") - F("reserved") - F("safety_stock"), output_field=models.IntegerField(), db_persist=True
    )
    needs_count = models.BooleanField(default=False, help_text="Sold past zero on hand: count this item.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_level_unique_variant_location"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_level_reserved_not_negative"),
            models.CheckConstraint(condition=Q(safety_stock__gte=0), name="stock_level_safety_stock_not_negative"),
        ]
        indexes = [models.Index(fields=["location", "variant"], name="stock_level_location_idx")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.on_hand} on hand"


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SALE = "sale", "Sale"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Adjustment"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    COUNT = "count", "Count"
    DAMAGE = "damage", "Damage"


class StockMovement(models.Model):
    """One change of on hand, with its reason and a reference to what caused it. Never updated."""

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    quantity = models.IntegerField(help_text="Signed: positive adds units, negative removes them.")
    reason = models.CharField(max_length=16, choices=MovementReason.choices)
    reference_type = models.CharField(max_length=50, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["stock_level", "created_at"], name="movement_level_time_idx"),
            models.Index(fields=["reference_type", "reference_id"], name="movement_reference_idx"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero")]


class Reservation(models.Model):
    """Units promised to an order line and not yet picked; `StockLevel.reserved` is the sum of active ones."""

    ACTIVE = "active"
    RELEASED = "released"
    CONSUMED = "consumed"
    STATES = [(ACTIVE, "Active"), (RELEASED, "Released"), (CONSUMED, "Consumed")]

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=STATES, default=ACTIVE)
    reference_type = models.CharField(max_length=50)
    reference_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["reference_type", "reference_id"], name="reservation_reference_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive")]


class Transfer(models.Model):
    """Units sent from one location to another: draft, then in transit once shipped, then received.

    Shipping takes the units off on hand at the source (transfer_out movements); until the receipt
    they are in transit and counted at neither location. A draft may be cancelled; a shipped
    transfer may not, because its units have left the source.
    """

    DRAFT = "draft"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"
    STATES = [(DRAFT, "Draft"), (IN_TRANSIT, "In transit"), (RECEIVED, "Received"), (CANCELLED, "Cancelled")]
    # Allowed moves of the state machine; every one is recorded as a TransferEvent.
    TRANSITIONS = {DRAFT: {IN_TRANSIT, CANCELLED}, IN_TRANSIT: {RECEIVED}, RECEIVED: set(), CANCELLED: set()}

    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    state = models.CharField(max_length=16, choices=STATES, default=DRAFT)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_source_not_destination")]
        indexes = [models.Index(fields=["state", "id"], name="transfer_state_idx")]

    def __str__(self) -> str:
        return f"Transfer {self.pk} {self.source_id}->{self.destination_id} ({self.state})"


class TransferLine(models.Model):
    """Units of one variant on a transfer and, after the receipt, how many arrived, arrived damaged or never came."""

    SHORT_REASONS = [("lost", "Lost in transit"), ("damaged", "Damaged in transit"), ("miscount", "Miscounted at shipping"), ("other", "Other")]

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received_quantity = models.PositiveIntegerField(default=0)
    damaged_quantity = models.PositiveIntegerField(default=0)
    short_quantity = models.PositiveIntegerField(default=0)
    discrepancy_reason = models.CharField(max_length=16, choices=SHORT_REASONS, blank=True)
    discrepancy_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(received_quantity__lte=F("quantity") - F("damaged_quantity") - F("short_quantity")),
                name="transfer_line_receipt_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id} on transfer {self.transfer_id}"


class TransferEvent(models.Model):
    """One change of a transfer's state: who made it, when and why."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class CycleCount(models.Model):
    """A count of several SKUs at one location, recorded in one go; each line sets on hand through a count movement."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="cycle_counts")
    note = models.CharField(max_length=500, blank=True)
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Count {self.pk} at {self.location_id}"


class CycleCountLine(models.Model):
    """The expected and the counted units of one variant in a cycle count."""

    cycle_count = models.ForeignKey(CycleCount, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(help_text="On hand just before the count.")
    counted = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["cycle_count", "variant"], name="cycle_count_line_unique_variant")]

    @property
    def difference(self) -> int:
        return self.counted - self.expected
