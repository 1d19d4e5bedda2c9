"""A small shop with a promotion, a coupon and 23% tax, for carts, checkout and priced register sales."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from catalog.models import Channel
from inventory.models import Location
from loyalty.models import Program
from pricing.models import Coupon, LocationTaxRegion, Promotion, TaxRate, TaxRegion
from tests.factories import ChannelFactory, LocationFactory, VariantFactory, WarehouseFactory

from .conftest import receive

CARTS = "/api/v1/carts/"


@dataclass
class PromoShop:
    web: Channel
    pos: Channel
    warehouse: Location
    store: Location
    region: TaxRegion
    rate: TaxRate
    item: object  # 19.99, 25% off on every channel
    plain: object  # 10.00, no promotion
    promotion: Promotion


def promo_shop(*, tax_percent: str = "23.0000") -> PromoShop:
    """Two SKUs in stock at a warehouse and a store; 25% off SKU PROMO-1 online and at the counter; one tax region
    ("PL", the store's too) with one rate on the standard tax class."""
    web, pos = ChannelFactory(code=Channel.WEB), ChannelFactory(code=Channel.POS)
    warehouse, store = WarehouseFactory(), LocationFactory()
    item = VariantFactory(sku="PROMO-1", price="19.99")
    plain = VariantFactory(sku="PLAIN-1", price="10.00")
    for variant in (item, plain):
        receive(variant, warehouse, 50)
        receive(variant, store, 50)
    region = TaxRegion.objects.create(code="pl", name="Poland", country="PL", state="", rounding="per_line")
    rate = TaxRate.objects.create(
        region=region, tax_class=item.product.tax_class, name="VAT", rate=Decimal(tax_percent), effective_from="2020-01-01"
    )
    LocationTaxRegion.objects.create(location=store, region=region)
    promotion = Promotion.objects.create(name="Quarter off PROMO-1", kind="percentage", scope="items", value=Decimal("25"))
    promotion.variants.set([item])
    return PromoShop(web=web, pos=pos, warehouse=warehouse, store=store, region=region, rate=rate, item=item, plain=plain, promotion=promotion)


def coupon(code: str = "SAVE5", *, amount: str = "5.00", usage_limit: int | None = None) -> Coupon:
    """A coupon for a fixed amount off the whole order."""
    promotion = Promotion.objects.create(
        name=f"{code} order discount", kind="fixed_amount", scope="order", value=Decimal(amount), requires_coupon=True
    )
    return Coupon.objects.create(code=code, promotion=promotion, usage_limit=usage_limit)


def program(**fields) -> Program:
    fields = {"code": "rewards", "name": "Rewards", "points_per_unit": Decimal("1"), "point_value": Decimal("0.01"), **fields}
    return Program.objects.create(**fields)


def checkout(client, token: str, expected_total, **body):
    return client.post(
        f"{CARTS}{token}/checkout/", {"expected_total": str(expected_total), **body}, format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
