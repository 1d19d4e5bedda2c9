"""Money: `Decimal` from input to database to output, quantized to the currency's minor unit."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import ValidationFailed

# ISO 4217 minor units for the currencies Tandem is set up for; others default to 2.
MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "PLN": 2, "SEK": 2, "JPY": 0, "KRW": 0}

# The maximum amount a money column can store (numeric(14, 2)).
MAX_AMOUNT = Decimal("999999999999.99")


def minor_unit(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def quantize(amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round `amount` to the currency's minor unit (half-up unless `rounding` names another rule)."""
    return Decimal(amount).quantize(quantum(currency), rounding=rounding)


def parse_amount(value, *, field: str, currency: str, allow_negative: bool = False, allow_zero: bool = True) -> Decimal:
    """Parse a money amount given as a decimal string or number; reject more decimals than the currency has."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            f"{field} {value!r} is not a number: send a decimal string such as \"12.50\".",
            code="invalid_amount",
            fields={field: [f"{value!r} is not a number."]},
        ) from None
    if not amount.is_finite():
        raise ValidationFailed(f"{field} {value!r} is not a finite number.", code="invalid_amount", fields={field: ["Not a finite number."]})
    # Checked before quantizing, which raises InvalidOperation on numbers such as 1e308.
    if abs(amount) > MAX_AMOUNT:
        raise ValidationFailed(f"{field} {value} is larger than the maximum {MAX_AMOUNT}.", code="amount_too_large", fields={field: [f"At most {MAX_AMOUNT}."]})
    places = minor_unit(currency)
    if amount != amount.quantize(quantum(currency), rounding=ROUND_HALF_UP):
        raise ValidationFailed(
            f"{field} {value} has more than {places} decimal places for {currency}: round it to {places} places.",
            code="too_many_decimals",
            fields={field: [f"At most {places} decimal places."]},
        )
    if amount < 0 and not allow_negative:
        raise ValidationFailed(f"{field} {value} is negative: send zero or more.", code="negative_amount", fields={field: ["Must not be negative."]})
    if amount == 0 and not allow_zero:
        raise ValidationFailed(f"{field} must be greater than zero, got {value}.", code="invalid_amount", fields={field: ["Must be greater than zero."]})
    return amount
