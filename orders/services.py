"""Orders of every channel: web orders, register sales, and the order state machine.

Placing a web order reads everything it needs in one query: the channel, the customer, the variants
with their prices and the location each line ships from. It writes the order, its lines, their
discount and tax rows and its first status change in one statement and reserves stock last, so the
stock level rows stay locked only from the reservation to the commit. Stock goes through inventory.services, which locks stock levels in primary-key order.
Events go through the outbox: "order.placed" for a web order, "order.completed" for a register sale
and a delivered web order, "order.shipped" and "order.cancelled".

Prices come from one of three places. Checkout passes the basket that pricing.engine priced, with
unit prices, discounts per promotion and taxes per rate. Register sales are priced by the same engine
here. Historical imports carry the prices of their time. Coupons are redeemed and loyalty points spent as a
tender in the order's transaction, points are earned when an order completes, and cancelling gives
all three back. Historical imports redeem no coupons.

Every function here opens a transaction (savepoint-free when nested), so it is safe alone and cheap
inside the idempotency block of an API view. A caller that catches a raised error and goes on in the
same transaction wraps the call in its own `transaction.atomic()` savepoint.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Channel
from commerce.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from commerce.fields import MAX_QUANTITY
from commerce.money import MAX_AMOUNT, parse_amount, quantize, quantum
from commerce.outbox import outbox_publish
from customers.models import Customer
from customers.services import customer_get_or_create_by_identity
from inventory.models import Location, MovementReason
from inventory.services import InsufficientStock, StockLine, stock_fulfil, stock_receive, stock_release, stock_reserve, stock_sell
from loyalty.selectors import account_for_customer
from loyalty.services import points_earn_for_order, points_redeem, points_redeem_cancel, points_reverse_for_refund, program_active
from pricing.basket import Basket, BasketLine, PricedBasket
from pricing.engine import price_basket
from pricing.selectors import pricing_context_load
from pricing.services import coupon_redeem, coupon_redemptions_release

from .models import Order, OrderLine, OrderLineDiscount, OrderLineTax, OrderStatus, OrderStatusChange, OrderTender, TenderKind
from .selectors import LocationChoice, OrderContext, ResolvedVariant, best_locations_read, order_context_read

logger = logging.getLogger(__name__)

# Stock reservations and movements of an order carry this reference type and the order number.
ORDER_REFERENCE = "order"
MAX_LINES = 500
# How often a web order chooses its locations again when concurrent orders took the units first.
PLACEMENT_ATTEMPTS = 3
# The largest id a bigint column holds.
MAX_ID = 2**63 - 1
# Register clocks may run a little ahead of the server's; a sale further in the future is rejected.
CLOCK_SKEW = timedelta(minutes=5)

# The order state machine. Web orders (and any channel that ships) are placed, shipped, then
# completed; register sales are completed at the counter. A completed register sale may be cancelled
# (voided), which puts its units back on hand; a completed web order goes through a return instead.
REMOTE_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
REGISTER_SALE_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.COMPLETED: frozenset({OrderStatus.CANCELLED}),
    OrderStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class OrderLineInput:
    """One requested line: a variant (by id or SKU) and a quantity.

    `expected_unit_price` is the price the customer saw; placing fails with `price_changed` when the
    current price differs. `unit_price`, `discount_amount`, `tax_amount`, `line_total` and `unit_cost`
    are given only by imports of historical orders, which keep the prices of their time. Their
    `line_total` is what was charged, tax included.
    """

    quantity: int
    sku: str = ""
    variant_id: int | None = None
    expected_unit_price: Decimal | str | None = None
    unit_price: Decimal | str | None = None
    discount_amount: Decimal | str | None = None
    tax_amount: Decimal | str | None = None
    line_total: Decimal | str | None = None
    unit_cost: Decimal | str | None = None

    @property
    def is_historical(self) -> bool:
        return self.unit_price is not None


@dataclass
class PricedLine:
    """A line ready to write. `line_total` includes tax; `discounts` and `taxes` are the engine's
    LineDiscount and LineTax rows (empty for base prices and historical imports)."""

    line_number: int
    variant: ResolvedVariant
    quantity: int
    unit_price: Decimal
    discount_amount: Decimal
    line_total: Decimal
    unit_cost: Decimal | None
    location_id: int | None = None
    location_code: str = ""
    tax_amount: Decimal = Decimal("0.00")
    discounts: tuple = ()
    taxes: tuple = ()

    @property
    def paid_before_tax(self) -> Decimal:
        return self.line_total - self.tax_amount


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal


# Input checks


def _coerce_lines(lines: Iterable[OrderLineInput | dict]) -> list[OrderLineInput]:
    try:
        coerced = [line if isinstance(line, OrderLineInput) else OrderLineInput(**line) for line in lines]
    except TypeError as error:
        raise ValidationFailed(f"A line is not of the form {{sku or variant_id, quantity, ...}}: {error}.",
                               code="invalid_line", fields={"lines": [str(error)]}) from None
    if not coerced:
        raise ValidationFailed("The order has no lines: send at least one line with a SKU and a quantity.",
                               code="no_lines", fields={"lines": ["At least one line is required."]})
    if len(coerced) > MAX_LINES:
        raise ValidationFailed(f"The order has {len(coerced)} lines: send at most {MAX_LINES}.",
                               code="too_many_lines", fields={"lines": [f"At most {MAX_LINES} lines."]})
    historical = {line.is_historical for line in coerced}
    if len(historical) > 1:
        raise ValidationFailed(
            "Some lines carry a unit_price and others do not: give historical prices on every line or on none.",
            code="mixed_prices", fields={"lines": ["Give unit_price on every line or on none."]},
        )
    for index, line in enumerate(coerced):
        field = f"lines.{index}"
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or not 1 <= line.quantity <= MAX_QUANTITY:
            raise ValidationFailed(
                f"Line {index + 1}: quantity {line.quantity!r} is invalid: send a whole number from 1 to {MAX_QUANTITY}.",
                code="invalid_quantity", fields={f"{field}.quantity": [f"A whole number from 1 to {MAX_QUANTITY}."]},
            )
        if line.variant_id is not None and (isinstance(line.variant_id, bool) or not isinstance(line.variant_id, int) or not 0 < line.variant_id <= MAX_ID):
            raise ValidationFailed(f"Line {index + 1}: variant id {line.variant_id!r} is invalid: send the id of a variant.",
                                   code="invalid_line", fields={f"{field}.variant": ["Not a variant id."]})
        if bool(line.sku) == (line.variant_id is not None):
            raise ValidationFailed(
                f"Line {index + 1} names {'both a SKU and a variant' if line.sku else 'neither a SKU nor a variant'}: send exactly one of sku or variant.",
                code="invalid_line", fields={f"{field}.sku": ["Send exactly one of sku or variant."]},
            )
    return coerced


def _amount(value, *, field: str, currency: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = parse_amount(value, field=field, currency=currency)
    except InvalidOperation:
        # parse_amount cannot quantize numbers beyond the decimal context's precision (1e308, say).
        raise _amount_too_large(field, value) from None
    return quantize(amount, currency)


def _amount_too_large(field: str, value) -> ValidationFailed:
    return ValidationFailed(f"{field} {value} is larger than the maximum {MAX_AMOUNT}.", code="amount_too_large",
                            fields={field: [f"At most {MAX_AMOUNT}."]})


def _match_variants(lines: Sequence[OrderLineInput], context: OrderContext) -> list[ResolvedVariant]:
    """Match each line to its resolved variant, in line order. Raises on unknown, inactive or repeated variants."""
    by_sku = {variant.sku: variant for variant in context.variants}
    by_id = {variant.variant_id: variant for variant in context.variants}
    matched, first_line_of = [], {}
    for index, line in enumerate(lines):
        variant = by_sku.get(line.sku) if line.sku else by_id.get(line.variant_id)
        named = f"SKU {line.sku}" if line.sku else f"Variant {line.variant_id}"
        field = f"lines.{index}.{'sku' if line.sku else 'variant'}"
        if variant is None:
            raise ValidationFailed(f"{named} does not exist: check the SKU against the catalog.", code="unknown_sku",
                                   fields={field: ["Unknown."]})
        if not variant.is_active:
            raise ValidationFailed(f"{named} is no longer sold: remove it from the order.", code="variant_inactive",
                                   fields={field: ["No longer sold."]})
        # Historical orders keep their lines as they were. A live order names each variant once, so
        # that one expected price and one location belong to each SKU.
        if variant.variant_id in first_line_of and not line.is_historical:
            raise ValidationFailed(
                f"SKU {variant.sku} appears on lines {first_line_of[variant.variant_id] + 1} and {index + 1}: "
                f"send it once with the total quantity.",
                code="duplicate_line", fields={field: ["Repeats an earlier line."]},
            )
        first_line_of.setdefault(variant.variant_id, index)
        matched.append(variant)
    return matched


def _price_lines(lines: Sequence[OrderLineInput], variants: Sequence[ResolvedVariant], *, channel: str, currency: str) -> list[PricedLine]:
    """Price each line at the channel's base price, or at the historical prices it carries."""
    priced, changed = [], []
    for index, (line, variant) in enumerate(zip(lines, variants, strict=True)):
        field = f"lines.{index}"
        if line.is_historical:
            unit_price = _amount(line.unit_price, field=f"{field}.unit_price", currency=currency)
            discount = _amount(line.discount_amount or 0, field=f"{field}.discount_amount", currency=currency)
            tax = _amount(line.tax_amount or 0, field=f"{field}.tax_amount", currency=currency)
            unit_cost = variant.unit_cost if line.unit_cost is None else _unit_cost(line.unit_cost, field=f"{field}.unit_cost")
        else:
            if variant.price is None:
                raise ValidationFailed(
                    f"SKU {variant.sku} has no price on the {channel} channel: ask a merchandiser to price it.",
                    code="price_missing", fields={f"{field}.sku": ["No price on this channel."]},
                )
            unit_price, discount, unit_cost = variant.price, quantize(Decimal(0), currency), variant.unit_cost
            tax = quantize(Decimal(0), currency)
            expected = _amount(line.expected_unit_price, field=f"{field}.expected_unit_price", currency=currency)
            if expected is not None and expected != unit_price:
                changed.append((index, variant.sku, expected, unit_price))
        gross = quantize(unit_price * line.quantity, currency)
        line_total = gross - discount + tax
        if line.is_historical and line.line_total is not None:
            line_total = _historical_line_total(line, gross=gross, discount=discount, tax=tax, field=field, currency=currency)
        if line_total < 0:
            raise ValidationFailed(
                f"Line {index + 1} ({variant.sku}): discount {discount} is larger than the line's {gross}.",
                code="invalid_discount", fields={f"{field}.discount_amount": [f"At most {gross}."]},
            )
        if gross > MAX_AMOUNT:
            raise ValidationFailed(
                f"Line {index + 1} ({variant.sku}) comes to {gross}, more than the maximum {MAX_AMOUNT}: lower the quantity.",
                code="amount_too_large", fields={f"{field}.quantity": ["The line total is too large."]},
            )
        priced.append(PricedLine(
            line_number=index + 1, variant=variant, quantity=line.quantity, unit_price=unit_price,
            discount_amount=discount, line_total=line_total, unit_cost=unit_cost, tax_amount=tax,
        ))
    _raise_if_prices_changed(changed)
    return priced


