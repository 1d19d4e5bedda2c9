"""pricing_context_load against the database: what it reads, and in how many queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce.errors import ValidationFailed
from pricing.basket import Address, Basket, BasketLine
from pricing.engine import price_basket
from pricing.models import TaxExemption
from pricing.selectors import pricing_context_load
from tests.factories import CategoryFactory, CustomerFactory, LocationFactory, ProductFactory, TaxClassFactory, VariantFactory

from .factories import (
    CouponFactory,
    CustomerGroupFactory,
    LocationTaxRegionFactory,
    PriceListFactory,
    PriceListItemFactory,
    PromotionFactory,
    TaxRateFactory,
    TaxRegionFactory,
)

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(channels):
    store = LocationFactory(code="dallas")
    other_store = LocationFactory(code="austin")
    texas = TaxRegionFactory(code="us-tx", country="US", state="TX", rounding="per_line")
    LocationTaxRegionFactory(location=store, region=texas)
    standard = TaxClassFactory(code="standard")
    TaxRateFactory(region=texas, tax_class=standard, rate=D("6.2500"), name="State sales tax")
    TaxRateFactory(region=texas, tax_class=standard, rate=D("1.0000"), name="Old rate", effective_from="2000-01-01", effective_to="2001-01-01")
    customer = CustomerFactory()
    members = CustomerGroupFactory(code="loyalty", name="Loyalty card members")
    members.members.add(customer)
    return {"web": channels["web"], "pos": channels["pos"], "store": store, "other_store": other_store, "texas": texas, "customer": customer, "members": members}


def test_most_specific_list_wins_end_to_end(shop):
    variant = VariantFactory(price="10.00")
    pos = shop["pos"]
    now = timezone.now()
    PriceListItemFactory(price_list=PriceListFactory(channel=pos, name="Summer", starts_at=now - timedelta(days=1), priority=50), variant=variant, amount=D("6.00"))
    PriceListItemFactory(price_list=PriceListFactory(channel=pos, name="Dallas", location=shop["store"]), variant=variant, amount=D("9.00"))
    PriceListItemFactory(price_list=PriceListFactory(channel=pos, name="Members", customer_group=shop["members"]), variant=variant, amount=D("8.50"))
    PriceListItemFactory(
        price_list=PriceListFactory(channel=pos, name="Dallas members", location=shop["store"], customer_group=shop["members"]), variant=variant, amount=D("8.75")
    )
    PriceListItemFactory(price_list=PriceListFactory(channel=pos, name="Austin", location=shop["other_store"], priority=99), variant=variant, amount=D("1.00"))
    PriceListItemFactory(price_list=PriceListFactory(channel=pos, name="Expired", ends_at=now - timedelta(days=1), priority=99), variant=variant, amount=D("2.00"))

    def price_for(**basket_fields):
        basket = Basket(channel="pos", lines=(BasketLine(variant_id=variant.id, quantity=1),), **basket_fields)
        line = price_basket(basket, pricing_context_load(basket)).lines[0]
        return line.price_list_name, line.unit_price

    assert price_for(store_id=shop["store"].id, customer_id=shop["customer"].id) == ("Dallas members", D("8.75"))
    assert price_for(customer_id=shop["customer"].id) == ("Members", D("8.50"))
    assert price_for(store_id=shop["store"].id) == ("Dallas", D("9.00"))
    assert price_for() == ("Summer", D("6.00"))
    assert price_for(store_id=shop["store"].id, at=now - timedelta(days=2)) == ("Dallas", D("9.00"))


def test_store_sale_taxed_at_store_region(shop):
    variant = VariantFactory(price="100.00", product=ProductFactory(tax_class=TaxClassFactory(code="standard")))
    basket = Basket(channel="pos", lines=(BasketLine(sku=variant.sku, quantity=2),), store_id=shop["store"].id)
    priced = price_basket(basket, pricing_context_load(basket))
    assert priced.tax_region_code == "us-tx"
    assert [(tax.name, tax.amount) for tax in priced.lines[0].taxes] == [("State sales tax", D("12.50"))]
    assert priced.total == D("212.50")


def test_shipping_address_picks_state_region(shop):
    TaxRegionFactory(code="us", name="United States", country="US", state="")
    variant = VariantFactory(price="10.00")
    for state, expected in (("tx", "us-tx"), ("OK", "us")):
        basket = Basket(channel="web", lines=(BasketLine(variant_id=variant.id, quantity=1),), shipping_address=Address("us", state), store_id=shop["store"].id)
        assert price_basket(basket, pricing_context_load(basket)).tax_region_code == expected


def test_exempt_customer_loaded(shop):
    TaxExemption.objects.create(customer=shop["customer"], reference="TX-EX-0042", region=shop["texas"])
    variant = VariantFactory(price="10.00")
    basket = Basket(channel="pos", lines=(BasketLine(variant_id=variant.id, quantity=1),), store_id=shop["store"].id, customer_id=shop["customer"].id)
    priced = price_basket(basket, pricing_context_load(basket))
    assert priced.tax_exemption_reference == "TX-EX-0042"
    assert priced.tax_total == D("0")


def test_category_promotion_loaded_with_paths(shop):
    food = CategoryFactory(name="Food", path="Food")
    milk = CategoryFactory(name="Milk", path="Food > Milk", parent=food)
    variant = VariantFactory(price="4.00", product=ProductFactory(category=milk))
    promotion = PromotionFactory(scope="categories", value=D("25.00"))
    promotion.categories.add(food)
    basket = Basket(channel="web", lines=(BasketLine(variant_id=variant.id, quantity=1),))
    priced = price_basket(basket, pricing_context_load(basket))
    assert priced.discount_total == D("1.00")


def test_unknown_references_rejected(shop):
    variant = VariantFactory()
    line = (BasketLine(variant_id=variant.id, quantity=1),)
    for fields, code in (({"channel": "fax"}, "unknown_channel"), ({"customer_id": 999999}, "unknown_customer"), ({"store_id": 999999}, "unknown_location")):
        fields.setdefault("channel", "pos")
        with pytest.raises(ValidationFailed) as error:
            pricing_context_load(Basket(lines=line, **fields))
        assert error.value.code == code


def _promotions(count, variants, channel, store):
    for index in range(count):
        promotion = PromotionFactory(scope="items" if index % 2 else "order", value=D("1.00"), priority=index)
        promotion.variants.add(*variants[:3])
        promotion.channels.add(channel)
        promotion.locations.add(store)


# Channel, customer groups, variants, price list offers, locations, tax region by address, tax rates,
# exemption, promotions, coupons: one query each, whatever the number of lines and promotions.
FULL_BASKET_QUERIES = 10


@pytest.mark.parametrize(("line_count", "promotion_count"), [(1, 1), (25, 40)])
def test_context_query_count_is_fixed(shop, django_assert_num_queries, line_count, promotion_count):
    variants = [VariantFactory(price="3.00") for _ in range(line_count)]
    price_list = PriceListFactory(channel=shop["pos"], location=shop["store"])
    for variant in variants:
        PriceListItemFactory(price_list=price_list, variant=variant, amount=D("2.50"))
    _promotions(promotion_count, variants, shop["pos"], shop["store"])
    coupon = CouponFactory(code="WELCOME")
    basket = Basket(
        channel="pos",
        lines=tuple(BasketLine(variant_id=variant.id, quantity=2) for variant in variants),
        store_id=shop["store"].id,
        customer_id=shop["customer"].id,
        coupon_codes=("welcome",),
        shipping_address=Address("US", "TX"),
    )
    with django_assert_num_queries(FULL_BASKET_QUERIES):
        context = pricing_context_load(basket)
    with django_assert_num_queries(0):
        priced = price_basket(basket, context)
    assert len(priced.lines) == line_count
    assert len(priced.promotions) == promotion_count + 1
    assert priced.coupon_codes == (coupon.code,)
    assert priced.lines[0].unit_price == D("2.50")
