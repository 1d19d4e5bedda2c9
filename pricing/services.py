"""Every write of pricing data: price lists, promotions, coupons and their redemptions, tax set-up.

Each function runs in its own transaction (nested in the caller's when there is one) and raises
commerce.errors domain exceptions, so nothing is written when the input is bad.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Category, Channel, TaxClass, Variant
from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.money import parse_amount
from customers.models import Customer
from inventory.models import Location

from .engine import MAX_PRICE, normalize_coupon_code
from .models import (
    Coupon,
    CouponRedemption,
    CustomerGroup,
    LocationTaxRegion,
    PriceList,
    PriceListItem,
    Promotion,
    PromotionKind,
    PromotionScope,
    TaxExemption,
    TaxRate,
    TaxRegion,
    TaxRounding,
)

logger = logging.getLogger(__name__)

# Lock namespace for pg_advisory_xact_lock(namespace, channel id): price list saves on one channel run one at a time.
PRICE_LIST_LOCK_NAMESPACE = 7301


def price_parse(value, *, field: str, currency: str, allow_zero: bool = True) -> Decimal:
    """Parse a price or discount amount: not negative, at most MAX_PRICE, no more decimals than the currency has."""
    if isinstance(value, float):
        raise ValidationFailed(
            f"{field} {value!r} was sent as a binary float: send a decimal string such as \"12.50\".",
            code="invalid_amount",
            fields={field: ["Send a decimal string."]},
        )
    amount = parse_amount(value, field=field, currency=currency, allow_zero=allow_zero)
    if amount > MAX_PRICE:
        raise ValidationFailed(
            f"{field} {value} is larger than the maximum {MAX_PRICE}: check the amount.",
            code="amount_too_large",
            fields={field: [f"At most {MAX_PRICE}."]},
        )
    return amount


def _check_period(starts_at, ends_at, *, start_field: str = "starts_at", end_field: str = "ends_at") -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ValidationFailed(
            f"{end_field} {ends_at.isoformat()} is not after {start_field} {starts_at.isoformat()}: "
            f"set an end after the start, or leave it empty.",
            code="invalid_period",
            fields={end_field: [f"Must be after {start_field}."]},
        )


def _check_name(name: str, *, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(f"{field} is missing: give it a name.", code="required", fields={field: ["Required."]})
    return name


# Price lists.


@dataclass(frozen=True)
class PriceListEntry:
    variant: Variant
    amount: object  # a decimal string or Decimal, checked by price_list_save


def price_list_overlap_check(
    *,
    price_list_id: int | None,
    name: str,
    channel_id: int,
    location_id: int | None,
    customer_group_id: int | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    priority: int,
    amounts: dict[int, Decimal],
) -> None:
    """Raise Conflict when another active list that can apply to the same sale gives a variant a different price.

    Such a list has the same channel, store, customer group and priority, and a period that overlaps.
    Lists for two different groups are not compared: a customer in both gets the lower price, by the
    engine's rule.
    """
    if not amounts:
        return
    others = PriceList.objects.filter(channel_id=channel_id, priority=priority, is_active=True)
    others = others.filter(location__isnull=True) if location_id is None else others.filter(location_id=location_id)
    if customer_group_id is None:
        others = others.filter(customer_group__isnull=True)
    else:
        others = others.filter(customer_group_id=customer_group_id)
    if ends_at is not None:
        others = others.filter(Q(starts_at__isnull=True) | Q(starts_at__lt=ends_at))
    if starts_at is not None:
        others = others.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=starts_at))
    if price_list_id is not None:
        others = others.exclude(pk=price_list_id)

    clashes = (
        PriceListItem.objects.filter(price_list__in=others, variant_id__in=list(amounts))
        .select_related("price_list", "variant")
        .order_by("price_list_id", "variant_id")
    )
    for item in clashes:
        if item.amount != amounts[item.variant_id]:
            message = (
                f"Price lists {name!r} and {item.price_list.name!r} (id {item.price_list_id}) overlap with the same "
                f"store, customer group and priority {priority}, and price SKU {item.variant.sku} at "
                f"{amounts[item.variant_id]} and {item.amount}: change the priority or the dates of one of them, "
                f"or give both the same price."
            )
            raise Conflict(message, code="price_list_overlap", fields={"items": [message]})


@transaction.atomic
def price_list_save(
    *,
    price_list: PriceList | None = None,
    name: str,
    channel: Channel,
    location: Location | None = None,
    customer_group: CustomerGroup | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    priority: int = 0,
    is_active: bool = True,
    items: list[PriceListEntry] | None = None,
) -> PriceList:
    """Create or update a price list; `items`, when given, replace the list's items.

    Locks the channel's price lists (an advisory lock) so that two saves cannot both pass the overlap check.
    Raises ValidationFailed for a bad price, period or duplicate SKU, Conflict for an overlapping list.
    """
    name = _check_name(name)
    _check_period(starts_at, ends_at)
    if location is not None and location.kind != Location.STORE:
        raise ValidationFailed(
            f"Location {location.code} is a {location.kind}, not a store: price lists target stores.",
            code="not_a_store",
            fields={"location": ["Must be a store."]},
        )

    amounts: dict[int, Decimal] = {}
    variants: dict[int, Variant] = {}
    for index, entry in enumerate(items or []):
        amount = price_parse(entry.amount, field=f"items.{index}.amount", currency=channel.currency)
        if entry.variant.id in amounts:
            raise ValidationFailed(
                f"SKU {entry.variant.sku} is listed twice: keep one price per SKU.",
                code="duplicate_sku",
                fields={f"items.{index}.sku": [f"SKU {entry.variant.sku} is listed twice."]},
            )
        amounts[entry.variant.id] = amount
        variants[entry.variant.id] = entry.variant
    if items is None and price_list is not None:
        amounts = dict(price_list.items.values_list("variant_id", "amount"))

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PRICE_LIST_LOCK_NAMESPACE, channel.id])
    if is_active:
        price_list_overlap_check(
            price_list_id=price_list.pk if price_list else None,
            name=name,
            channel_id=channel.id,
            location_id=location.id if location else None,
            customer_group_id=customer_group.id if customer_group else None,
            starts_at=starts_at,
            ends_at=ends_at,
            priority=priority,
            amounts=amounts,
        )

    price_list = price_list or PriceList()
    price_list.name = name
    price_list.channel = channel
    price_list.location = location
    price_list.customer_group = customer_group
    price_list.starts_at = starts_at
    price_list.ends_at = ends_at
    price_list.priority = priority
    price_list.is_active = is_active
    price_list.save()
    if items is not None:
        price_list.items.all().delete()
        PriceListItem.objects.bulk_create(
            PriceListItem(price_list=price_list, variant=variants[variant_id], amount=amount)
            for variant_id, amount in amounts.items()
        )
    return price_list


@transaction.atomic
def customer_group_save(*, group: CustomerGroup | None = None, code: str, name: str, members: list[Customer] | None = None) -> CustomerGroup:
    group = group or CustomerGroup()
    group.code = _check_name(code, field="code")
    group.name = _check_name(name)
    group.save()
    if members is not None:
        group.members.set(members)
    return group


# Promotions and coupons.


def promotion_rule_check(
    *,
    name: str,
    kind: str,
    scope: str,
    value,
    currency: str,
    buy_quantity: int,
    get_quantity: int,
    get_percent,
    min_quantity: int,
    min_subtotal,
    has_variants: bool,
    has_categories: bool,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> dict:
    """Check that a promotion's rule is complete and its amounts sane; return the parsed name and amounts.

    Amounts are checked against `currency`. Raises ValidationFailed naming the first bad field.
    """
    name = _check_name(name)
    if kind not in PromotionKind.values:
        raise ValidationFailed(
            f"kind {kind!r} is unknown: use one of {', '.join(PromotionKind.values)}.", code="invalid_choice", fields={"kind": ["Unknown kind."]}
        )
    if scope not in PromotionScope.values:
        raise ValidationFailed(
            f"scope {scope!r} is unknown: use one of {', '.join(PromotionScope.values)}.", code="invalid_choice", fields={"scope": ["Unknown scope."]}
        )
    _check_period(starts_at, ends_at)
    value = price_parse(value, field="value", currency=currency)
    min_subtotal = price_parse(min_subtotal, field="min_subtotal", currency=currency)
    get_percent = price_parse(get_percent, field="get_percent", currency=currency)

    if kind == PromotionKind.PERCENTAGE and not Decimal(0) < value <= 100:
        raise ValidationFailed(
            f"value {value} is not a percentage from 0.01 to 100.", code="invalid_percentage", fields={"value": ["From 0.01 to 100."]}
        )
    if kind == PromotionKind.FIXED_AMOUNT and value <= 0:
        raise ValidationFailed("value must be more than 0 for a fixed amount off.", code="invalid_amount", fields={"value": ["More than 0."]})
    if kind == PromotionKind.BUY_X_GET_Y:
        if buy_quantity < 1 or get_quantity < 1:
            raise ValidationFailed(
                f"Buy X get Y needs buy_quantity and get_quantity of at least 1, got {buy_quantity} and {get_quantity}.",
                code="invalid_quantity",
                fields={"buy_quantity": ["At least 1."], "get_quantity": ["At least 1."]},
            )
        if not Decimal(0) < get_percent <= 100:
            raise ValidationFailed(
                f"get_percent {get_percent} is not a percentage from 0.01 to 100.", code="invalid_percentage", fields={"get_percent": ["From 0.01 to 100."]}
            )
    if scope == PromotionScope.ITEMS and not has_variants:
        raise ValidationFailed("A promotion on items needs at least one variant.", code="required", fields={"variants": ["Required."]})
    if scope == PromotionScope.CATEGORIES and not has_categories:
        raise ValidationFailed("A promotion on categories needs at least one category.", code="required", fields={"categories": ["Required."]})
    for field_name, number in (("buy_quantity", buy_quantity), ("get_quantity", get_quantity), ("min_quantity", min_quantity)):
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 1_000_000:
            raise ValidationFailed(
                f"{field_name} {number!r} is not a whole number from 0 to 1000000.", code="invalid_quantity", fields={field_name: ["0 to 1000000."]}
            )
    return {"name": name, "value": value, "get_percent": get_percent, "min_subtotal": min_subtotal}


@transaction.atomic
def promotion_save(
    *,
    promotion: Promotion | None = None,
    name: str,
    kind: str,
    scope: str,
    value="0",
    currency: str = "USD",
    cheapest_unit_only: bool = False,
    buy_quantity: int = 0,
    get_quantity: int = 0,
    get_percent="100",
    min_quantity: int = 0,
    min_subtotal="0",
    variants: list[Variant] | None = None,
    categories: list[Category] | None = None,
    channels: list[Channel] | None = None,
    locations: list[Location] | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    priority: int = 0,
    exclusive: bool = False,
    requires_coupon: bool = False,
    is_active: bool = True,
) -> Promotion:
    """Create or update a promotion after promotion_rule_check; `currency` is what its amounts are checked against."""
    checked = promotion_rule_check(
        name=name, kind=kind, scope=scope, value=value, currency=currency, buy_quantity=buy_quantity,
        get_quantity=get_quantity, get_percent=get_percent, min_quantity=min_quantity, min_subtotal=min_subtotal,
        has_variants=bool(variants), has_categories=bool(categories), starts_at=starts_at, ends_at=ends_at,
    )
    name, value, get_percent, min_subtotal = checked["name"], checked["value"], checked["get_percent"], checked["min_subtotal"]

    promotion = promotion or Promotion()
    for attribute, attribute_value in {
        "name": name, "kind": kind, "scope": scope, "value": value, "cheapest_unit_only": cheapest_unit_only,
        "buy_quantity": buy_quantity, "get_quantity": get_quantity, "get_percent": get_percent,
        "min_quantity": min_quantity, "min_subtotal": min_subtotal, "starts_at": starts_at, "ends_at": ends_at,
        "priority": priority, "exclusive": exclusive, "requires_coupon": requires_coupon, "is_active": is_active,
    }.items():
        setattr(promotion, attribute, attribute_value)
    promotion.save()
    promotion.variants.set(variants if scope == PromotionScope.ITEMS else [])
    promotion.categories.set(categories if scope == PromotionScope.CATEGORIES else [])
    promotion.channels.set(channels or [])
    promotion.locations.set(locations or [])
    return promotion


@transaction.atomic
def coupon_create(*, code: str, promotion: Promotion, usage_limit: int | None = None, per_customer_limit: int | None = None) -> Coupon:
    """Create a coupon for `promotion`, which is marked as needing its coupon. Codes are stored upper-case."""
    code = normalize_coupon_code(code or "")
    if not code or len(code) > 64 or not all(character.isalnum() or character in "-_" for character in code):
        raise ValidationFailed(
            f"Coupon code {code!r} is invalid: use 1 to 64 letters, digits, '-' or '_'.",
            code="invalid_coupon_code",
            fields={"code": ["1 to 64 letters, digits, '-' or '_'."]},
        )
    for field_name, limit in (("usage_limit", usage_limit), ("per_customer_limit", per_customer_limit)):
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValidationFailed(
                f"{field_name} {limit!r} is invalid: send a whole number of at least 1, or nothing for no limit.",
                code="invalid_limit",
                fields={field_name: ["At least 1."]},
            )
    if Coupon.objects.filter(code=code).exists():
        raise Conflict(f"Coupon code {code} already exists: choose another code.", code="coupon_code_taken", fields={"code": ["Taken."]})
    if not promotion.requires_coupon:
        Promotion.objects.filter(pk=promotion.pk).update(requires_coupon=True)
        promotion.requires_coupon = True
    return Coupon.objects.create(code=code, promotion=promotion, usage_limit=usage_limit, per_customer_limit=per_customer_limit)


def _coupon_use_increment(code: str) -> int:
    """Add one use to an active coupon below its limit; return 1 when it did, 0 otherwise.

    It is one UPDATE on the coupon table alone, because a queryset filter across the promotion join
    compiles to `WHERE id IN (subquery)`. PostgreSQL does not re-check a subquery's conditions against
    the row version a concurrent transaction just committed, so that form could pass the limit.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pricing_coupon SET times_used = times_used + 1 "
            "WHERE code = %s AND is_active AND (usage_limit IS NULL OR times_used < usage_limit) "
            "AND EXISTS (SELECT 1 FROM pricing_promotion WHERE pricing_promotion.id = pricing_coupon.promotion_id "
            "AND pricing_promotion.is_active)",
            [code],
        )
        return cursor.rowcount


