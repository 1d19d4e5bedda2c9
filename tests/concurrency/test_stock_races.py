"""Races on PostgreSQL with real threads: no oversell, no deadlock."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from inventory.models import StockLevel, StockMovement
from inventory.services import InsufficientStock, StockLine, stock_receive, stock_reserve
from tests.factories import LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(count, target):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(index):
        try:
            barrier.wait()
            results.append(target(index))
        except Exception as error:  # collected and asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_fifty_buyers_twenty_units():
    variant, store = VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(variant.pk, store.pk, 20)], reference_type="receipt", reference_id="PO-1")

    def buy(index):
        with transaction.atomic():
            stock_reserve(lines=[StockLine(variant.pk, store.pk, 1)], reference_type="order", reference_id=str(index))
        return index

    results, errors = run_threads(50, buy)
    assert len(results) == 20
    assert len(errors) == 30
    assert all(isinstance(error, InsufficientStock) for error in errors)
    stock_level = StockLevel.objects.get(variant=variant, location=store)
    assert (stock_level.on_hand, stock_level.reserved, stock_level.available) == (20, 20, 0)
    assert StockMovement.objects.filter(stock_level=stock_level).aggregate(total=Sum("quantity"))["total"] == 20


def test_opposite_line_order_no_deadlock():
    first, second, store = VariantFactory(), VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(first.pk, store.pk, 100), StockLine(second.pk, store.pk, 100)], reference_type="receipt", reference_id="PO-1")

    # No retry on deadlock here: the lock order alone must prevent it.
    def basket(index):
        lines = [StockLine(first.pk, store.pk, 1), StockLine(second.pk, store.pk, 1)]
        if index % 2:
            lines.reverse()
        with transaction.atomic():
            stock_reserve(lines=lines, reference_type="order", reference_id=str(index))
        return index

    results, errors = run_threads(20, basket)
    assert errors == []
    assert len(results) == 20
    assert StockLevel.objects.get(variant=first, location=store).reserved == 20
    assert StockLevel.objects.get(variant=second, location=store).reserved == 20
