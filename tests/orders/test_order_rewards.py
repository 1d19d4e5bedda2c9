"""Register sales priced by the engine, coupons and loyalty points on orders, and what cancelling gives back."""

from decimal import Decimal

import pytest
from django.db import transaction

from commerce.errors import Conflict, ValidationFailed
from loyalty.models import EntryKind, LoyaltyAccount, PointsEntry
from loyalty.services import points_adjust
from orders.models import Order, OrderLineDiscount, OrderLineTax, OrderTender
from orders.services import order_cancel, order_complete, order_place_web, order_record_register_sale, order_ship
from pricing.models import Coupon, CouponRedemption
from tests.factories import CustomerFactory, VariantFactory

from .builders import coupon, program, promo_shop
from .conftest import receive, row_counts

pytestmark = pytest.mark.django_db

SALE_REF = "0b8f6c2e-6a43-4c1e-9a0e-0d2b4f9b7a11"


@pytest.fixture
def shop(channels):
    return promo_shop()


def sale(shop, *lines, **kwargs):
    with transaction.atomic():
        order, _created = order_record_register_sale(
            location_id=shop.store.pk, lines=[{"sku": sku, "quantity": quantity} for sku, quantity in lines], **kwargs
        )
    return order


def balance(customer) -> int:
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    return account.balance if account else 0


# Register sales priced by the engine


def test_register_sale_gets_promotion_and_tax(shop):
    order = sale(shop, ("PROMO-1", 1))
    line = Order.objects.get(pk=order.pk).lines.get()
    assert (line.unit_price, line.discount_amount, line.tax_amount, line.line_total) == (
        Decimal("19.99"), Decimal("5.00"), Decimal("3.45"), Decimal("18.44"),
    )
    assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
        Decimal("19.99"), Decimal("5.00"), Decimal("3.45"), Decimal("18.44"),
    )
    discount = OrderLineDiscount.objects.get(order_line=line)
    assert (discount.promotion_id, discount.promotion_name, discount.amount) == (shop.promotion.pk, "Quarter off PROMO-1", Decimal("5.00"))
    tax = OrderLineTax.objects.get(order_line=line)
    assert (tax.tax_rate_id, tax.name, tax.rate, tax.amount) == (shop.rate.pk, "VAT", Decimal("23.0000"), Decimal("3.45"))


def test_store_promotion_only_at_its_store(shop):
    shop.promotion.locations.set([shop.store])
    assert sale(shop, ("PROMO-1", 1)).discount_total == Decimal("5.00")
    shop.promotion.locations.set([shop.warehouse])
    assert sale(shop, ("PROMO-1", 1)).discount_total == Decimal("0.00")


def test_register_expected_price_checked_against_engine(shop):
    with pytest.raises(Conflict) as error:
        sale_lines = [{"sku": "PROMO-1", "quantity": 1, "expected_unit_price": "18.00"}]
        with transaction.atomic():
            order_record_register_sale(location_id=shop.store.pk, lines=sale_lines)
    assert error.value.code == "price_changed"
    assert Order.objects.count() == 0


def test_historical_sale_keeps_its_prices(shop):
    order, _ = order_record_register_sale(
        location_id=shop.store.pk,
        lines=[{"sku": "PROMO-1", "quantity": 2, "unit_price": "18.00", "discount_amount": "1.00", "line_total": "35.00"}],
        source="replay",
    )
    line = Order.objects.get(pk=order.pk).lines.get()
    assert (line.unit_price, line.discount_amount, line.tax_amount, line.line_total) == (
        Decimal("18.00"), Decimal("1.00"), Decimal("0.00"), Decimal("35.00"),
    )
    assert OrderLineDiscount.objects.count() == 0
    assert OrderLineTax.objects.count() == 0
    assert order.total == Decimal("35.00")


def test_historical_sale_with_tax(shop):
    order, _ = order_record_register_sale(
        location_id=shop.store.pk,
        lines=[{"sku": "PLAIN-1", "quantity": 1, "unit_price": "10.00", "tax_amount": "2.30", "line_total": "12.30"}],
    )
    assert (order.subtotal, order.tax_total, order.total) == (Decimal("10.00"), Decimal("2.30"), Decimal("12.30"))


def test_historical_sale_redeems_no_coupon(shop):
    coupon("SAVE5")
    before = row_counts()
    with pytest.raises(ValidationFailed) as error:
        order_record_register_sale(
            location_id=shop.store.pk, lines=[{"sku": "PLAIN-1", "quantity": 1, "unit_price": "10.00"}], coupon_codes=["SAVE5"],
        )
    assert error.value.code == "coupons_need_pricing"
    assert row_counts() == before
    assert Coupon.objects.get(code="SAVE5").times_used == 0


def test_register_sale_redeems_coupon(shop):
    coupon("SAVE5")
    order = sale(shop, ("PLAIN-1", 2), coupon_codes=["save5"])
    assert order.discount_total == Decimal("5.00")
    assert Coupon.objects.get(code="SAVE5").times_used == 1
    assert CouponRedemption.objects.get().order_reference == order.number


def test_used_up_coupon_at_register(shop):
    coupon("ONCE", usage_limit=1)
    sale(shop, ("PLAIN-1", 1), coupon_codes=["ONCE"])
    before = row_counts()
    with pytest.raises(ValidationFailed) as error:
        sale(shop, ("PLAIN-1", 1), coupon_codes=["ONCE"])
    assert error.value.code == "coupon_used_up"
    assert row_counts() == before


# Loyalty points