class CouponUnavailable(Conflict):
    code = "coupon_used_up"


@transaction.atomic
def coupon_redeem(*, codes, customer: Customer | None, order_reference: str) -> list[CouponRedemption]:
    """Record one use of each coupon in `codes` for the order `order_reference`.

    Each coupon's counter goes up by a conditional UPDATE that only matches while the coupon is active
    and below its usage limit, so concurrent checkouts can never redeem more than the limit. The UPDATE
    locks the coupon row until the caller's transaction ends. Coupons are updated in code order, so two
    orders with the same coupons cannot deadlock. The per-customer limit is counted after that lock.
    Call it inside the transaction that creates the order, so that a failed order releases nothing.

    Raises NotFound for an unknown code, Conflict (coupon_used_up, coupon_inactive, coupon_customer_limit,
    coupon_already_redeemed) otherwise. The caller should have priced the basket with the same coupons.
    """
    order_reference = (order_reference or "").strip()
    if not order_reference:
        raise ValidationFailed("order_reference is missing: pass the order number.", code="required", fields={"order_reference": ["Required."]})
    redemptions = []
    for code in sorted({normalize_coupon_code(code) for code in codes}):
        updated = _coupon_use_increment(code)
        if updated == 0:
            coupon = Coupon.objects.filter(code=code).select_related("promotion").first()
            if coupon is None:
                raise NotFound(f"Coupon {code} does not exist: remove it from the order.", code="coupon_not_found", fields={"coupon_codes": [code]})
            if not coupon.is_active or not coupon.promotion.is_active:
                raise Conflict(f"Coupon {code} is no longer active: remove it from the order.", code="coupon_inactive", fields={"coupon_codes": [code]})
            logger.warning("Coupon %s used up (limit %s) for order %s", code, coupon.usage_limit, order_reference)
            raise CouponUnavailable(
                f"Coupon {code} has been used up ({coupon.usage_limit} uses): remove it and price the order again.",
                fields={"coupon_codes": [code]},
            )
        coupon = Coupon.objects.select_related("promotion").get(code=code)
        now = timezone.now()
        promotion = coupon.promotion
        if (promotion.starts_at and now < promotion.starts_at) or (promotion.ends_at and now >= promotion.ends_at):
            raise Conflict(f"Coupon {code} is not valid at this time: remove it from the order.", code="coupon_expired", fields={"coupon_codes": [code]})
        if coupon.per_customer_limit is not None:
            if customer is None:
                raise Conflict(
                    f"Coupon {code} is limited per customer: attach the customer to the order.",
                    code="coupon_needs_customer",
                    fields={"coupon_codes": [code]},
                )
            uses = CouponRedemption.objects.filter(coupon=coupon, customer=customer, released_at__isnull=True).count()
            if uses >= coupon.per_customer_limit:
                raise Conflict(
                    f"Coupon {code} was already used {uses} times by this customer, the limit is {coupon.per_customer_limit}.",
                    code="coupon_customer_limit",
                    fields={"coupon_codes": [code]},
                )
        if CouponRedemption.objects.filter(coupon=coupon, order_reference=order_reference, released_at__isnull=True).exists():
            raise Conflict(
                f"Coupon {code} is already redeemed on order {order_reference}.", code="coupon_already_redeemed", fields={"coupon_codes": [code]}
            )
        redemptions.append(CouponRedemption.objects.create(coupon=coupon, customer=customer, order_reference=order_reference))
    return redemptions