def _raise_if_prices_changed(changed: list[tuple[int, str, Decimal, Decimal]]) -> None:
    """Raise Conflict `price_changed` for (line index, SKU, expected price, current price) tuples, if any."""
    if not changed:
        return
    parts = [f"SKU {sku} now costs {price} (you expected {expected})" for _, sku, expected, price in changed]
    raise Conflict(
        "Prices changed since the basket was shown: " + "; ".join(parts) + ". Show the new prices and place the order again.",
        code="price_changed",
        fields={f"lines.{index}.expected_unit_price": [f"Current price {price}."] for index, _, _, price in changed},
    )


def _lines_from_priced_basket(
    priced_basket: PricedBasket, variants: Sequence[ResolvedVariant], *, requested: Sequence[OrderLineInput] = (), currency: str
) -> list[PricedLine]:
    """Turn the engine's priced lines into lines to write, with exactly the engine's amounts.

    Checks each `expected_unit_price` of `requested` against the engine's unit price.
    """
    if priced_basket.currency != currency:
        raise ValidationFailed(
            f"The basket was priced in {priced_basket.currency}, the channel sells in {currency}: price it on the channel again.",
            code="currency_mismatch", fields={"currency": [f"Expected {currency}."]},
        )
    priced, changed = [], []
    for index, (engine_line, variant) in enumerate(zip(priced_basket.lines, variants, strict=True)):
        if engine_line.variant_id != variant.variant_id:
            raise ValidationFailed(
                f"Line {index + 1}: the priced basket has SKU {engine_line.sku} where the order has {variant.sku}: price the order again.",
                code="basket_mismatch", fields={f"lines.{index}.sku": ["Does not match the priced basket."]},
            )
        if requested:
            expected = _amount(requested[index].expected_unit_price, field=f"lines.{index}.expected_unit_price", currency=currency)
            if expected is not None and expected != engine_line.unit_price:
                changed.append((index, variant.sku, expected, engine_line.unit_price))
        if engine_line.subtotal > MAX_AMOUNT:
            raise ValidationFailed(
                f"Line {index + 1} ({variant.sku}) comes to {engine_line.subtotal}, more than the maximum {MAX_AMOUNT}: lower the quantity.",
                code="amount_too_large", fields={f"lines.{index}.quantity": ["The line total is too large."]},
            )
        # The engine's sums over no discounts or taxes are a bare Decimal 0: give every amount the minor unit.
        tax = quantize(engine_line.tax_total, currency)
        priced.append(PricedLine(
            line_number=index + 1, variant=variant, quantity=engine_line.quantity, unit_price=quantize(engine_line.unit_price, currency),
            discount_amount=quantize(engine_line.discount_total, currency),
            line_total=quantize(engine_line.paid_before_tax, currency) + tax, unit_cost=variant.unit_cost, tax_amount=tax,
            discounts=tuple(engine_line.discounts), taxes=tuple(engine_line.taxes),
        ))
    _raise_if_prices_changed(changed)
    return priced


