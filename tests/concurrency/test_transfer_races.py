"""Transfers in opposite directions and adjustments racing on the same stock levels, on PostgreSQL with threads."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from commerce.retry import retry_on_deadlock
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.services import (
    StockLine,
    TransferItem,
    stock_adjust,
    stock_receive,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from tests.factories import LocationFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 8


def run_threads(targets):
    barrier = threading.Barrier(len(targets))
    errors = []

    def worker(target):
        try:
            barrier.wait()
            target()
        except Exception as error:  # collected and asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_two_transfers_and_adjustments_keep_ledger():
    first, second = VariantFactory(), VariantFactory()
    warehouse, store = WarehouseFactory(), LocationFactory()
    stock_receive(
        lines=[StockLine(variant.pk, location.pk, 200) for variant in (first, second) for location in (warehouse, store)],
        reference_type="receipt", reference_id="PO-1",
    )

    @retry_on_deadlock
    def move(source, destination, items):
        # Each step is its own transaction, as three separate API calls would be.
        transfer = transfer_create(source_id=source.pk, destination_id=destination.pk, items=items)
        with transaction.atomic():
            transfer_ship(transfer_id=transfer.pk)
        with transaction.atomic():
            transfer_receive(transfer_id=transfer.pk)

    def outbound():
        for _ in range(ROUNDS):
            move(warehouse, store, [TransferItem(first.pk, 10), TransferItem(second.pk, 5)])

    def inbound():
        for _ in range(ROUNDS):
            # The lines name the variants in the other order; the services lock by primary key regardless.
            move(store, warehouse, [TransferItem(second.pk, 5), TransferItem(first.pk, 10)])

    @retry_on_deadlock
    def adjust(variant, location, quantity):
        with transaction.atomic():
            stock_adjust(variant_id=variant.pk, location_id=location.pk, quantity=quantity, note="race")

    def adjuster(variant, location):
        def run():
            for index in range(ROUNDS):
                adjust(variant, location, 3 if index % 2 == 0 else -3)
        return run

    errors = run_threads([outbound, inbound, adjuster(first, warehouse), adjuster(second, store), adjuster(first, store)])
    assert errors == []

    assert Transfer.objects.filter(state=Transfer.RECEIVED).count() == 2 * ROUNDS
    for stock_level in StockLevel.objects.all():
        total = StockMovement.objects.filter(stock_level=stock_level).aggregate(total=Sum("quantity"))["total"]
        assert stock_level.on_hand == total
        assert stock_level.on_hand == 200
    assert StockMovement.objects.filter(reason="transfer_out").count() == 4 * ROUNDS
    assert StockMovement.objects.filter(reason="adjustment").count() == 3 * ROUNDS