@pytest.fixture
def hundred(shop):
    """A SKU at 100.00 with no promotion, so a sale of one pays 100.00 before tax."""
    variant = VariantFactory(sku="HUNDRED-1", price="100.00")
    receive(variant, shop.store, 10)
    receive(variant, shop.warehouse, 10)
    return variant


def test_register_sale_earns_on_paid_before_tax(shop, hundred):
    program()
    customer = CustomerFactory()
    order = sale(shop, ("HUNDRED-1", 1), customer_id=customer.pk, external_ref=SALE_REF)
    assert order.total == Decimal("123.00")
    assert balance(customer) == 100
    entry = PointsEntry.objects.get(kind=EntryKind.EARN)
    assert (entry.order_reference, entry.points, entry.amount) == (order.number, 100, Decimal("100.00"))


def test_same_sale_synced_twice_earns_once(shop, hundred):
    program()
    customer = CustomerFactory()
    first = sale(shop, ("HUNDRED-1", 1), customer_id=customer.pk, external_ref=SALE_REF)
    again, created = order_record_register_sale(
        location_id=shop.store.pk, lines=[{"sku": "HUNDRED-1", "quantity": 1}], customer_id=customer.pk, external_ref=SALE_REF,
    )
    assert created is False
    assert again.pk == first.pk
    assert balance(customer) == 100
    assert PointsEntry.objects.filter(kind=EntryKind.EARN).count() == 1


def test_cancelled_sale_takes_points_back(shop, hundred):
    program()
    customer = CustomerFactory()
    order = sale(shop, ("HUNDRED-1", 1), customer_id=customer.pk, external_ref=SALE_REF)
    assert balance(customer) == 100

    order_cancel(number=order.number, reason="voided at the counter")

    assert balance(customer) == 0
    reversal = PointsEntry.objects.get(kind=EntryKind.REVERSE)
    assert (reversal.points, reversal.order_reference) == (-100, order.number)


def test_cancel_releases_coupon_and_points_tender(shop, hundred):
    loyalty = program()
    customer = CustomerFactory()
    account = LoyaltyAccount.objects.create(program=loyalty, customer=customer)
    points_adjust(account_id=account.pk, points=1000, reference="welcome")
    coupon("SAVE5")

    order = sale(shop, ("HUNDRED-1", 1), customer_id=customer.pk, coupon_codes=["SAVE5"], loyalty_points=300)

    # 100.00 - 5.00 = 95.00 paid before tax, so 95 points; 300 points (3.00) spent as a tender.
    tender = OrderTender.objects.get(order=order)
    assert (tender.points, tender.amount) == (300, Decimal("3.00"))
    assert balance(customer) == 1000 - 300 + 95
    assert Coupon.objects.get(code="SAVE5").times_used == 1

    order_cancel(number=order.number)

    assert balance(customer) == 1000
    assert Coupon.objects.get(code="SAVE5").times_used == 0
    assert CouponRedemption.objects.get().released_at is not None


def test_web_order_earns_when_completed(shop, hundred):
    program()
    customer = CustomerFactory()
    order, _ = order_place_web(lines=[{"sku": "HUNDRED-1", "quantity": 1}], customer_id=customer.pk)
    order_ship(number=order.number)
    assert balance(customer) == 0
    order_complete(number=order.number)
    assert balance(customer) == 100


def test_historical_order_earns_line_total_minus_tax(shop, hundred):
    program()
    customer = CustomerFactory()
    order_record_register_sale(
        location_id=shop.store.pk, customer_id=customer.pk,
        lines=[{"sku": "HUNDRED-1", "quantity": 1, "unit_price": "50.00", "tax_amount": "11.50", "line_total": "61.50"}],
    )
    assert balance(customer) == 50


def test_no_program_no_account(shop, hundred):
    customer = CustomerFactory()
    sale(shop, ("HUNDRED-1", 1), customer_id=customer.pk)
    assert LoyaltyAccount.objects.count() == 0
    assert PointsEntry.objects.count() == 0


def test_no_program_costs_one_query(shop, hundred, django_assert_num_queries):
    """Without an active program, earning costs the program lookup alone (what a replay pays per order)."""
    from orders.services import _points_earn

    customer = CustomerFactory()
    order = sale(shop, ("HUNDRED-1", 1))
    order.customer_id = customer.pk
    with django_assert_num_queries(1):
        _points_earn(order, lambda: [(None, Decimal("100.00"))])


def test_register_sale_api_with_coupon(shop, staff_client):
    from commerce.models import Role

    coupon("SAVE5")
    cashier = staff_client(Role.CASHIER, shop.store)
    response = cashier.post(
        "/api/v1/register-sales/",
        {"location": shop.store.code, "lines": [{"sku": "PROMO-1", "quantity": 1}], "coupon_codes": ["SAVE5"]},
        format="json", HTTP_IDEMPOTENCY_KEY="sale-with-coupon",
    )
    assert response.status_code == 201, response.json()
    line = response.json()["lines"][0]
    assert [(discount["promotion_name"], discount["coupon_code"], discount["amount"]) for discount in line["discounts"]] == [
        ("Quarter off PROMO-1", "", "5.00"),
        ("SAVE5 order discount", "SAVE5", "5.00"),
    ]
    assert line["taxes"] == [{"tax_rate_id": shop.rate.pk, "name": "VAT", "rate": "23.0000", "amount": "2.30"}]
    assert response.json()["total"] == "12.29"
    assert Coupon.objects.get(code="SAVE5").times_used == 1