def _unit_cost(value, *, field: str) -> Decimal:
    """Parse a unit cost: zero or more with at most four decimal places, as bulk goods cost fractions of a cent."""
    try:
        cost = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{field} {value!r} is not a number: send a decimal string such as \"4.25\".",
                               code="invalid_amount", fields={field: ["Not a number."]}) from None
    # The range check comes before the quantize, which fails on numbers beyond the context's precision.
    if not cost.is_finite() or cost < 0 or cost > MAX_AMOUNT or cost != cost.quantize(Decimal("0.0001")):
        raise ValidationFailed(f"{field} {value} is invalid: send zero or more with at most 4 decimal places.",
                               code="invalid_amount", fields={field: ["Zero or more, at most 4 decimal places."]})
    return cost


def _historical_line_total(line: OrderLineInput, *, gross: Decimal, discount: Decimal, tax: Decimal, field: str, currency: str) -> Decimal:
    """Accept an imported line total that agrees with quantity x unit price - discount + tax.

    Sources often derive the unit price and the discount from the line total. A unit price rounded to
    the minor unit may then miss the total by half a minor unit per unit sold, and the rounded discount
    and total by one more minor unit. A larger difference is a data error.
    """
    line_total = _amount(line.line_total, field=f"{field}.line_total", currency=currency)
    tolerance = quantum(currency) * (Decimal("0.5") * line.quantity + 1)
    if abs(gross - discount + tax - line_total) > tolerance:
        raise ValidationFailed(
            f"Line total {line_total} does not match quantity {line.quantity} x unit price {line.unit_price} - discount {discount} "
            f"+ tax {tax} = {gross - discount + tax}: correct the line.",
            code="line_total_mismatch", fields={f"{field}.line_total": [f"Expected about {gross - discount + tax}."]},
        )
    return line_total


def _totals(lines: Sequence[PricedLine], *, shipping_total: Decimal, currency: str) -> Totals:
    """subtotal = lines before discount and tax; total = subtotal - discounts + shipping + tax.

    Where the channel's prices include tax, the subtotal here is net of that tax, so the same formula holds.
    """
    subtotal = quantize(sum((line.paid_before_tax + line.discount_amount for line in lines), Decimal(0)), currency)
    discount_total = quantize(sum((line.discount_amount for line in lines), Decimal(0)), currency)
    tax_total = quantize(sum((line.tax_amount for line in lines), Decimal(0)), currency)
    total = subtotal - discount_total + shipping_total + tax_total
    if total > MAX_AMOUNT:
        raise ValidationFailed(f"The order comes to {total}, more than the maximum {MAX_AMOUNT}: split it.",
                               code="amount_too_large", fields={"lines": ["The order total is too large."]})
    return Totals(subtotal=subtotal, discount_total=discount_total, shipping_total=shipping_total, tax_total=tax_total, total=total)


def _placed_at(placed_at: datetime | None) -> datetime:
    now = timezone.now()
    if placed_at is None:
        return now
    if timezone.is_naive(placed_at):
        raise ValidationFailed(f"placed_at {placed_at.isoformat()} has no time zone: add an offset such as +00:00.",
                               code="invalid_placed_at", fields={"placed_at": ["A time zone is required."]})
    if placed_at > now + CLOCK_SKEW:
        raise ValidationFailed(f"placed_at {placed_at.isoformat()} is in the future: check the register's clock.",
                               code="invalid_placed_at", fields={"placed_at": ["In the future."]})
    return placed_at


def _external_ref(external_ref: str) -> str:
    external_ref = (external_ref or "").strip()
    if len(external_ref) > 100:
        raise ValidationFailed(f"external_ref is {len(external_ref)} characters long: use at most 100.",
                               code="invalid_external_ref", fields={"external_ref": ["At most 100 characters."]})
    return external_ref


# Customers


