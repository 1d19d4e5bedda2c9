"""The basket pricing engine shared by carts, the register and returns.

`price_basket(basket, context)` is pure: everything it needs is in the `PricingContext` that
pricing.selectors.pricing_context_load reads, so it runs no query and may be called in a loop.

The rules, in the order the engine applies them:

1. Unit price. An explicit `unit_price` on a line (historical imports) wins. Otherwise the most specific
   live price list wins: store and customer group (4) > customer group (3) > store (2) > a list with
   neither, limited by dates or not (1) > the variant's base price (0). Among lists of the same
   specificity the higher priority wins, then the lower price.
2. Promotions. Exclusive promotions are tried first, in the application order below. The first one that
   applies is the only promotion on the basket, and every other one is reported as blocked. When no
   exclusive promotion applies, the others stack in the application order: item-level (variants and
   categories) before order-level, then higher priority first, then lower id. Each promotion works on
   what earlier ones left of every line, so discounts never exceed a line's amount.
3. Rounding of discounts. A promotion's discount is computed on the sum of the lines it applies to and
   rounded half-up to the minor unit once (19.99 at 25% off: 4.9975 -> 5.00, so 14.99). That amount is
   allocated to the lines by the largest remainder method, in proportion to what each line contributed;
   ties go to the lower line index. The line shares add up exactly to the promotion's discount.
4. Tax. The region's rounding rule decides: `per_line` rounds every line and rate half-up; `per_document`
   rounds the sum of each rate over the document once and allocates it to the lines by largest
   remainder. Either way the document tax is the sum of the line taxes the receipt shows.
5. Totals. Exclusive pricing: total = subtotal - discounts + shipping + tax. Inclusive pricing (the
   channel's prices include tax): total = subtotal - discounts + shipping, and tax is the part of it
   shown on the receipt.
"""

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from commerce.errors import ValidationFailed
from commerce.fields import MAX_QUANTITY
from commerce.money import parse_amount, quantize, quantum

from .basket import (
    HUNDRED,
    ZERO,
    Basket,
    BasketLine,
    LineDiscount,
    LineTax,
    PriceOffer,
    PricedBasket,
    PricedLine,
    PricingContext,
    PromotionFacts,
    PromotionOutcome,
    TaxRateFacts,
    TaxTotal,
    VariantFacts,
)

MAX_PRICE = Decimal("999999999.99")

SPECIFICITY_STORE_AND_GROUP = 4
SPECIFICITY_GROUP = 3
SPECIFICITY_STORE = 2
SPECIFICITY_CHANNEL = 1

PRICE_SOURCE_BASE = "base"
PRICE_SOURCE_PRICE_LIST = "price_list"
PRICE_SOURCE_OVERRIDE = "override"


# Pure helpers.


def allocate(total: Decimal, weights: list[Decimal], currency: str, capacities: list[Decimal] | None = None) -> list[Decimal]:
    """Split `total` over `weights` to the minor unit by the largest remainder method.

    Each share starts as the proportional share rounded down; the cents left over go one each to the
    largest remainders, ties to the lower index. With `capacities`, no share exceeds its capacity and the
    excess moves to the next lines with room, in index order. The shares always add up to `total` when
    `total` does not exceed the sum of the capacities.
    """
    step = quantum(currency)
    weight_sum = sum(weights, ZERO)
    if total <= 0 or weight_sum <= 0:
        return [ZERO.quantize(step) for _ in weights]

    exact = [total * weight / weight_sum for weight in weights]
    shares = [amount.quantize(step, rounding=ROUND_DOWN) for amount in exact]
    leftover_units = int(((total - sum(shares, ZERO)) / step).to_integral_value())
    order = sorted(range(len(weights)), key=lambda index: (-(exact[index] - shares[index]), index))
    for index in order[:leftover_units]:
        shares[index] += step

    if capacities is not None:
        excess = ZERO
        for index, capacity in enumerate(capacities):
            if shares[index] > capacity:
                excess += shares[index] - capacity
                shares[index] = capacity
        for index, capacity in enumerate(capacities):
            if excess <= 0:
                break
            room = min(capacity - shares[index], excess)
            if room > 0:
                shares[index] += room
                excess -= room
    return shares


