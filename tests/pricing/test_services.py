"""Writes: price list validation and overlap, promotions, coupons and their redemptions, tax set-up."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from commerce.errors import Conflict, NotFound, ValidationFailed
from pricing.models import Coupon, CouponRedemption, PriceList, PriceListItem, Promotion, TaxRate
from pricing.services import (
    PriceListEntry,
    coupon_create,
    coupon_redeem,
    coupon_redemptions_release,
    price_list_save,
    promotion_save,
    tax_rate_save,
    tax_region_save,
)
from tests.factories import CustomerFactory, TaxClassFactory, VariantFactory, WarehouseFactory

from .factories import CouponFactory, CustomerGroupFactory, PromotionFactory, TaxRegionFactory

pytestmark = pytest.mark.django_db

JUNE = datetime(2026, 6, 1, tzinfo=UTC)
JULY = datetime(2026, 7, 1, tzinfo=UTC)
AUGUST = datetime(2026, 8, 1, tzinfo=UTC)


# Price lists.


@pytest.mark.parametrize(
    ("amount", "code"),
    [("-0.01", "negative_amount"), ("1000000000.00", "amount_too_large"), ("9.999", "too_many_decimals"), ("ten", "invalid_amount")],
)
def test_price_list_bad_amount_writes_nothing(channels, amount, code):
    variant = VariantFactory()
    with pytest.raises(ValidationFailed) as error:
        price_list_save(name="Bad", channel=channels["web"], items=[PriceListEntry(variant, amount)])
    assert error.value.code == code
    assert amount in error.value.message
    assert PriceList.objects.count() == 0
    assert PriceListItem.objects.count() == 0


def test_price_list_accepts_maximum_price(channels):
    variant = VariantFactory()
    price_list = price_list_save(name="Max", channel=channels["web"], items=[PriceListEntry(variant, "999999999.99")])
    assert str(price_list.items.get().amount) == "999999999.99"


def test_price_list_ends_before_start_rejected(channels):
    with pytest.raises(ValidationFailed) as error:
        price_list_save(name="Backwards", channel=channels["web"], starts_at=JULY, ends_at=JUNE)
    assert error.value.code == "invalid_period"
    assert PriceList.objects.count() == 0


def test_price_list_rejects_warehouse(channels):
    with pytest.raises(ValidationFailed) as error:
        price_list_save(name="Depot", channel=channels["pos"], location=WarehouseFactory())
    assert error.value.code == "not_a_store"


def test_price_list_duplicate_sku_rejected(channels):
    variant = VariantFactory()
    with pytest.raises(ValidationFailed) as error:
        price_list_save(name="Twice", channel=channels["web"], items=[PriceListEntry(variant, "1.00"), PriceListEntry(variant, "2.00")])
    assert error.value.code == "duplicate_sku"


def test_overlapping_lists_with_different_prices_rejected(channels):
    variant = VariantFactory()
    group = CustomerGroupFactory()
    price_list_save(name="June sale", channel=channels["web"], customer_group=group, starts_at=JUNE, ends_at=AUGUST, items=[PriceListEntry(variant, "8.00")])
    with pytest.raises(Conflict) as error:
        price_list_save(name="July sale", channel=channels["web"], customer_group=group, starts_at=JULY, items=[PriceListEntry(variant, "7.00")])
    assert error.value.code == "price_list_overlap"
    assert "June sale" in error.value.message
    assert "July sale" in error.value.message
    assert variant.sku in error.value.message
    assert PriceList.objects.count() == 1


def test_non_overlapping_or_distinct_lists_allowed(channels):
    variant = VariantFactory()
    web = channels["web"]
    price_list_save(name="June", channel=web, starts_at=JUNE, ends_at=JULY, items=[PriceListEntry(variant, "8.00")])
    price_list_save(name="July", channel=web, starts_at=JULY, ends_at=AUGUST, items=[PriceListEntry(variant, "7.00")])
    price_list_save(name="Higher priority", channel=web, starts_at=JUNE, priority=5, items=[PriceListEntry(variant, "6.00")])
    price_list_save(name="Same price", channel=web, starts_at=JUNE, ends_at=JULY, items=[PriceListEntry(variant, "8.00")])
    price_list_save(name="Inactive", channel=web, is_active=False, items=[PriceListEntry(variant, "1.00")])
    assert PriceList.objects.count() == 5


def test_price_list_update_replaces_items(channels):
    first, second = VariantFactory(), VariantFactory()
    price_list = price_list_save(name="Store", channel=channels["web"], items=[PriceListEntry(first, "1.00")])
    price_list_save(price_list=price_list, name="Store", channel=channels["web"], priority=3, items=[PriceListEntry(second, "2.00")])
    price_list.refresh_from_db()
    assert price_list.priority == 3
    assert list(price_list.items.values_list("variant_id", "amount")) == [(second.id, Decimal("2.00"))]


# Promotions.


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kind": "percentage", "value": "120"}, "invalid_percentage"),
        ({"kind": "percentage", "value": "-5"}, "negative_amount"),
        ({"kind": "fixed_amount", "value": "0"}, "invalid_amount"),
        ({"kind": "fixed_amount", "value": "1.005"}, "too_many_decimals"),
        ({"kind": "buy_x_get_y", "buy_quantity": 0, "get_quantity": 1}, "invalid_quantity"),
        ({"kind": "percentage", "value": "10", "scope": "items"}, "required"),
        ({"kind": "percentage", "value": "10", "starts_at": JULY, "ends_at": JUNE}, "invalid_period"),
        ({"kind": "bogus", "value": "10"}, "invalid_choice"),
    ],
)
def test_promotion_bad_input_rejected(fields, code):
    fields.setdefault("scope", "order")
    with pytest.raises(ValidationFailed) as error:
        promotion_save(name="Bad", **fields)
    assert error.value.code == code
    assert Promotion.objects.count() == 0


def test_promotion_saved_with_targets(channels):
    variant = VariantFactory()
    promotion = promotion_save(name="3 for 2", kind="buy_x_get_y", scope="items", buy_quantity=2, get_quantity=1, variants=[variant], channels=[channels["pos"]])
    assert list(promotion.variants.all()) == [variant]
    assert list(promotion.channels.all()) == [channels["pos"]]
    assert promotion.get_percent == 100


# Coupons.


def test_coupon_create_normalizes_and_rejects_duplicates():
    promotion = PromotionFactory()
    coupon = coupon_create(code=" summer-10 ", promotion=promotion, usage_limit=5)
    assert coupon.code == "SUMMER-10"
    promotion.refresh_from_db()
    assert promotion.requires_coupon is True
    with pytest.raises(Conflict):
        coupon_create(code="summer-10", promotion=promotion)
    with pytest.raises(ValidationFailed) as error:
        coupon_create(code="no spaces", promotion=promotion)
    assert error.value.code == "invalid_coupon_code"


def test_coupon_redeem_counts_and_limits():
    customer = CustomerFactory()
    coupon = CouponFactory(code="ONCE", usage_limit=1)
    redemptions = coupon_redeem(codes=["once"], customer=customer, order_reference="W-1001")
    assert [redemption.order_reference for redemption in redemptions] == ["W-1001"]
    coupon.refresh_from_db()
    assert coupon.times_used == 1
    with pytest.raises(Conflict) as error:
        coupon_redeem(codes=["ONCE"], customer=customer, order_reference="W-1002")
    assert error.value.code == "coupon_used_up"
    assert "ONCE" in error.value.message
    assert CouponRedemption.objects.count() == 1


def test_coupon_per_customer_limit():
    customer = CustomerFactory()
    CouponFactory(code="TWICE", per_customer_limit=2)
    coupon_redeem(codes=["TWICE"], customer=customer, order_reference="W-1")
    coupon_redeem(codes=["TWICE"], customer=customer, order_reference="W-2")
    with pytest.raises(Conflict) as error:
        coupon_redeem(codes=["TWICE"], customer=customer, order_reference="W-3")
    assert error.value.code == "coupon_customer_limit"
    assert Coupon.objects.get(code="TWICE").times_used == 2
    coupon_redeem(codes=["TWICE"], customer=CustomerFactory(), order_reference="W-4")
    assert Coupon.objects.get(code="TWICE").times_used == 3


def test_coupon_redeem_unknown_code():
    with pytest.raises(NotFound) as error:
        coupon_redeem(codes=["GHOST"], customer=None, order_reference="W-1")
    assert "GHOST" in error.value.message


def test_release_gives_use_back_once():
    CouponFactory(code="ONCE", usage_limit=1)
    coupon_redeem(codes=["ONCE"], customer=None, order_reference="W-1")
    assert coupon_redemptions_release(order_reference="W-1") == 1
    assert coupon_redemptions_release(order_reference="W-1") == 0
    assert Coupon.objects.get(code="ONCE").times_used == 0
    coupon_redeem(codes=["ONCE"], customer=None, order_reference="W-2")
    assert Coupon.objects.get(code="ONCE").times_used == 1
    assert CouponRedemption.objects.filter(released_at__isnull=True).count() == 1


# Tax set-up.


def test_tax_region_and_rate_validation():
    region = tax_region_save(code="us-ca", name="California", country="us", state="ca", rounding="per_document")
    assert (region.country, region.state) == ("US", "CA")
    with pytest.raises(Conflict):
        tax_region_save(code="us-ca-2", name="California again", country="US", state="CA")
    with pytest.raises(ValidationFailed):
        tax_region_save(code="x", name="X", country="USA")

    standard = TaxClassFactory()
    tax_rate_save(region=region, tax_class=standard, name="State", percent="7.25", effective_from=date(2020, 1, 1), effective_to=date(2025, 12, 31))
    for percent, code in (("101", "invalid_rate"), ("7.12345", "invalid_rate"), ("abc", "invalid_rate")):
        with pytest.raises(ValidationFailed) as error:
            tax_rate_save(region=region, tax_class=standard, name="Other", percent=percent, effective_from=date(2020, 1, 1))
        assert error.value.code == code
    with pytest.raises(Conflict) as error:
        tax_rate_save(region=region, tax_class=standard, name="State", percent="7.50", effective_from=date(2025, 6, 1))
    assert error.value.code == "tax_rate_overlap"
    tax_rate_save(region=region, tax_class=standard, name="State", percent="7.50", effective_from=date(2026, 1, 1))
    assert TaxRate.objects.filter(region=region).count() == 2


def test_tax_rate_ends_before_start_rejected():
    with pytest.raises(ValidationFailed) as error:
        tax_rate_save(region=TaxRegionFactory(), tax_class=TaxClassFactory(), name="State", percent="5", effective_from=date(2026, 1, 2), effective_to=date(2026, 1, 1))
    assert error.value.code == "invalid_period"
    assert TaxRate.objects.count() == 0



def test_tax_exemption_and_store_region():
    from pricing.models import LocationTaxRegion, TaxExemption
    from pricing.services import customer_group_save, location_tax_region_set, tax_exemption_save
    from tests.factories import LocationFactory

    customer = CustomerFactory()
    with pytest.raises(ValidationFailed) as error:
        tax_exemption_save(customer=customer, reference="  ")
    assert error.value.code == "required"
    with pytest.raises(ValidationFailed) as error:
        tax_exemption_save(customer=customer, reference="EX-1", valid_from=date(2026, 2, 1), valid_to=date(2026, 1, 1))
    assert error.value.code == "invalid_period"
    assert TaxExemption.objects.count() == 0
    assert tax_exemption_save(customer=customer, reference=" EX-1 ").reference == "EX-1"

    store = LocationFactory()
    first, second = TaxRegionFactory(code="us-tx"), TaxRegionFactory(code="us-ok", name="Oklahoma", state="OK")
    location_tax_region_set(location=store, region=first)
    location_tax_region_set(location=store, region=second)
    assert LocationTaxRegion.objects.get(location=store).region == second

    group = customer_group_save(code="staff", name="Staff", members=[customer])
    assert list(group.members.all()) == [customer]