def _check_customer_id(customer_id) -> None:
    if customer_id is not None and (isinstance(customer_id, bool) or not isinstance(customer_id, int) or not 0 < customer_id <= MAX_ID):
        raise ValidationFailed(f"Customer id {customer_id!r} is invalid: send the id of a customer.", code="customer_not_found",
                               fields={"customer.id": ["Not a customer id."]})


def _customer_id(*, context_customer_id: int | None, customer_id: int | None, customer_identity: dict | None) -> int | None:
    """Return the order's customer: by id (checked in the context query), or found or created by identity."""
    if customer_id is not None:
        if context_customer_id is None:
            raise ValidationFailed(f"Customer {customer_id} does not exist: look the customer up first, or send an e-mail instead.",
                                   code="customer_not_found", fields={"customer.id": ["Unknown."]})
        return context_customer_id
    if customer_identity:
        customer, _created = customer_get_or_create_by_identity(**customer_identity)
        return customer.merged_into_id or customer.pk
    return None


# Writes


def _existing_order(*, channel_id: int, external_ref: str) -> Order | None:
    if not external_ref:
        return None
    return Order.objects.select_related("channel", "location").filter(channel_id=channel_id, external_ref=external_ref).first()


_INSERT_ORDER = """
    WITH new_order AS (
        INSERT INTO orders_order (
            channel_id, status, location_id, customer_id, currency, subtotal, discount_total, shipping_total,
            tax_total, total, external_ref, source, placed_at, created_by_id, api_key_id, created_at, updated_at,
            shipping_country, shipping_region, shipping_postal_code, pickup_location_id
        )
        VALUES (
            %(channel_id)s, %(status)s, %(location_id)s, %(customer_id)s, %(currency)s, %(subtotal)s, %(discount_total)s,
            %(shipping_total)s, %(tax_total)s, %(total)s, %(external_ref)s, %(source)s, %(placed_at)s, %(actor_id)s,
            %(api_key_id)s, now(), now(), %(shipping_country)s, %(shipping_region)s, %(shipping_postal_code)s,
            %(pickup_location_id)s
        )
        ON CONFLICT (channel_id, external_ref) WHERE NOT (external_ref = '') DO NOTHING
        RETURNING id, number, created_at
    ),
    new_lines AS (
        INSERT INTO orders_orderline (
            order_id, line_number, variant_id, sku, name, quantity, unit_price, discount_amount, tax_amount,
            line_total, unit_cost, location_id
        )
        SELECT o.id, l.line_number, l.variant_id, l.sku, l.name, l.quantity, l.unit_price, l.discount_amount, l.tax_amount,
               l.line_total, l.unit_cost, l.location_id
        FROM new_order o, unnest(
            %(line_numbers)s::int[], %(variant_ids)s::bigint[], %(skus)s::text[], %(names)s::text[], %(quantities)s::int[],
            %(unit_prices)s::numeric[], %(discounts)s::numeric[], %(tax_amounts)s::numeric[], %(line_totals)s::numeric[],
            %(unit_costs)s::numeric[], %(location_ids)s::bigint[]
        ) AS l(line_number, variant_id, sku, name, quantity, unit_price, discount_amount, tax_amount, line_total, unit_cost, location_id)
        RETURNING id, line_number
    ),
    new_discounts AS (
        INSERT INTO orders_orderlinediscount (order_line_id, promotion_id, promotion_name, coupon_code, amount)
        SELECT nl.id, d.promotion_id, d.promotion_name, d.coupon_code, d.amount
        FROM new_lines nl JOIN unnest(
            %(discount_line_numbers)s::int[], %(discount_promotion_ids)s::bigint[], %(discount_names)s::text[],
            %(discount_codes)s::text[], %(discount_amounts)s::numeric[]
        ) AS d(line_number, promotion_id, promotion_name, coupon_code, amount) ON d.line_number = nl.line_number
    ),
    new_taxes AS (
        INSERT INTO orders_orderlinetax (order_line_id, tax_rate_id, name, rate, amount)
        SELECT nl.id, t.tax_rate_id, t.name, t.rate, t.amount
        FROM new_lines nl JOIN unnest(
            %(tax_line_numbers)s::int[], %(tax_rate_ids)s::bigint[], %(tax_names)s::text[], %(tax_rates)s::numeric[],
            %(tax_line_amounts)s::numeric[]
        ) AS t(line_number, tax_rate_id, name, rate, amount) ON t.line_number = nl.line_number
    ),
    new_change AS (
        INSERT INTO orders_orderstatuschange (order_id, from_status, to_status, reason, actor_id, api_key_id, created_at)
        SELECT o.id, '', %(status)s, %(reason)s, %(actor_id)s, %(api_key_id)s, now() FROM new_order o
        RETURNING id, created_at
    )
    SELECT o.id, o.number, o.created_at,
           (SELECT array_agg(id ORDER BY line_number) FROM new_lines),
           (SELECT id FROM new_change)
    FROM new_order o
"""


@dataclass(frozen=True)
class Delivery:
    """The destination of a web order: a shipping address, or a store where the customer collects it."""

    country: str = ""
    region: str = ""
    postal_code: str = ""
    pickup_location_id: int | None = None


