"""Input and output shapes of the inventory API. Input serializers only parse; services decide."""

from rest_framework import serializers

from commerce.fields import MAX_QUANTITY, QuantityField

from ..models import CycleCount, Location, MovementReason, StockLevel, StockMovement, Transfer, TransferLine

MAX_BASKET_SKUS = 100


class UnitsField(QuantityField):
    """A whole number of units within [minimum, maximum]; an out-of-range error names the value sent."""

    def __init__(self, *, minimum: int = 1, maximum: int = MAX_QUANTITY, allow_zero: bool = True, **kwargs):
        self.minimum, self.maximum, self.allow_zero = minimum, maximum, allow_zero
        kwargs["min_value"] = None
        kwargs["max_value"] = None
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not self.minimum <= value <= self.maximum:
            raise serializers.ValidationError(f"{value} is out of range: use a whole number from {self.minimum} to {self.maximum}.")
        if value == 0 and not self.allow_zero:
            raise serializers.ValidationError("0 changes nothing: send a positive or a negative number of units.")
        return value


# Availability


class AvailabilityQuerySerializer(serializers.Serializer):
    skus = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_BASKET_SKUS)
    location = serializers.CharField(max_length=50, required=False)
    online = serializers.BooleanField(default=False)


class AvailabilityLocationSerializer(serializers.Serializer):
    location = serializers.CharField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    safety_stock = serializers.IntegerField()
    available = serializers.IntegerField()


class AvailabilitySkuSerializer(serializers.Serializer):
    sku = serializers.CharField()
    variant_id = serializers.IntegerField()
    on_hand = serializers.IntegerField()
    available = serializers.IntegerField(help_text="Sum of the positive per-location figures.")
    locations = AvailabilityLocationSerializer(many=True)


class AvailabilitySerializer(serializers.Serializer):
    online = serializers.BooleanField()
    location = serializers.CharField(allow_null=True)
    results = AvailabilitySkuSerializer(many=True)


# Stock levels


class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")

    class Meta:
        model = StockLevel
        fields = ["id", "sku", "variant_id", "location", "location_id", "on_hand", "reserved", "safety_stock", "available", "needs_count", "updated_at"]


class MovementSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = StockMovement
        fields = ["id", "quantity", "reason", "reference_type", "reference_id", "note", "actor", "created_at"]


class AdjustmentSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.CharField(max_length=50)
    quantity = UnitsField(minimum=-MAX_QUANTITY, maximum=MAX_QUANTITY, allow_zero=False, help_text="Signed: positive adds units.")
    reason = serializers.ChoiceField(choices=[MovementReason.ADJUSTMENT, MovementReason.DAMAGE], default=MovementReason.ADJUSTMENT)
    note = serializers.CharField(max_length=500, allow_blank=False)


class SafetyStockSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.CharField(max_length=50)
    safety_stock = UnitsField(minimum=0)


# Transfers


class TransferLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = UnitsField()


class TransferCreateSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=50)
    destination = serializers.CharField(max_length=50)
    lines = TransferLineInSerializer(many=True, allow_empty=False, max_length=500)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class TransferReceiptLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    received = UnitsField(minimum=0)
    damaged = UnitsField(minimum=0, default=0)
    reason = serializers.ChoiceField(choices=[value for value, _label in TransferLine.SHORT_REASONS], required=False, default="")
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class TransferReceiveSerializer(serializers.Serializer):
    lines = TransferReceiptLineSerializer(many=True, required=False, default=list, max_length=500)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class TransferLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")

    class Meta:
        model = TransferLine
        fields = ["sku", "quantity", "received_quantity", "damaged_quantity", "short_quantity", "discrepancy_reason", "discrepancy_note"]


class TransferEventSerializer(serializers.Serializer):
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class TransferSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.code")
    destination = serializers.CharField(source="destination.code")
    lines = TransferLineSerializer(many=True)
    events = TransferEventSerializer(many=True)

    class Meta:
        model = Transfer
        fields = ["id", "source", "destination", "state", "note", "created_at", "shipped_at", "received_at", "cancelled_at", "lines", "events"]


# Cycle counts


class CountLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    counted = UnitsField(minimum=0)


class CycleCountCreateSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=50)
    lines = CountLineInSerializer(many=True, allow_empty=False, max_length=1000)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class CycleCountLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    expected = serializers.IntegerField()
    counted = serializers.IntegerField()
    difference = serializers.IntegerField()


class CycleCountSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    lines = CycleCountLineSerializer(many=True)

    class Meta:
        model = CycleCount
        fields = ["id", "location", "note", "counted_by_id", "created_at", "lines"]


# Locations


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = [
            "id", "code", "name", "kind", "address_line1", "city", "region", "postal_code", "country", "latitude", "longitude",
            "coordinates_synthetic", "time_zone", "sells_in_store", "ships", "offers_pickup", "ships_from_store",
            "allow_negative_stock", "is_active",
        ]


class LocationWriteSerializer(serializers.Serializer):
    """Location fields as sent; location_upsert checks kind, time zone and coordinates."""

    code = serializers.CharField(max_length=50)
    name = serializers.CharField(max_length=200)
    kind = serializers.CharField(max_length=16)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True)
    coordinates_synthetic = serializers.BooleanField(required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    sells_in_store = serializers.BooleanField(required=False)
    ships = serializers.BooleanField(required=False)
    offers_pickup = serializers.BooleanField(required=False)
    ships_from_store = serializers.BooleanField(required=False)
    allow_negative_stock = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