def select_unit_price(offers) -> PriceOffer | None:
    """Pick the winning price list offer: the most specific, then the higher priority, then the lower price.

    Returns None when no list applies, so the base price is used.
    """
    best = None
    for offer in offers:
        if best is None or (offer.specificity, offer.priority, -offer.amount, -offer.price_list_id) > (
            best.specificity, best.priority, -best.amount, -best.price_list_id
        ):
            best = offer
    return best


def category_in_subtree(path: str | None, roots) -> bool:
    if not path:
        return False
    return any(path == root or path.startswith(root + " > ") for root in roots)


def normalize_coupon_code(code: str) -> str:
    return str(code).strip().upper()


@dataclass(frozen=True)
class _Skip:
    """Why a promotion did not apply: a stable reason code and a message."""

    reason: str
    message: str


@dataclass
class _Line:
    index: int
    variant: VariantFacts
    quantity: int
    unit_price: Decimal
    price_source: str
    price_list_id: int | None
    price_list_name: str | None
    subtotal: Decimal
    remaining: Decimal
    discounts: list = field(default_factory=list)


# The calculation.


def price_basket(basket: Basket, context: PricingContext) -> PricedBasket:
    """Price `basket` with the rows in `context`. Runs no query.

    Raises ValidationFailed naming the value for an unknown or inactive SKU, a bad quantity, a variant with
    no price on the channel, and a bad unit price override or shipping amount. It also raises for a coupon
    that is unknown, inactive, expired, not started, used up, over its per-customer limit, or for another
    channel or store.
    """
    currency = context.currency
    lines = [_resolve_line(index, basket_line, context) for index, basket_line in enumerate(basket.lines)]
    shipping = _check_money(basket.shipping_amount, field_name="shipping_amount", currency=currency)
    coupons = _check_coupons(basket.coupon_codes, context)

    outcomes = _apply_promotions(lines, context, coupons)

    tax_by_line = _compute_taxes(lines, context)

    priced_lines = []
    for line in lines:
        line_taxes = tuple(tax_by_line.get(line.index, ()))
        tax_total = sum((tax.amount for tax in line_taxes), ZERO)
        discount_total = line.subtotal - line.remaining
        if context.prices_include_tax:
            paid_before_tax = line.remaining - tax_total
            line_total = line.remaining
        else:
            paid_before_tax = line.remaining
            line_total = line.remaining + tax_total
        priced_lines.append(
            PricedLine(
                index=line.index,
                variant_id=line.variant.id,
                sku=line.variant.sku,
                name=line.variant.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                price_source=line.price_source,
                price_list_id=line.price_list_id,
                price_list_name=line.price_list_name,
                subtotal=line.subtotal,
                discounts=tuple(line.discounts),
                discount_total=discount_total,
                taxes=line_taxes,
                tax_total=tax_total,
                paid_before_tax=paid_before_tax,
                total=line_total,
            )
        )

    subtotal = sum((line.subtotal for line in priced_lines), ZERO)
    discount_total = sum((line.discount_total for line in priced_lines), ZERO)
    tax_total = sum((line.tax_total for line in priced_lines), ZERO)
    total = subtotal - discount_total + shipping
    if not context.prices_include_tax:
        total += tax_total

    return PricedBasket(
        currency=currency,
        prices_include_tax=context.prices_include_tax,
        lines=tuple(priced_lines),
        subtotal=subtotal,
        discount_total=discount_total,
        shipping=shipping,
        tax_total=tax_total,
        total=total,
        taxes=_tax_totals(priced_lines),
        tax_region_code=context.tax_region.code if context.tax_region else None,
        tax_rounding=context.tax_region.rounding if context.tax_region else None,
        tax_exemption_reference=context.tax_exemption_reference if context.tax_region else None,
        promotions=tuple(outcomes),
        coupon_codes=tuple(coupons),
    )


