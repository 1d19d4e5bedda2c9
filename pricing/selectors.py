"""Reads for pricing: the pricing context of a basket, and lookups for the staff API."""

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Channel, Variant, VariantPrice
from commerce.errors import ValidationFailed
from customers.models import Customer
from inventory.models import Location

from .basket import (
    Basket,
    CouponFacts,
    PriceOffer,
    PricingContext,
    PromotionFacts,
    TaxRateFacts,
    TaxRegionFacts,
    VariantFacts,
)
from .engine import (
    SPECIFICITY_CHANNEL,
    SPECIFICITY_GROUP,
    SPECIFICITY_STORE,
    SPECIFICITY_STORE_AND_GROUP,
    normalize_coupon_code,
)
from .models import Coupon, CouponRedemption, CustomerGroup, PriceListItem, Promotion, TaxExemption, TaxRate, TaxRegion


def pricing_context_load(basket: Basket) -> PricingContext:
    """Read every row `price_basket` needs for `basket`.

    The number of queries depends only on which optional parts the basket has (customer, store or pickup
    store, shipping address, coupons), never on the number of lines, price lists or promotions: at most 10.
    Raises ValidationFailed for an unknown channel, customer, store or pickup store.
    """
    at = basket.at or timezone.now()
    channel = _channel_load(basket.channel)

    customer_group_ids: list[int] = []
    if basket.customer_id is not None:
        customer_group_ids = _customer_group_ids_load(basket.customer_id)

    variants, variant_ids_by_sku = _variants_load(basket, channel)
    offers = _offers_load(
        variant_ids=list(variants), channel=channel, store_id=basket.store_id, group_ids=customer_group_ids, at=at
    )

    tax_region = _tax_region_load(basket)
    # NOTE: rates are picked by the date in the server time zone (settings.TIME_ZONE), not the store's.
    tax_rates: dict[int, tuple] = {}
    exemption_reference = None
    if tax_region is not None:
        tax_rates = _tax_rates_load(tax_region.id, timezone.localdate(at))
        if basket.customer_id is not None:
            exemption_reference = _exemption_reference_load(basket.customer_id, tax_region.id, timezone.localdate(at))

    codes = sorted({normalize_coupon_code(code) for code in basket.coupon_codes})
    return PricingContext(
        at=at,
        channel_id=channel.id,
        channel_code=channel.code,
        currency=channel.currency,
        prices_include_tax=channel.prices_include_tax,
        store_id=basket.store_id,
        customer_id=basket.customer_id,
        variants=variants,
        variant_ids_by_sku=variant_ids_by_sku,
        offers=offers,
        tax_region=tax_region,
        tax_rates=tax_rates,
        tax_exemption_reference=exemption_reference,
        promotions=_promotions_load(at),
        coupons=_coupons_load(codes, basket.customer_id) if codes else {},
    )


def _channel_load(code: str) -> Channel:
    channel = Channel.objects.filter(code=code).first()
    if channel is None:
        raise ValidationFailed(
            f"Channel {code!r} does not exist: use one of the channel codes, such as web or pos.",
            code="unknown_channel",
            fields={"channel": [f"Unknown channel {code!r}."]},
        )
    return channel


def _customer_group_ids_load(customer_id: int) -> list[int]:
    """Return the customer's group ids, and check in the same query that the customer exists."""
    groups = ArraySubquery(CustomerGroup.members.through.objects.filter(customer_id=OuterRef("pk")).values("customergroup_id"))
    row = Customer.objects.filter(pk=customer_id).annotate(group_ids=groups).values("group_ids").first()
    if row is None:
        raise ValidationFailed(
            f"Customer {customer_id} does not exist: look the customer up again or sell without one.",
            code="unknown_customer",
            fields={"customer": [f"Unknown customer {customer_id}."]},
        )
    return row["group_ids"]


def _variants_load(basket: Basket, channel: Channel) -> tuple[dict, dict]:
    ids = {line.variant_id for line in basket.lines if line.variant_id is not None}
    skus = {line.sku for line in basket.lines if line.variant_id is None and line.sku is not None}
    if not ids and not skus:
        return {}, {}
    base_price = VariantPrice.objects.filter(variant_id=OuterRef("pk"), channel_id=channel.id).values("amount")[:1]
    rows = (
        Variant.objects.filter(Q(pk__in=ids) | Q(sku__in=skus))
        .annotate(base_price=Subquery(base_price))
        .values("id", "sku", "name", "is_active", "product__name", "product__category__path", "product__tax_class_id", "base_price")
    )
    variants = {}
    for row in rows:
        variants[row["id"]] = VariantFacts(
            id=row["id"],
            sku=row["sku"],
            name=row["name"] or row["product__name"],
            is_active=row["is_active"],
            category_path=row["product__category__path"],
            tax_class_id=row["product__tax_class_id"],
            base_price=row["base_price"],
        )
    return variants, {facts.sku: variant_id for variant_id, facts in variants.items()}