@transaction.atomic
def coupon_redemptions_release(*, order_reference: str) -> int:
    """Release the live redemptions of a cancelled order and give their uses back. Safe to call twice.

    Returns how many redemptions were released.
    """
    released = 0
    now = timezone.now()
    live = CouponRedemption.objects.filter(order_reference=order_reference, released_at__isnull=True).order_by("coupon_id", "id")
    for redemption in live.select_for_update():
        CouponRedemption.objects.filter(pk=redemption.pk).update(released_at=now)
        Coupon.objects.filter(pk=redemption.coupon_id, times_used__gt=0).update(times_used=F("times_used") - 1)
        released += 1
    return released


# Tax set-up.


@transaction.atomic
def tax_region_save(*, region: TaxRegion | None = None, code: str, name: str, country: str, state: str = "", rounding: str = TaxRounding.PER_LINE) -> TaxRegion:
    code = _check_name(code, field="code")
    name = _check_name(name)
    country = (country or "").strip().upper()
    state = (state or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ValidationFailed(f"country {country!r} is not a two-letter ISO code such as US.", code="invalid_country", fields={"country": ["Two letters."]})
    if rounding not in TaxRounding.values:
        raise ValidationFailed(
            f"rounding {rounding!r} is unknown: use per_line or per_document.", code="invalid_choice", fields={"rounding": ["per_line or per_document."]}
        )
    clash = TaxRegion.objects.filter(Q(code=code) | Q(country=country, state=state))
    if region is not None:
        clash = clash.exclude(pk=region.pk)
    if clash.exists():
        raise Conflict(
            f"A tax region with code {code} or for {country} {state or '(whole country)'} already exists: edit that one.",
            code="tax_region_exists",
        )
    region = region or TaxRegion()
    region.code, region.name, region.country, region.state, region.rounding = code, name, country, state, rounding
    region.save()
    return region


def tax_rate_check(
    *, rate_id: int | None, region: TaxRegion, tax_class: TaxClass, name: str, percent, effective_from: date, effective_to: date | None
) -> tuple[str, Decimal]:
    """Check a rate: a percent from 0 to 100 with at most 4 decimals, an end not before its start, and no other
    rate of the same name, region and tax class over overlapping dates. Return the name and percent."""
    name = _check_name(name)
    if isinstance(percent, float):
        raise ValidationFailed(f"rate {percent!r} was sent as a binary float: send a decimal string such as \"8.25\".", code="invalid_rate", fields={"rate": ["Decimal string."]})
    try:
        percent = Decimal(str(percent).strip())
    except ArithmeticError:
        raise ValidationFailed(f"rate {percent!r} is not a number.", code="invalid_rate", fields={"rate": ["Not a number."]}) from None

    if not percent.is_finite() or not 0 <= percent <= 100 or percent != percent.quantize(Decimal("0.0001")):
        raise ValidationFailed(
            f"rate {percent} is not a percent from 0 to 100 with at most 4 decimals.", code="invalid_rate", fields={"rate": ["0 to 100, 4 decimals."]}
        )
    if effective_to is not None and effective_to < effective_from:
        raise ValidationFailed(
            f"effective_to {effective_to} is before effective_from {effective_from}: set a later end or leave it empty.",
            code="invalid_period",
            fields={"effective_to": ["Must not be before effective_from."]},
        )

    overlapping = TaxRate.objects.filter(region=region, tax_class=tax_class, name=name).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=effective_from)
    )
    if effective_to is not None:
        overlapping = overlapping.filter(effective_from__lte=effective_to)
    if rate_id is not None:
        overlapping = overlapping.exclude(pk=rate_id)
    other = overlapping.first()
    if other is not None:
        raise Conflict(
            f"Rate {name!r} for {tax_class.code} in {region.code} already applies from {other.effective_from}"
            f"{' to ' + str(other.effective_to) if other.effective_to else ''}: end that rate first.",
            code="tax_rate_overlap",
        )
    return name, percent


