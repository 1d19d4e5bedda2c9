"""Small builders for pricing contexts, so that engine tests need no database."""

from datetime import UTC, datetime
from decimal import Decimal

from pricing.basket import Basket, BasketLine, PricingContext, PromotionFacts, TaxRateFacts, TaxRegionFacts, VariantFacts

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHANNEL_ID = 1
STANDARD = 10  # tax class id


def variant(variant_id: int, price: str | None, *, category: str | None = "Food > Dairy", tax_class: int | None = STANDARD, active: bool = True):
    return VariantFacts(
        id=variant_id,
        sku=f"SKU-{variant_id}",
        name=f"Item {variant_id}",
        is_active=active,
        category_path=category,
        tax_class_id=tax_class,
        base_price=Decimal(price) if price is not None else None,
    )


def promotion(promotion_id: int, **fields):
    fields.setdefault("name", f"Promotion {promotion_id}")
    fields.setdefault("kind", "percentage")
    fields.setdefault("scope", "order")
    fields.setdefault("priority", 0)
    fields["value"] = Decimal(str(fields.get("value", "0")))
    return PromotionFacts(id=promotion_id, **fields)


def region(rounding: str = "per_line"):
    return TaxRegionFacts(id=1, code="pl", name="Poland", rounding=rounding)


def rate(rate_id: int, percent: str, *, tax_class: int = STANDARD, name: str = "VAT"):
    return TaxRateFacts(id=rate_id, name=name, rate=Decimal(percent), tax_class_id=tax_class)


def context(
    variants,
    *,
    promotions=(),
    offers=None,
    tax_region=None,
    tax_rates=(),
    exemption=None,
    coupons=None,
    store_id=None,
    customer_id=None,
    include_tax=False,
    currency="USD",
):
    rates_by_class: dict[int, tuple] = {}
    for item in tax_rates:
        rates_by_class[item.tax_class_id] = rates_by_class.get(item.tax_class_id, ()) + (item,)
    return PricingContext(
        at=AT,
        channel_id=CHANNEL_ID,
        channel_code="web",
        currency=currency,
        prices_include_tax=include_tax,
        store_id=store_id,
        customer_id=customer_id,
        variants={item.id: item for item in variants},
        variant_ids_by_sku={item.sku: item.id for item in variants},
        offers=offers or {},
        tax_region=tax_region,
        tax_rates=rates_by_class,
        tax_exemption_reference=exemption,
        promotions=tuple(promotions),
        coupons=coupons or {},
    )


def basket(*lines, coupons=(), shipping="0.00", store_id=None, customer_id=None):
    """Build a basket from (variant id, quantity) pairs or BasketLine objects."""
    basket_lines = tuple(line if isinstance(line, BasketLine) else BasketLine(variant_id=line[0], quantity=line[1]) for line in lines)
    return Basket(
        channel="web", lines=basket_lines, coupon_codes=tuple(coupons), shipping_amount=Decimal(shipping), store_id=store_id, customer_id=customer_id, at=AT
    )