def _specificity(location_id, group_id) -> int:
    if location_id is not None and group_id is not None:
        return SPECIFICITY_STORE_AND_GROUP
    if group_id is not None:
        return SPECIFICITY_GROUP
    if location_id is not None:
        return SPECIFICITY_STORE
    return SPECIFICITY_CHANNEL


def _offers_load(*, variant_ids: list[int], channel: Channel, store_id, group_ids: list[int], at) -> dict:
    if not variant_ids:
        return {}
    store_filter = Q(price_list__location__isnull=True)
    if store_id is not None:
        store_filter |= Q(price_list__location_id=store_id)
    group_filter = Q(price_list__customer_group__isnull=True)
    if group_ids:
        group_filter |= Q(price_list__customer_group_id__in=group_ids)
    rows = (
        PriceListItem.objects.filter(
            store_filter,
            group_filter,
            Q(price_list__starts_at__isnull=True) | Q(price_list__starts_at__lte=at),
            Q(price_list__ends_at__isnull=True) | Q(price_list__ends_at__gt=at),
            variant_id__in=variant_ids,
            price_list__channel_id=channel.id,
            price_list__is_active=True,
        )
        .values(
            "variant_id", "amount", "price_list_id", "price_list__name", "price_list__priority",
            "price_list__location_id", "price_list__customer_group_id",
        )
        .order_by("variant_id", "price_list_id")
    )
    offers: dict[int, list] = {}
    for row in rows:
        offers.setdefault(row["variant_id"], []).append(
            PriceOffer(
                price_list_id=row["price_list_id"],
                price_list_name=row["price_list__name"],
                specificity=_specificity(row["price_list__location_id"], row["price_list__customer_group_id"]),
                priority=row["price_list__priority"],
                amount=row["amount"],
            )
        )
    return {variant_id: tuple(items) for variant_id, items in offers.items()}


def _region_facts(region: TaxRegion) -> TaxRegionFacts:
    return TaxRegionFacts(id=region.id, code=region.code, name=region.name, rounding=region.rounding)


def _tax_region_load(basket: Basket) -> TaxRegionFacts | None:
    """Return the region that taxes the basket: the shipping address's, else the pickup store's, else the store's.

    Checks in the same query that the store and the pickup store exist.
    """
    location_ids = {location_id for location_id in (basket.store_id, basket.pickup_store_id) if location_id is not None}
    locations = {}
    if location_ids:
        locations = {
            location.id: location
            for location in Location.objects.filter(pk__in=location_ids).select_related("tax_region_link__region")
        }
        for label, location_id in (("store", basket.store_id), ("pickup_store", basket.pickup_store_id)):
            if location_id is not None and location_id not in locations:
                raise ValidationFailed(
                    f"{label} {location_id} does not exist: choose one of the stores.",
                    code="unknown_location",
                    fields={label: [f"Unknown location {location_id}."]},
                )

    address = basket.shipping_address
    if address is not None:
        country = address.country.strip().upper()
        state = address.state.strip().upper()
        # A region for the state wins over a region for the whole country (state "").
        region = TaxRegion.objects.filter(country=country, state__in=[state, ""]).order_by("-state").first()
        return _region_facts(region) if region is not None else None

    location_id = basket.pickup_store_id or basket.store_id
    if location_id is None:
        return None
    link = getattr(locations[location_id], "tax_region_link", None)
    return _region_facts(link.region) if link is not None else None


def _tax_rates_load(region_id: int, day) -> dict:
    rows = TaxRate.objects.filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=day), region_id=region_id, effective_from__lte=day
    ).order_by("tax_class_id", "id")
    rates: dict[int, list] = {}
    for rate in rows:
        rates.setdefault(rate.tax_class_id, []).append(
            TaxRateFacts(id=rate.id, name=rate.name, rate=rate.rate, tax_class_id=rate.tax_class_id)
        )
    return {tax_class_id: tuple(items) for tax_class_id, items in rates.items()}