def _insert_order(
    *, context: OrderContext, status: str, location: Location | None, customer_id: int | None, totals: Totals,
    lines: Sequence[PricedLine], external_ref: str, source: str, placed_at: datetime, actor, api_key, reason: str,
    delivery: Delivery = Delivery(),
) -> Order | None:
    """Write the order, its lines with their discount and tax rows, and its first status change in one statement.

    Returns the order with its lines and status history attached, or None when an order with the same
    `external_ref` already exists on the channel (a concurrent insert of it waits for the first to commit).
    """
    actor_id = getattr(actor, "pk", None)
    api_key_id = getattr(api_key, "pk", None)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ORDER, {
            "channel_id": context.channel_id, "status": status, "location_id": location.pk if location else None,
            "customer_id": customer_id, "currency": context.currency, "subtotal": totals.subtotal,
            "discount_total": totals.discount_total, "shipping_total": totals.shipping_total, "tax_total": totals.tax_total,
            "total": totals.total, "external_ref": external_ref, "source": source, "placed_at": placed_at,
            "actor_id": actor_id, "api_key_id": api_key_id, "reason": reason,
            "line_numbers": [line.line_number for line in lines],
            "variant_ids": [line.variant.variant_id for line in lines],
            "skus": [line.variant.sku for line in lines],
            "names": [line.variant.name[:500] for line in lines],
            "quantities": [line.quantity for line in lines],
            "unit_prices": [line.unit_price for line in lines],
            "discounts": [line.discount_amount for line in lines],
            "tax_amounts": [line.tax_amount for line in lines],
            "line_totals": [line.line_total for line in lines],
            "unit_costs": [line.unit_cost for line in lines],
            "location_ids": [line.location_id for line in lines],
            "discount_line_numbers": [line.line_number for line in lines for _ in line.discounts],
            "discount_promotion_ids": [discount.promotion_id for line in lines for discount in line.discounts],
            "discount_names": [discount.promotion_name[:200] for line in lines for discount in line.discounts],
            "discount_codes": [discount.coupon_code or "" for line in lines for discount in line.discounts],
            "discount_amounts": [discount.amount for line in lines for discount in line.discounts],
            "tax_line_numbers": [line.line_number for line in lines for _ in line.taxes],
            "tax_rate_ids": [tax.rate_id for line in lines for tax in line.taxes],
            "tax_names": [tax.name for line in lines for tax in line.taxes],
            "tax_rates": [tax.rate for line in lines for tax in line.taxes],
            "tax_line_amounts": [tax.amount for line in lines for tax in line.taxes],
            "shipping_country": delivery.country, "shipping_region": delivery.region,
            "shipping_postal_code": delivery.postal_code, "pickup_location_id": delivery.pickup_location_id,
        })
        row = cursor.fetchone()
    if row is None:
        return None
    order_id, number, created_at, line_ids, change_id = row
    channel = Channel(id=context.channel_id, code=context.channel_code, currency=context.currency)
    order = Order(
        id=order_id, number=number, channel=channel, status=status, location=location, customer_id=customer_id,
        currency=context.currency, subtotal=totals.subtotal, discount_total=totals.discount_total,
        shipping_total=totals.shipping_total, tax_total=totals.tax_total, total=totals.total, external_ref=external_ref,
        source=source, placed_at=placed_at, created_by_id=actor_id, api_key_id=api_key_id, created_at=created_at,
        updated_at=created_at, shipping_country=delivery.country, shipping_region=delivery.region,
        shipping_postal_code=delivery.postal_code, pickup_location_id=delivery.pickup_location_id,
    )
    order_lines = []
    for line_id, line in zip(line_ids, lines, strict=True):
        order_line = OrderLine(
            id=line_id, order=order, line_number=line.line_number, variant_id=line.variant.variant_id, sku=line.variant.sku,
            name=line.variant.name[:500], quantity=line.quantity, unit_price=line.unit_price, discount_amount=line.discount_amount,
            tax_amount=line.tax_amount, line_total=line.line_total, unit_cost=line.unit_cost,
            location=Location(id=line.location_id, code=line.location_code),
        )
        # Unsaved copies of the rows the statement wrote, so that the response needs no further query.
        order_line._prefetched_objects_cache = {
            "discounts": [
                OrderLineDiscount(order_line_id=line_id, promotion_id=discount.promotion_id, promotion_name=discount.promotion_name[:200],
                                  coupon_code=discount.coupon_code or "", amount=discount.amount)
                for discount in line.discounts
            ],
            "taxes": [
                OrderLineTax(order_line_id=line_id, tax_rate_id=tax.rate_id, name=tax.name, rate=tax.rate, amount=tax.amount)
                for tax in line.taxes
            ],
        }
        order_lines.append(order_line)
    change = OrderStatusChange(
        id=change_id, order=order, from_status="", to_status=status, reason=reason, actor=actor, api_key=api_key,
        created_at=created_at,
    )
    order._prefetched_objects_cache = {"lines": order_lines, "status_changes": [change], "tenders": []}
    return order


def _event_payload(order: Order) -> dict:
    return {
        "order_id": order.pk, "number": order.number, "channel": order.channel.code, "status": order.status,
        "location_id": order.location_id, "customer_id": order.customer_id, "currency": order.currency,
        "total": str(order.total), "placed_at": order.placed_at.isoformat(),
    }


# Web orders


def _shortage(variant: ResolvedVariant, *, requested: int, available: int) -> Conflict:
    return Conflict(
        f"Not enough stock for SKU {variant.sku}: {requested} requested, {available} available at any location that ships. "
        f"Lower the quantity or remove the line.",
        code="insufficient_stock",
        fields={"lines": [f"{variant.sku}: {requested} requested, {available} available."]},
    )


def _assign_locations(lines: Sequence[PricedLine], choices: dict[int, LocationChoice]) -> None:
    """Give every line the location with the most available units of its variant; raise when that is too few."""
    needed: dict[int, int] = defaultdict(int)
    for line in lines:
        needed[line.variant.variant_id] += line.quantity
    for line in lines:
        choice = choices.get(line.variant.variant_id)
        available = max(choice.available, 0) if choice else 0
        if available < needed[line.variant.variant_id]:
            raise _shortage(line.variant, requested=needed[line.variant.variant_id], available=available)
        line.location_id, line.location_code = choice.location_id, choice.location_code


def _single_location(lines: Sequence[PricedLine]) -> Location | None:
    """Return the location that serves the whole order, or None when its lines ship from several."""
    ids = {line.location_id for line in lines}
    if len(ids) != 1:
        return None
    return Location(id=lines[0].location_id, code=lines[0].location_code)


