"""Order races through the HTTP API on PostgreSQL, with real threads: no oversell, no deadlock, one order per key."""

import threading
import uuid

import pytest
from django.db import connection
from django.db.models import Sum
from rest_framework.test import APIClient

from commerce.api_keys import api_key_create
from commerce.models import IdempotencyKey, Scope
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import StockLine, stock_receive
from orders.models import Order
from tests.factories import ChannelFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def storefront_secret():
    ChannelFactory(code="web")
    ChannelFactory(code="pos")
    _api_key, secret = api_key_create(name="storefront", scopes=[Scope.ORDERS_WRITE, Scope.ORDERS_READ])
    return secret


def run_threads(count, target):
    """Start `count` threads at once on a barrier; return each one's result (or the exception it raised)."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def worker(index):
        try:
            barrier.wait()
            outcomes[index] = target(index)
        except Exception as error:  # asserted on below
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def place(secret, lines, key=None):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    response = client.post("/api/v1/orders/", {"lines": lines}, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))
    return response.status_code, response.json()


def test_fifty_buyers_twenty_units(storefront_secret):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_receive(lines=[StockLine(variant.pk, warehouse.pk, 20)], reference_type="receipt", reference_id="PO-1")

    outcomes = run_threads(50, lambda index: place(storefront_secret, [{"sku": variant.sku, "quantity": 1}]))

    statuses = [outcome[0] for outcome in outcomes]
    assert statuses.count(201) == 20, outcomes
    assert statuses.count(409) == 30, outcomes
    assert {outcome[1]["code"] for outcome in outcomes if outcome[0] == 409} == {"insufficient_stock"}
    assert all(variant.sku in outcome[1]["message"] for outcome in outcomes if outcome[0] == 409)
    level = StockLevel.objects.get(variant=variant, location=warehouse)
    assert (level.on_hand, level.reserved, level.available) == (20, 20, 0)
    assert StockMovement.objects.filter(stock_level=level).aggregate(total=Sum("quantity"))["total"] == level.on_hand
    assert Reservation.objects.filter(stock_level=level, state=Reservation.ACTIVE).aggregate(total=Sum("quantity"))["total"] == 20
    assert Order.objects.count() == 20
    assert not StockLevel.objects.filter(reserved__gt=0, available__lt=0).exists()


def test_opposite_line_order_no_deadlock(storefront_secret):
    first, second, warehouse = VariantFactory(), VariantFactory(), WarehouseFactory()
    stock_receive(lines=[StockLine(first.pk, warehouse.pk, 100), StockLine(second.pk, warehouse.pk, 100)], reference_type="receipt", reference_id="PO-1")

    def basket(index):
        lines = [{"sku": first.sku, "quantity": 1}, {"sku": second.sku, "quantity": 1}]
        if index % 2:
            lines.reverse()
        return place(storefront_secret, lines)

    outcomes = run_threads(20, basket)

    assert [outcome[0] for outcome in outcomes] == [201] * 20, outcomes
    assert StockLevel.objects.get(variant=first, location=warehouse).reserved == 20
    assert StockLevel.objects.get(variant=second, location=warehouse).reserved == 20
    assert Order.objects.count() == 20


def test_same_idempotency_key_ten_threads(storefront_secret):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_receive(lines=[StockLine(variant.pk, warehouse.pk, 50)], reference_type="receipt", reference_id="PO-1")
    key = str(uuid.uuid4())

    outcomes = run_threads(10, lambda index: place(storefront_secret, [{"sku": variant.sku, "quantity": 2}], key=key))

    assert [outcome[0] for outcome in outcomes] == [201] * 10, outcomes
    assert all(outcome[1] == outcomes[0][1] for outcome in outcomes)
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.filter(key=key).count() == 1
    assert StockLevel.objects.get(variant=variant, location=warehouse).reserved == 2
