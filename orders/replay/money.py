"""Money as the replayed files write it, turned into order line amounts in cents.

The files were written by float printers: `731.9399999999999` means 731.94, and Superstore's
`Sales` also carries real fractions of a cent (`907.152`). Every amount is first rounded to
NOISE_PLACES decimals, which removes the float noise and keeps every real digit, and only then
rounded half-up to the cent.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

# A binary float is exact to 15 significant digits, so below a million its noise starts after the
# 9th decimal place, while no amount in the files has a real digit beyond the 4th.
NOISE_PLACES = Decimal("1e-9")

UNIT_COST_PLACES = Decimal("0.0001")


class AmountInvalid(ValueError):
    """Raised for text that is not a finite decimal number."""


def amount_exact(text) -> Decimal:
    """Parse an amount and strip float noise, keeping real fractions of a cent (907.152 stays 907.152)."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise AmountInvalid(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise AmountInvalid(f"{text!r} is not a finite number")
    return value.quantize(NOISE_PLACES, rounding=ROUND_HALF_UP)


def amount_clean(text) -> Decimal:
    """Parse an amount and round it half-up to the cent: 731.9399999999999 -> 731.94, 907.152 -> 907.15."""
    return amount_exact(text).quantize(CENT, rounding=ROUND_HALF_UP)


def cents_half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LinePrices:
    """The amounts of one replayed line, where `unit_price * quantity - discount_amount == line_total` exactly."""

    unit_price: Decimal
    discount_amount: Decimal
    line_total: Decimal


def line_prices(*, gross: Decimal, line_total: Decimal, quantity: int) -> LinePrices:
    """Split a line into a unit price in cents and a discount, keeping the file's line total.

    The unit price is `gross / quantity` rounded half-up to the cent and the discount is what the
    units at that price exceed the line total by. When rounding half-up would make the discount
    negative (a weighed item, or fuel sold in units worth less than a cent), the unit price is
    rounded up instead, and the discount then includes that rounding difference.
    """
    if quantity <= 0:
        raise ValueError(f"quantity {quantity} must be positive")
    unit_price = cents_half_up(gross / quantity)
    if unit_price * quantity < line_total:
        unit_price = (gross / quantity).quantize(CENT, rounding=ROUND_CEILING)
    if unit_price * quantity < line_total:
        # The line total is above the gross amount (a file error): charge the line total per unit.
        unit_price = (line_total / quantity).quantize(CENT, rounding=ROUND_CEILING)
    return LinePrices(unit_price=unit_price, discount_amount=unit_price * quantity - line_total, line_total=line_total)


def superstore_prices(*, sales: str, quantity: int, discount_rate: str) -> LinePrices:
    """Return the prices of a Superstore line, where Sales is the line total after the discount rate.

    The list unit price is Sales / (Quantity * (1 - Discount)), from the noise-free Sales.
    """
    exact_sales = amount_exact(sales)
    rate = amount_exact(discount_rate)
    if not Decimal(0) <= rate < 1:
        raise AmountInvalid(f"discount rate {discount_rate!r} is outside 0 to 1")
    gross = exact_sales / (quantity * (1 - rate))
    return line_prices(gross=gross * quantity, line_total=cents_half_up(exact_sales), quantity=quantity)


def superstore_unit_cost(*, sales: str, profit: str, quantity: int) -> Decimal:
    """Return the unit cost of a Superstore line: (Sales - Profit) / Quantity, to 4 decimals."""
    return ((amount_exact(sales) - amount_exact(profit)) / quantity).quantize(UNIT_COST_PLACES, rounding=ROUND_HALF_UP)


def completejourney_prices(*, sales_value: str, retail_disc: str, coupon_match_disc: str, quantity: int) -> LinePrices:
    """Return the prices of a Complete Journey line. The file stores discounts as positive numbers.

    The regular shelf price of the line is sales_value + retail_disc + coupon_match_disc, and the
    store received sales_value. The manufacturer's coupon (coupon_disc) is paid back to the store by
    the manufacturer, so it is not a discount of the store and stays out of the line.
    """
    line_total = amount_clean(sales_value)
    discount = amount_clean(retail_disc) + amount_clean(coupon_match_disc)
    return line_prices(gross=line_total + discount, line_total=line_total, quantity=quantity)