def _reserve(order: Order, lines: list[PricedLine]) -> None:
    """Reserve every line at its chosen location in one call; choose again when a concurrent order won.

    Between the choice and the reservation another order may take the units. The reservation then
    fails without changing anything (its savepoint rolls back), the locations are chosen again, and
    after PLACEMENT_ATTEMPTS tries the order fails with `insufficient_stock`.
    """
    for attempt in range(1, PLACEMENT_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                stock_reserve(
                    lines=[StockLine(line.variant.variant_id, line.location_id, line.quantity) for line in lines],
                    reference_type=ORDER_REFERENCE, reference_id=order.number,
                )
            return
        except InsufficientStock as error:
            logger.info("Order %s: reservation attempt %d failed (%s); choosing locations again", order.number, attempt, error.message)
            if attempt == PLACEMENT_ATTEMPTS:
                shortage = error.shortages[0]
                variant = next(line.variant for line in lines if line.variant.variant_id == shortage["variant_id"])
                raise _shortage(variant, requested=shortage["requested"], available=max(shortage["available"], 0)) from None
        _assign_locations(lines, best_locations_read(variant_ids=sorted({line.variant.variant_id for line in lines})))
        order.location = _single_location(lines)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH moved AS (
                    UPDATE orders_orderline ol SET location_id = m.location_id
                    FROM unnest(%s::int[], %s::bigint[]) AS m(line_number, location_id)
                    WHERE ol.order_id = %s AND ol.line_number = m.line_number
                )
                UPDATE orders_order SET location_id = %s WHERE id = %s
                """,
                [[line.line_number for line in lines], [line.location_id for line in lines], order.pk,
                 order.location_id, order.pk],
            )
        for order_line, line in zip(order._prefetched_objects_cache["lines"], lines, strict=True):
            order_line.location = Location(id=line.location_id, code=line.location_code)


# Coupons, loyalty points and breakdowns


def _customer_ref(customer_id: int | None) -> Customer | None:
    return Customer(pk=customer_id) if customer_id is not None else None


def _coupons_redeem(order: Order, *, coupon_codes: Sequence[str], customer_id: int | None) -> None:
    """Redeem the order's coupons inside its transaction; a used-up coupon raises Conflict and nothing is placed."""
    if coupon_codes:
        coupon_redeem(codes=coupon_codes, customer=_customer_ref(customer_id), order_reference=order.number)


def _loyalty_tender_add(order: Order, *, customer_id: int | None, points) -> OrderTender | None:
    """Spend up to `points` of the customer's loyalty points as a tender of the order.

    The points are capped at what the order's total is worth in points, so that no tender exceeds what
    is due. Records an OrderTender; returns None when no point is spent. Raises ValidationFailed for a
    sale without a customer or a customer without a loyalty account.
    """
    if points is None or points == 0:
        return None
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise ValidationFailed(f"loyalty_points {points!r} is not a whole number of points: send 0 or more.",
                               code="invalid_points", fields={"loyalty_points": ["A whole number, 0 or more."]})
    if customer_id is None:
        raise ValidationFailed("loyalty_points needs a customer: set the customer before spending points.",
                               code="customer_required", fields={"loyalty_points": ["Set the customer first."]})
    try:
        account = account_for_customer(customer_id=customer_id)
    except NotFound as error:
        raise ValidationFailed(f"{error.message} Leave loyalty_points out.", code="no_loyalty_account",
                               fields={"loyalty_points": ["No loyalty account."]}) from None
    program = account.program
    if program.currency != order.currency:
        raise ValidationFailed(f"Loyalty points pay in {program.currency}, the order is in {order.currency}: leave loyalty_points out.",
                               code="currency_mismatch", fields={"loyalty_points": [f"Points pay in {program.currency}."]})
    worth_total = int((order.total / program.point_value).to_integral_value(rounding=ROUND_FLOOR))
    points = min(points, worth_total)
    if points == 0:
        return None
    entry = points_redeem(account_id=account.pk, points=points, order_reference=order.number)
    tender = OrderTender.objects.create(
        order=order, kind=TenderKind.LOYALTY_POINTS, amount=entry.amount, points=points, loyalty_account=account,
    )
    order._prefetched_objects_cache.setdefault("tenders", []).append(tender)
    return tender


def _points_earn(order: Order, paid_lines: Callable[[], Sequence[tuple[int | None, Decimal]]]) -> None:
    """Award loyalty points for a completed order on what was paid per line after discounts and before tax.

    `paid_lines` returns (category id, amount paid before tax) per line; it is called only when points
    are due. Skips orders without a customer, and costs one query when no program is active (historical
    replays). Safe to call twice for one order, because points_earn_for_order awards once per order number.
    """
    if order.customer_id is None or program_active() is None:
        return
    points_earn_for_order(customer_id=order.customer_id, order_reference=order.number, lines=list(paid_lines()), placed_at=order.placed_at)


def _order_paid_lines(order: Order) -> list[tuple[int | None, Decimal]]:
    return [
        (category_id, line_total - tax_amount)
        for category_id, line_total, tax_amount in order.lines.order_by("line_number").values_list(
            "variant__product__category_id", "line_total", "tax_amount"
        )
    ]


def _order_rewards_undo(order: Order) -> None:
    """Give back what a cancelled order used and earned: its coupon uses, its points tender, its points."""
    coupon_redemptions_release(order_reference=order.number)
    for tender in order.tenders.filter(kind=TenderKind.LOYALTY_POINTS, loyalty_account__isnull=False):
        points_redeem_cancel(account_id=tender.loyalty_account_id, order_reference=order.number)
    if order.status != OrderStatus.COMPLETED or order.customer_id is None:
        return
    paid = sum((amount for _, amount in _order_paid_lines(order)), Decimal(0))
    if paid > 0:
        points_reverse_for_refund(
            customer_id=order.customer_id, order_reference=order.number, refund_reference=f"{order.number}/cancel",
            refunded_amount=paid,
        )


def order_place_web(
    *,
    lines: Iterable[OrderLineInput | dict] | None = None,
    priced_basket: PricedBasket | None = None,
    customer_id: int | None = None,
    customer_identity: dict | None = None,
    shipping_total: Decimal | str = Decimal(0),
    delivery: Delivery = Delivery(),
    coupon_codes: Sequence[str] = (),
    loyalty_points: int | None = None,
    placed_at: datetime | None = None,
    external_ref: str = "",
    source: str = "api",
    actor=None,
    api_key=None,
) -> tuple[Order, bool]:
    """Place a web order: price it, reserve its units where they are most available, record it as placed.

    At checkout, `priced_basket` is given and `lines` left out. The order then gets exactly the
    engine's unit prices, discounts, taxes, shipping and totals, and `coupon_codes` are redeemed.
    Otherwise the lines' historical prices apply, or else the channel's base prices.
    NOTE: the base-price path applies no promotion and no tax; storefronts price through carts.
    `loyalty_points` are spent as a tender, capped at the order total.

    Returns (order, created); created is False when the channel already has an order with this
    `external_ref`, which is then returned unchanged. Raises ValidationFailed for bad input. Raises
    Conflict `price_changed` when an expected unit price differs from the current one, `coupon_used_up`
    for a coupon without uses left, and `insufficient_stock` naming the SKU and its available units.
    Nothing is written in any of these cases. Publishes "order.placed".
    """
    if priced_basket is not None:
        if lines is not None:
            raise ValidationFailed("Send either lines or a priced basket, not both.", code="invalid_line", fields={"lines": ["Leave out."]})
        lines = [OrderLineInput(variant_id=line.variant_id, quantity=line.quantity) for line in priced_basket.lines]
    requested = _coerce_lines(lines or [])
    external_ref = _external_ref(external_ref)
    placed_at = _placed_at(placed_at)
    if coupon_codes and (priced_basket is None or requested[0].is_historical):
        raise ValidationFailed("coupon_codes need a priced basket: price the order with its coupons first.",
                               code="coupons_need_pricing", fields={"coupon_codes": ["Only with a priced basket."]})
    with transaction.atomic(savepoint=False):
        _check_customer_id(customer_id)
        context = order_context_read(
            channel=Channel.WEB, skus=[line.sku for line in requested if line.sku],
            variant_ids=[line.variant_id for line in requested if line.variant_id is not None],
            customer_id=customer_id, choose_locations=True,
        )
        if context.channel_id is None:
            raise Conflict("The web channel is not set up: ask an administrator to create the channel with code 'web'.",
                           code="channel_missing")
        existing = _existing_order(channel_id=context.channel_id, external_ref=external_ref)
        if existing is not None:
            return existing, False
        variants = _match_variants(requested, context)
        if priced_basket is not None:
            priced = _lines_from_priced_basket(priced_basket, variants, currency=context.currency)
            shipping = priced_basket.shipping
        else:
            priced = _price_lines(requested, variants, channel=Channel.WEB, currency=context.currency)
            shipping = _amount(shipping_total, field="shipping_total", currency=context.currency)
        totals = _totals(priced, shipping_total=shipping, currency=context.currency)
        if priced_basket is not None and totals.total != priced_basket.total:
            raise ValidationFailed(
                f"The priced basket's total {priced_basket.total} is not its lines, shipping and tax ({totals.total}): price it again.",
                code="basket_mismatch", fields={"total": [f"Expected {totals.total}."]},
            )
        _assign_locations(priced, context.choices)
        order_customer_id = _customer_id(context_customer_id=context.customer_id, customer_id=customer_id, customer_identity=customer_identity)

        order = _insert_order(
            context=context, status=OrderStatus.PLACED, location=_single_location(priced), customer_id=order_customer_id,
            totals=totals, lines=priced, external_ref=external_ref, source=source, placed_at=placed_at, actor=actor,
            api_key=api_key, reason="placed", delivery=delivery,
        )
        if order is None:
            return _existing_order(channel_id=context.channel_id, external_ref=external_ref), False
        _coupons_redeem(order, coupon_codes=coupon_codes, customer_id=order_customer_id)
        _loyalty_tender_add(order, customer_id=order_customer_id, points=loyalty_points)
        outbox_publish(topic="order.placed", payload=_event_payload(order))
        # Last, so that the stock level rows stay locked only from here to the commit.
        _reserve(order, priced)
        return order, True


# Register sales


def _register_basket_price(
    requested: Sequence[OrderLineInput], variants: Sequence[ResolvedVariant], *, location_id: int, customer_id: int | None,
    coupon_codes: Sequence[str], placed_at: datetime, currency: str,
) -> list[PricedLine]:
    """Price a register sale with the pricing engine: the store's prices and promotions, the customer's, the coupons."""
    basket = Basket(
        channel=Channel.POS,
        lines=tuple(BasketLine(variant_id=variant.variant_id, quantity=line.quantity) for line, variant in zip(requested, variants, strict=True)),
        store_id=location_id,
        customer_id=customer_id,
        coupon_codes=tuple(coupon_codes),
        at=placed_at,
    )
    priced_basket = price_basket(basket, pricing_context_load(basket))
    return _lines_from_priced_basket(priced_basket, variants, requested=requested, currency=currency)


def order_record_register_sale(
    *,
    location_id: int,
    lines: Iterable[OrderLineInput | dict],
    customer_id: int | None = None,
    customer_identity: dict | None = None,
    coupon_codes: Sequence[str] = (),
    loyalty_points: int | None = None,
    placed_at: datetime | None = None,
    external_ref: str = "",
    source: str = "register",
    actor=None,
    api_key=None,
) -> tuple[Order, bool]:
    """Record a sale made at a store's register: units leave on hand at once, the order is completed.

    Lines are priced by pricing.engine for the store, the customer and `coupon_codes` at `placed_at`,
    as a web cart is, unless they carry historical prices (imports, which redeem no coupons). The
    coupons are redeemed, `loyalty_points` spent as a tender, and the customer earns points on what
    was paid before tax.

    `external_ref` is the register's client-made UUID: syncing the same offline sale again returns
    the first order with created False and awards nothing twice. On hand may go below zero only where
    the store allows it (the stock level is then flagged for a count); elsewhere raises InsufficientStock.
    Publishes "order.completed" through the outbox.
    """
    requested = _coerce_lines(lines)
    external_ref = _external_ref(external_ref)
    placed_at = _placed_at(placed_at)
    historical = requested[0].is_historical
    if coupon_codes and historical:
        raise ValidationFailed("coupon_codes cannot be combined with historical prices: imports redeem no coupons.",
                               code="coupons_need_pricing", fields={"coupon_codes": ["Not with historical prices."]})
    with transaction.atomic(savepoint=False):
        location = Location.objects.filter(pk=location_id).first()
        if location is None:
            raise NotFound(f"Location {location_id} does not exist.", code="location_not_found")
        if not (location.is_active and location.sells_in_store):
            raise ValidationFailed(f"Location {location.code} does not sell in store: record the sale at a store.",
                                   code="location_not_selling", fields={"location": ["Does not sell in store."]})
        _check_customer_id(customer_id)
        context = order_context_read(
            channel=Channel.POS, skus=[line.sku for line in requested if line.sku],
            variant_ids=[line.variant_id for line in requested if line.variant_id is not None],
            customer_id=customer_id, choose_locations=False,
        )
        if context.channel_id is None:
            raise Conflict("The register channel is not set up: ask an administrator to create the channel with code 'pos'.",
                           code="channel_missing")
        existing = _existing_order(channel_id=context.channel_id, external_ref=external_ref)
        if existing is not None:
            return existing, False
        variants = _match_variants(requested, context)
        order_customer_id = _customer_id(context_customer_id=context.customer_id, customer_id=customer_id, customer_identity=customer_identity)
        if historical:
            priced = _price_lines(requested, variants, channel=Channel.POS, currency=context.currency)
        else:
            priced = _register_basket_price(
                requested, variants, location_id=location.pk, customer_id=order_customer_id, coupon_codes=coupon_codes,
                placed_at=placed_at, currency=context.currency,
            )
        totals = _totals(priced, shipping_total=quantize(Decimal(0), context.currency), currency=context.currency)
        for line in priced:
            line.location_id, line.location_code = location.pk, location.code

        order = _insert_order(
            context=context, status=OrderStatus.COMPLETED, location=location, customer_id=order_customer_id, totals=totals,
            lines=priced, external_ref=external_ref, source=source, placed_at=placed_at, actor=actor, api_key=api_key,
            reason="register sale",
        )
        if order is None:
            return _existing_order(channel_id=context.channel_id, external_ref=external_ref), False
        _coupons_redeem(order, coupon_codes=coupon_codes, customer_id=order_customer_id)
        _loyalty_tender_add(order, customer_id=order_customer_id, points=loyalty_points)
        _points_earn(order, lambda: [(line.variant.category_id, line.paid_before_tax) for line in priced])
        outbox_publish(topic="order.completed", payload=_event_payload(order))
        stock_sell(
            lines=[StockLine(line.variant.variant_id, location.pk, line.quantity) for line in priced],
            reference_type=ORDER_REFERENCE, reference_id=order.number, actor_id=getattr(actor, "pk", None),
        )
        return order, True



# The state machine


def allowed_next_statuses(order: Order) -> frozenset[str]:
    table = REGISTER_SALE_TRANSITIONS if order.channel.code == Channel.POS else REMOTE_ORDER_TRANSITIONS
    return table.get(order.status, frozenset())


def _transition(*, number: str, to_status: str, actor, api_key, reason: str, effect: Callable[[Order], None]) -> Order:
    """Move an order to `to_status` along the transition table, under a row lock, and record who and why."""
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ValidationFailed(f"The reason is {len(reason)} characters long: use at most 500.", code="invalid_reason",
                               fields={"reason": ["At most 500 characters."]})
    with transaction.atomic(savepoint=False):
        order = Order.objects.select_for_update(of=("self",)).select_related("channel").filter(number=number).first()
        if order is None:
            raise NotFound(f"Order {number} does not exist.", code="order_not_found")
        allowed = allowed_next_statuses(order)
        if to_status not in allowed:
            next_states = ", ".join(sorted(allowed)) or "none, it is final"
            raise InvalidTransition(
                f"Order {order.number} is {order.status} and cannot become {to_status}. Allowed next states: {next_states}.",
                fields={"status": [f"Allowed next states: {next_states}."]},
            )
        effect(order)
        from_status = order.status
        order.status = to_status
        order.save(update_fields=["status", "updated_at"])
        OrderStatusChange.objects.create(
            order=order, from_status=from_status, to_status=to_status, reason=reason, actor=actor, api_key=api_key,
        )
        outbox_publish(topic=f"order.{to_status}", payload=_event_payload(order))
        return order


def order_ship(*, number: str, actor=None, api_key=None, reason: str = "") -> Order:
    """Ship a placed order: its reserved units leave on hand as a sale (placed -> shipped)."""

    def fulfil(order: Order) -> None:
        stock_fulfil(reference_type=ORDER_REFERENCE, reference_id=order.number, actor_id=getattr(actor, "pk", None))

    return _transition(number=number, to_status=OrderStatus.SHIPPED, actor=actor, api_key=api_key, reason=reason, effect=fulfil)


def order_complete(*, number: str, actor=None, api_key=None, reason: str = "") -> Order:
    """Mark a shipped order as delivered (shipped -> completed); the customer earns loyalty points on it."""

    def earn(order: Order) -> None:
        _points_earn(order, lambda: _order_paid_lines(order))

    return _transition(number=number, to_status=OrderStatus.COMPLETED, actor=actor, api_key=api_key, reason=reason, effect=earn)


def order_cancel(*, number: str, actor=None, api_key=None, reason: str = "") -> Order:
    """Cancel an order. A placed one gives back its reservations. A completed register sale puts its
    units back on hand at its store with RETURN movements and takes back the points it earned. Either
    way its coupon uses are released and the points it was paid with go back to the customer."""

    def undo(order: Order) -> None:
        _order_rewards_undo(order)
        if order.status == OrderStatus.PLACED:
            stock_release(reference_type=ORDER_REFERENCE, reference_id=order.number)
            return
        stock_receive(
            lines=[StockLine(line.variant_id, line.location_id, line.quantity) for line in order.lines.all()],
            reference_type=ORDER_REFERENCE, reference_id=order.number, actor_id=getattr(actor, "pk", None),
            reason=MovementReason.RETURN, note=f"Cancelled register sale {order.number}",
        )

    return _transition(number=number, to_status=OrderStatus.CANCELLED, actor=actor, api_key=api_key, reason=reason, effect=undo)


def orders_move_to_customer(payload: dict) -> None:
    """Outbox handler for "customer.merged": the merged profile's orders now belong to the kept one. Safe twice."""
    Order.objects.filter(customer_id=payload["merged_customer_id"]).update(customer_id=payload["kept_customer_id"])
