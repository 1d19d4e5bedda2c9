"""Serializer fields shared by every app, so that bad input reads the same everywhere."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .money import parse_amount

MAX_QUANTITY = 1_000_000


class QuantityField(serializers.IntegerField):
    """A whole number of units, 1 to MAX_QUANTITY by default; strings like "abc" are rejected."""

    default_error_messages = {
        "invalid": "{input!r} is not a whole number of units: send an integer such as 1.",
        "min_value": "Quantity {input} is too small: send at least {min_value}.",
        "max_value": "Quantity {input} is too large: send at most {max_value}.",
        "max_string_length": "The value is too long to be a quantity.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_QUANTITY)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or isinstance(data, float) and not data.is_integer():
            self.fail("invalid", input=data)
        if isinstance(data, str) and not data.strip().lstrip("-").isdigit():
            self.fail("invalid", input=data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if any(getattr(detail, "code", "") == "invalid" for detail in error.detail):
                self.fail("invalid", input=data)
            raise
        return value

    def run_validators(self, value):
        if self.min_value is not None and value < self.min_value:
            self.fail("min_value", input=value, min_value=self.min_value)
        if self.max_value is not None and value > self.max_value:
            self.fail("max_value", input=value, max_value=self.max_value)
        super().run_validators(value)

    def fail(self, key, **kwargs):
        kwargs.setdefault("input", None)
        super().fail(key, **kwargs)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "example": "12.50"})
class MoneyField(serializers.Field):
    """A money amount as a decimal string, checked against the currency's minor unit."""

    def __init__(self, *, currency_field: str | None = None, allow_negative: bool = False, **kwargs):
        self.currency_field = currency_field
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        from django.conf import settings

        from .errors import ValidationFailed

        currency = settings.DEFAULT_CURRENCY
        try:
            return parse_amount(data, field=self.field_name, currency=currency, allow_negative=self.allow_negative)
        except ValidationFailed as error:
            raise serializers.ValidationError(error.message, code=error.code) from None

    def to_representation(self, value) -> str:
        return str(value)
