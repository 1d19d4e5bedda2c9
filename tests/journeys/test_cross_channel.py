"""One customer, one basket, two channels: the web cart and the register give the same prices, promotion and points.

The promotion is valid on both channels, and the web order is collected at the store, so both are
taxed in the store's region.
"""

from decimal import Decimal

import pytest

from loyalty.models import EntryKind, PointsEntry
from orders.models import Order, OrderLineDiscount
from orders.services import order_complete, order_record_register_sale, order_ship
from tests.factories import CustomerFactory
from tests.orders.builders import CARTS, checkout, program, promo_shop

pytestmark = pytest.mark.django_db

BASKET = (("PROMO-1", 2), ("PLAIN-1", 1))


def line_figures(order: Order) -> list[tuple]:
    return [
        (line.sku, line.quantity, line.unit_price, line.discount_amount, line.tax_amount, line.line_total)
        for line in Order.objects.get(pk=order.pk).lines.order_by("line_number")
    ]


def discount_rows(order: Order) -> list[tuple]:
    return list(
        OrderLineDiscount.objects.filter(order_line__order=order)
        .order_by("order_line__line_number", "id")
        .values_list("order_line__sku", "promotion_id", "amount")
    )


def earned(order: Order) -> int:
    return PointsEntry.objects.get(kind=EntryKind.EARN, order_reference=order.number).points


def test_same_basket_same_prices_and_points(channels, storefront_client):
    shop = promo_shop()
    shop.promotion.channels.set([shop.web, shop.pos])
    program()
    online_customer, counter_customer = CustomerFactory(), CustomerFactory()

    # Online: a cart collected at the store.
    client = storefront_client
    token = client.post(CARTS, {"customer": {"id": online_customer.pk}}, format="json").json()["token"]
    for sku, quantity in BASKET:
        client.post(f"{CARTS}{token}/lines/", {"sku": sku, "quantity": quantity}, format="json")
    shown = client.put(f"{CARTS}{token}/pickup/", {"store": shop.store.code}, format="json").json()
    response = checkout(client, token, shown["basket"]["total"])
    assert response.status_code == 201, response.json()
    web_order = Order.objects.get(number=response.json()["order"]["number"])
    order_ship(number=web_order.number)
    order_complete(number=web_order.number)

    # At the counter: the same basket for a customer of the same standing.
    register_order, _ = order_record_register_sale(
        location_id=shop.store.pk, customer_id=counter_customer.pk,
        lines=[{"sku": sku, "quantity": quantity} for sku, quantity in BASKET],
    )

    assert line_figures(web_order) == line_figures(register_order) == [
        ("PROMO-1", 2, Decimal("19.99"), Decimal("10.00"), Decimal("6.90"), Decimal("36.88")),
        ("PLAIN-1", 1, Decimal("10.00"), Decimal("0.00"), Decimal("2.30"), Decimal("12.30")),
    ]
    assert discount_rows(web_order) == discount_rows(register_order) == [("PROMO-1", shop.promotion.pk, Decimal("10.00"))]
    for field in ("subtotal", "discount_total", "shipping_total", "tax_total", "total"):
        assert getattr(web_order, field) == getattr(register_order, field), field
    assert register_order.total == Decimal("49.18")
    # 29.98 + 10.00 paid before tax at one point per unit.
    assert earned(web_order) == earned(register_order) == 39
