"""Demo additions on top of the replayed data, so that the online shop has something to sell."""

from django.db import transaction

from catalog.models import Category, Channel, VariantPrice
from inventory.models import Location, StockLevel
from inventory.services import StockLine, stock_receive
from pricing.models import Coupon, Promotion, PromotionKind, PromotionScope
from pricing.services import coupon_create, promotion_save

STOREFRONT_STOCK_REFERENCE = "demo_storefront_stock"
STOREFRONT_UNITS = 24
WELCOME_COUPON = "WELCOME10"
DAIRY_PROMOTION = "Dairy: 15% off"
DAIRY_CATEGORY_PATH = "GROCERY > FLUID MILK PRODUCTS"
BATCH = 1000


def storefront_stock_receive(*, warehouse: Location) -> int:
    """Receive STOREFRONT_UNITS at `warehouse` for each web-priced variant that has no stock level there yet.

    Returns the variants stocked; a second run stocks none.
    """
    stocked = set(StockLevel.objects.filter(location=warehouse).values_list("variant_id", flat=True))
    variant_ids = sorted(
        set(VariantPrice.objects.filter(channel__code=Channel.WEB).values_list("variant_id", flat=True)) - stocked
    )
    for start in range(0, len(variant_ids), BATCH):
        lines = [StockLine(variant_id, warehouse.pk, STOREFRONT_UNITS) for variant_id in variant_ids[start:start + BATCH]]
        with transaction.atomic():
            stock_receive(lines=lines, reference_type=STOREFRONT_STOCK_REFERENCE, reference_id=warehouse.code)
    return len(variant_ids)


@transaction.atomic
def demo_promotions_ensure() -> list[str]:
    """Create the demo's promotions once: 15% off fluid milk (when that category exists) and the WELCOME10 coupon.

    Returns the names of what was created now.
    """
    created = []
    dairy = Category.objects.filter(path=DAIRY_CATEGORY_PATH).first()
    if dairy is not None and not Promotion.objects.filter(name=DAIRY_PROMOTION).exists():
        promotion_save(name=DAIRY_PROMOTION, kind=PromotionKind.PERCENTAGE, scope=PromotionScope.CATEGORIES, value="15", categories=[dairy])
        created.append(DAIRY_PROMOTION)
    if not Coupon.objects.filter(code=WELCOME_COUPON).exists():
        welcome = promotion_save(
            name="Welcome: 10% off the order", kind=PromotionKind.PERCENTAGE, scope=PromotionScope.ORDER, value="10",
            requires_coupon=True,
        )
        coupon_create(code=WELCOME_COUPON, promotion=welcome, per_customer_limit=1)
        created.append(f"coupon {WELCOME_COUPON}")
    return created