def _exemption_reference_load(customer_id: int, region_id: int, day) -> str | None:
    exemption = (
        TaxExemption.objects.filter(
            Q(region__isnull=True) | Q(region_id=region_id),
            Q(valid_from__isnull=True) | Q(valid_from__lte=day),
            Q(valid_to__isnull=True) | Q(valid_to__gte=day),
            customer_id=customer_id,
            is_active=True,
        )
        .order_by("id")
        .values_list("reference", flat=True)
        .first()
    )
    return exemption


def _promotions_load(at) -> tuple:
    """Return every live promotion: active, started and not ended at `at`, in application order."""
    rows = (
        Promotion.objects.filter(
            Q(starts_at__isnull=True) | Q(starts_at__lte=at),
            Q(ends_at__isnull=True) | Q(ends_at__gt=at),
            is_active=True,
        )
        .annotate(
            variant_ids=ArraySubquery(Promotion.variants.through.objects.filter(promotion_id=OuterRef("pk")).values("variant_id")),
            category_paths=ArraySubquery(
                Promotion.categories.through.objects.filter(promotion_id=OuterRef("pk")).values("category__path")
            ),
            channel_ids=ArraySubquery(Promotion.channels.through.objects.filter(promotion_id=OuterRef("pk")).values("channel_id")),
            location_ids=ArraySubquery(Promotion.locations.through.objects.filter(promotion_id=OuterRef("pk")).values("location_id")),
        )
        .order_by("-priority", "id")
        .values(
            "id", "name", "kind", "scope", "value", "priority", "exclusive", "requires_coupon", "cheapest_unit_only",
            "buy_quantity", "get_quantity", "get_percent", "min_quantity", "min_subtotal",
            "variant_ids", "category_paths", "channel_ids", "location_ids",
        )
    )
    return tuple(
        PromotionFacts(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            scope=row["scope"],
            value=row["value"],
            priority=row["priority"],
            exclusive=row["exclusive"],
            requires_coupon=row["requires_coupon"],
            cheapest_unit_only=row["cheapest_unit_only"],
            buy_quantity=row["buy_quantity"],
            get_quantity=row["get_quantity"],
            get_percent=row["get_percent"],
            min_quantity=row["min_quantity"],
            min_subtotal=row["min_subtotal"],
            variant_ids=frozenset(row["variant_ids"]),
            category_paths=tuple(sorted(row["category_paths"])),
            channel_ids=frozenset(row["channel_ids"]),
            location_ids=frozenset(row["location_ids"]),
        )
        for row in rows
    )


def _coupons_load(codes: list[str], customer_id: int | None) -> dict:
    live_uses = CouponRedemption.objects.filter(coupon_id=OuterRef("pk"), customer_id=customer_id, released_at__isnull=True)
    customer_uses = Value(0, output_field=IntegerField())
    if customer_id is not None:
        customer_uses = Coalesce(
            Subquery(live_uses.values("coupon_id").annotate(uses=Count("id")).values("uses")[:1], output_field=IntegerField()),
            0,
        )
    rows = (
        Coupon.objects.filter(code__in=codes)
        .annotate(
            customer_uses=customer_uses,
            channel_ids=ArraySubquery(
                Promotion.channels.through.objects.filter(promotion_id=OuterRef("promotion_id")).values("channel_id")
            ),
            location_ids=ArraySubquery(
                Promotion.locations.through.objects.filter(promotion_id=OuterRef("promotion_id")).values("location_id")
            ),
        )
        .values(
            "id", "code", "promotion_id", "is_active", "promotion__is_active", "promotion__starts_at", "promotion__ends_at",
            "usage_limit", "per_customer_limit", "times_used", "customer_uses", "channel_ids", "location_ids",
        )
    )
    return {
        row["code"]: CouponFacts(
            id=row["id"],
            code=row["code"],
            promotion_id=row["promotion_id"],
            is_active=row["is_active"],
            promotion_is_active=row["promotion__is_active"],
            starts_at=row["promotion__starts_at"],
            ends_at=row["promotion__ends_at"],
            usage_limit=row["usage_limit"],
            per_customer_limit=row["per_customer_limit"],
            times_used=row["times_used"],
            customer_uses=row["customer_uses"],
            channel_ids=frozenset(row["channel_ids"]),
            location_ids=frozenset(row["location_ids"]),
        )
        for row in rows
    }


def coupon_redemptions_for_order(order_reference: str):
    return CouponRedemption.objects.filter(order_reference=order_reference).select_related("coupon").order_by("id")