@transaction.atomic
def tax_rate_save(
    *, rate: TaxRate | None = None, region: TaxRegion, tax_class: TaxClass, name: str, percent, effective_from: date, effective_to: date | None = None
) -> TaxRate:
    """Create or update a rate after tax_rate_check."""
    name, percent = tax_rate_check(
        rate_id=rate.pk if rate else None, region=region, tax_class=tax_class, name=name, percent=percent,
        effective_from=effective_from, effective_to=effective_to,
    )
    rate = rate or TaxRate()
    rate.region, rate.tax_class, rate.name, rate.rate = region, tax_class, name, percent
    rate.effective_from, rate.effective_to = effective_from, effective_to
    rate.save()
    return rate


@transaction.atomic
def location_tax_region_set(*, location: Location, region: TaxRegion) -> LocationTaxRegion:
    link, _ = LocationTaxRegion.objects.update_or_create(location=location, defaults={"region": region})
    return link


@transaction.atomic
def tax_exemption_save(
    *, customer: Customer, reference: str, region: TaxRegion | None = None, valid_from: date | None = None, valid_to: date | None = None
) -> TaxExemption:
    reference = _check_name(reference, field="reference")
    if valid_from and valid_to and valid_to < valid_from:
        raise ValidationFailed(f"valid_to {valid_to} is before valid_from {valid_from}.", code="invalid_period", fields={"valid_to": ["Before valid_from."]})
    return TaxExemption.objects.create(customer=customer, reference=reference, region=region, valid_from=valid_from, valid_to=valid_to)