def _check_money(value, *, field_name: str, currency: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValidationFailed(
            f"{field_name} {value!r} is not a decimal amount: send a decimal string such as \"4.99\".",
            code="invalid_amount",
            fields={field_name: ["Not a decimal amount."]},
        )
    amount = parse_amount(value, field=field_name, currency=currency)
    if amount > MAX_PRICE:
        raise ValidationFailed(
            f"{field_name} {amount} is larger than the maximum {MAX_PRICE}.",
            code="amount_too_large",
            fields={field_name: [f"At most {MAX_PRICE}."]},
        )
    return quantize(amount, currency)


def _resolve_line(index: int, basket_line: BasketLine, context: PricingContext) -> _Line:
    field_prefix = f"lines.{index}"
    variant_id = basket_line.variant_id
    label = basket_line.sku if basket_line.sku is not None else basket_line.variant_id
    if variant_id is None and basket_line.sku is not None:
        variant_id = context.variant_ids_by_sku.get(basket_line.sku)
    variant = context.variants.get(variant_id)
    if variant is None:
        raise ValidationFailed(
            f"Line {index + 1}: SKU {label!r} is not in the catalog: check the code or scan the item again.",
            code="unknown_sku",
            fields={f"{field_prefix}.sku": [f"Unknown SKU {label!r}."]},
        )
    if not variant.is_active:
        raise ValidationFailed(
            f"Line {index + 1}: SKU {variant.sku} is not for sale (inactive): remove it from the basket.",
            code="variant_inactive",
            fields={f"{field_prefix}.sku": [f"SKU {variant.sku} is inactive."]},
        )

    quantity = basket_line.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(
            f"Line {index + 1}: quantity {quantity!r} for SKU {variant.sku} is invalid: send a whole number from 1 to {MAX_QUANTITY}.",
            code="invalid_quantity",
            fields={f"{field_prefix}.quantity": [f"A whole number from 1 to {MAX_QUANTITY}."]},
        )

    price_list_id = price_list_name = None
    if basket_line.unit_price is not None:
        unit_price = _check_money(basket_line.unit_price, field_name=f"{field_prefix}.unit_price", currency=context.currency)
        source = PRICE_SOURCE_OVERRIDE
    else:
        offer = select_unit_price(context.offers.get(variant.id, ()))
        if offer is not None:
            unit_price, source = offer.amount, PRICE_SOURCE_PRICE_LIST
            price_list_id, price_list_name = offer.price_list_id, offer.price_list_name
        elif variant.base_price is not None:
            unit_price, source = variant.base_price, PRICE_SOURCE_BASE
        else:
            raise ValidationFailed(
                f"Line {index + 1}: SKU {variant.sku} has no price on channel {context.channel_code}: "
                f"set its base price for that channel.",
                code="price_missing",
                fields={f"{field_prefix}.sku": [f"No price for SKU {variant.sku} on {context.channel_code}."]},
            )
    subtotal = quantize(unit_price * quantity, context.currency)
    return _Line(
        index=index,
        variant=variant,
        quantity=quantity,
        unit_price=unit_price,
        price_source=source,
        price_list_id=price_list_id,
        price_list_name=price_list_name,
        subtotal=subtotal,
        remaining=subtotal,
    )


def _coupon_error(reason: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=reason, fields={"coupon_codes": [message]})


def _check_coupons(codes, context: PricingContext) -> dict:
    """Return upper-case code -> CouponFacts for the basket's coupons, or raise naming the first bad code."""
    valid = {}
    for raw_code in codes:
        code = normalize_coupon_code(raw_code)
        coupon = context.coupons.get(code)
        if coupon is None:
            raise _coupon_error("coupon_not_found", f"Coupon {raw_code!r} does not exist: check the code.")
        if not coupon.is_active or not coupon.promotion_is_active:
            raise _coupon_error("coupon_inactive", f"Coupon {code} is no longer active: remove it from the basket.")
        if coupon.starts_at is not None and context.at < coupon.starts_at:
            raise _coupon_error("coupon_not_started", f"Coupon {code} is valid from {coupon.starts_at.isoformat()}: use it from then on.")
        if coupon.ends_at is not None and context.at >= coupon.ends_at:
            raise _coupon_error("coupon_expired", f"Coupon {code} expired at {coupon.ends_at.isoformat()}: remove it from the basket.")
        if coupon.channel_ids and context.channel_id not in coupon.channel_ids:
            raise _coupon_error("coupon_wrong_channel", f"Coupon {code} is not valid on channel {context.channel_code}: remove it from the basket.")
        if coupon.location_ids and context.store_id not in coupon.location_ids:
            raise _coupon_error("coupon_wrong_store", f"Coupon {code} is not valid at this store: remove it from the basket.")
        if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
            raise _coupon_error("coupon_used_up", f"Coupon {code} has been used up ({coupon.usage_limit} uses): remove it from the basket.")
        if coupon.per_customer_limit is not None:
            if context.customer_id is None:
                raise _coupon_error("coupon_needs_customer", f"Coupon {code} is limited per customer: identify the customer first.")
            if coupon.customer_uses >= coupon.per_customer_limit:
                raise _coupon_error(
                    "coupon_customer_limit",
                    f"Coupon {code} was already used {coupon.customer_uses} times by this customer, "
                    f"the limit is {coupon.per_customer_limit}: remove it from the basket.",
                )
        valid[code] = coupon
    return valid


def _apply_promotions(lines: list[_Line], context: PricingContext, coupons: dict) -> list[PromotionOutcome]:
    coupon_by_promotion = {}
    for code, coupon in coupons.items():
        coupon_by_promotion.setdefault(coupon.promotion_id, code)

    outcomes: dict[int, PromotionOutcome] = {}
    candidates = []
    for promotion in sorted(context.promotions, key=PromotionFacts.sort_key):
        reason = _eligibility_problem(promotion, context, coupon_by_promotion)
        if reason is not None:
            outcomes[promotion.id] = PromotionOutcome(promotion.id, promotion.name, False, reason[0], reason[1])
        else:
            candidates.append(promotion)

    exclusive_winner = None
    for promotion in (candidate for candidate in candidates if candidate.exclusive):
        result = _evaluate(promotion, lines, context.currency)
        if isinstance(result, _Skip):
            outcomes[promotion.id] = PromotionOutcome(promotion.id, promotion.name, False, result.reason, result.message)
            continue
        exclusive_winner = promotion
        outcomes[promotion.id] = _book(promotion, result, lines, context.currency, coupon_by_promotion.get(promotion.id))
        break

    for promotion in candidates:
        if promotion.id in outcomes:
            continue
        if exclusive_winner is not None:
            outcomes[promotion.id] = PromotionOutcome(
                promotion.id, promotion.name, False, "blocked_by_exclusive",
                f"The exclusive promotion {exclusive_winner.name!r} applies, so no other promotion does.",
            )
            continue
        if promotion.exclusive:
            continue
        result = _evaluate(promotion, lines, context.currency)
        if isinstance(result, _Skip):
            outcomes[promotion.id] = PromotionOutcome(promotion.id, promotion.name, False, result.reason, result.message)
            continue
        outcomes[promotion.id] = _book(promotion, result, lines, context.currency, coupon_by_promotion.get(promotion.id))

    ordered = sorted(context.promotions, key=PromotionFacts.sort_key)
    return [outcomes[promotion.id] for promotion in ordered]


def _eligibility_problem(promotion: PromotionFacts, context: PricingContext, coupon_by_promotion: dict):
    if promotion.channel_ids and context.channel_id not in promotion.channel_ids:
        return "not_for_channel", f"Not offered on channel {context.channel_code}."
    if promotion.location_ids and context.store_id not in promotion.location_ids:
        return "not_for_store", "Not offered at this store."
    if promotion.requires_coupon and promotion.id not in coupon_by_promotion:
        return "coupon_required", "Applies only with its coupon code."
    return None


def _qualifies(promotion: PromotionFacts, line: _Line) -> bool:
    if promotion.scope == "order":
        return True
    if promotion.scope == "items":
        return line.variant.id in promotion.variant_ids
    return category_in_subtree(line.variant.category_path, promotion.category_paths)


def _evaluate(promotion: PromotionFacts, lines: list[_Line], currency: str):
    """Return a _Skip, or (total discount, {line index: weight}) for one promotion on what the lines have left."""
    qualifying = [line for line in lines if _qualifies(promotion, line)]
    if not qualifying:
        return _Skip("no_qualifying_items", "No line in the basket qualifies.")
    units = sum(line.quantity for line in qualifying)
    amount = sum((line.remaining for line in qualifying), ZERO)
    if units < promotion.min_quantity:
        return _Skip("below_min_quantity", f"Needs {promotion.min_quantity} qualifying units, the basket has {units}.")
    if amount < promotion.min_subtotal:
        return _Skip("below_min_subtotal", f"Needs qualifying items worth {promotion.min_subtotal}, the basket has {amount}.")

    weights: dict[int, Decimal] = {}
    if promotion.kind == "buy_x_get_y":
        group = promotion.buy_quantity + promotion.get_quantity
        discounted_units = (units // group) * promotion.get_quantity if group else 0
        if discounted_units == 0:
            return _Skip("not_enough_units", f"Needs {group} qualifying units, the basket has {units}.")
        left = discounted_units
        for line in sorted(qualifying, key=lambda line: (line.remaining / line.quantity, line.index)):
            if left == 0:
                break
            discounted_here = min(left, line.quantity)
            left -= discounted_here
            weights[line.index] = line.remaining / line.quantity * discounted_here * promotion.get_percent / HUNDRED
        total = quantize(sum(weights.values(), ZERO), currency)
    elif promotion.cheapest_unit_only:
        cheapest = min(qualifying, key=lambda line: (line.remaining / line.quantity, line.index))
        unit_amount = cheapest.remaining / cheapest.quantity
        if promotion.kind == "percentage":
            raw = unit_amount * promotion.value / HUNDRED
        else:
            raw = min(promotion.value, unit_amount)
        weights[cheapest.index] = raw
        total = quantize(raw, currency)
    elif promotion.kind == "percentage":
        weights = {line.index: line.remaining for line in qualifying}
        total = quantize(amount * promotion.value / HUNDRED, currency)
    elif promotion.scope == "order":
        weights = {line.index: line.remaining for line in qualifying}
        total = min(quantize(promotion.value, currency), amount)
    else:
        for line in qualifying:
            weights[line.index] = min(promotion.value * line.quantity, line.remaining)
        total = quantize(sum(weights.values(), ZERO), currency)

    capacity = sum((lines[index].remaining for index in weights), ZERO)
    total = min(total, capacity)
    if total <= 0:
        return _Skip("discount_zero", "The discount rounds to zero on this basket.")
    return total, weights


def _book(promotion: PromotionFacts, result, lines: list[_Line], currency: str, coupon_code: str | None) -> PromotionOutcome:
    total, weights = result
    indexes = sorted(weights)
    shares = allocate(
        total, [weights[index] for index in indexes], currency, capacities=[lines[index].remaining for index in indexes]
    )
    for index, share in zip(indexes, shares):
        if share <= 0:
            continue
        line = lines[index]
        line.remaining -= share
        line.discounts.append(LineDiscount(promotion.id, promotion.name, coupon_code, share))
    return PromotionOutcome(
        promotion.id, promotion.name, True, "applied", f"Applied: {total} off.", discount_total=total, coupon_code=coupon_code
    )


def _compute_taxes(lines: list[_Line], context: PricingContext) -> dict[int, list[LineTax]]:
    """Return line index -> LineTax list, rounded by the region's rule."""
    region = context.tax_region
    if region is None or context.tax_exemption_reference:
        return {}
    # NOTE: shipping is not taxed. Regions that tax delivery charges need a tax class for shipping.
    currency = context.currency

    raw: dict[int, list[tuple[TaxRateFacts, Decimal]]] = {}
    for line in lines:
        rates = context.tax_rates.get(line.variant.tax_class_id, ())
        combined = sum((rate.rate for rate in rates), ZERO)
        for rate in rates:
            if context.prices_include_tax:
                amount = line.remaining * rate.rate / (HUNDRED + combined)
            else:
                amount = line.remaining * rate.rate / HUNDRED
            raw.setdefault(line.index, []).append((rate, amount))

    taxes: dict[int, list[LineTax]] = {}
    if region.rounding == "per_document":
        by_rate: dict[int, list[tuple[int, Decimal]]] = {}
        rate_facts = {}
        for index, entries in raw.items():
            for rate, amount in entries:
                by_rate.setdefault(rate.id, []).append((index, amount))
                rate_facts[rate.id] = rate
        for rate_id in sorted(by_rate):
            entries = by_rate[rate_id]
            document_amount = quantize(sum((amount for _, amount in entries), ZERO), currency)
            shares = allocate(document_amount, [amount for _, amount in entries], currency)
            rate = rate_facts[rate_id]
            for (index, _), share in zip(entries, shares):
                taxes.setdefault(index, []).append(LineTax(rate.id, rate.name, rate.rate, share))
        for entries in taxes.values():
            entries.sort(key=lambda tax: tax.rate_id)
    else:
        for index, entries in raw.items():
            taxes[index] = [LineTax(rate.id, rate.name, rate.rate, quantize(amount, currency)) for rate, amount in entries]
    return taxes


def _tax_totals(priced_lines) -> tuple:
    totals: dict[int, TaxTotal] = {}
    for line in priced_lines:
        for tax in line.taxes:
            known = totals.get(tax.rate_id)
            amount = tax.amount + (known.amount if known else ZERO)
            totals[tax.rate_id] = TaxTotal(tax.rate_id, tax.name, tax.rate, amount)
    return tuple(totals[rate_id] for rate_id in sorted(totals))
