"""Adjustments, transfers and cycle counts at the service layer."""

import pytest
from django.db import transaction
from django.db.models import Sum

from commerce.errors import InvalidTransition, NotFound, ValidationFailed
from inventory.models import CycleCount, MovementReason, StockLevel, StockMovement, Transfer, TransferEvent, TransferLine
from inventory.services import (
    CountedItem,
    InsufficientStock,
    StockLine,
    TransferItem,
    TransferReceiptLine,
    cycle_count_record,
    stock_adjust,
    stock_receive,
    stock_reserve,
    stock_sell,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from tests.factories import LocationFactory, VariantFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def level(variant, location) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


def movement_sum(variant, location) -> int:
    return StockMovement.objects.filter(stock_level__variant=variant, stock_level__location=location).aggregate(total=Sum("quantity"))["total"] or 0


def receive(variant, location, quantity):
    stock_receive(lines=[StockLine(variant.pk, location.pk, quantity)], reference_type="receipt", reference_id="PO-1")


# Adjustments


def test_adjust_adds_units_with_note():
    variant, store = VariantFactory(), LocationFactory()
    movement = stock_adjust(variant_id=variant.pk, location_id=store.pk, quantity=4, note="found in back room")
    assert (movement.quantity, movement.reason, movement.note, movement.reference_type) == (4, "adjustment", "found in back room", "adjustment")
    assert level(variant, store).on_hand == 4


def test_adjust_damage_takes_units_off():
    variant, store = VariantFactory(), LocationFactory()
    receive(variant, store, 10)
    movement = stock_adjust(variant_id=variant.pk, location_id=store.pk, quantity=-3, reason=MovementReason.DAMAGE, note="crushed box")
    assert (movement.quantity, movement.reason) == (-3, "damage")
    assert level(variant, store).on_hand == 7
    assert movement_sum(variant, store) == 7


def test_adjust_negative_keeps_reserved_units():
    variant, store = VariantFactory(), LocationFactory()
    receive(variant, store, 5)
    stock_reserve(lines=[StockLine(variant.pk, store.pk, 4)], reference_type="order", reference_id="1")
    with pytest.raises(InsufficientStock), transaction.atomic():
        stock_adjust(variant_id=variant.pk, location_id=store.pk, quantity=-2)
    assert level(variant, store).on_hand == 5
    assert StockMovement.objects.filter(reason="adjustment").count() == 0


@pytest.mark.parametrize(
    ("quantity", "reason", "named"),
    [(0, "adjustment", "0"), (10**12, "adjustment", "1000000000000"), ("abc", "adjustment", "abc"), (True, "adjustment", "True"),
     (3, "damage", "-3"), (1, "theft", "theft")],
)
def test_adjust_rejects_bad_input(quantity, reason, named):
    variant, store = VariantFactory(), LocationFactory()
    with pytest.raises(ValidationFailed) as error:
        stock_adjust(variant_id=variant.pk, location_id=store.pk, quantity=quantity, reason=reason)
    assert named in error.value.message
    assert StockMovement.objects.count() == 0


def test_adjust_unknown_location_raises_not_found():
    variant = VariantFactory()
    with pytest.raises(NotFound) as error, transaction.atomic():
        stock_adjust(variant_id=variant.pk, location_id=987654, quantity=1)
    assert "987654" in error.value.message


# Transfers


def test_transfer_full_cycle_moves_units():
    variant, other = VariantFactory(), VariantFactory()
    warehouse, store = WarehouseFactory(), LocationFactory()
    receive(variant, warehouse, 20)
    receive(other, warehouse, 5)
    transfer = transfer_create(
        source_id=warehouse.pk, destination_id=store.pk,
        items=[TransferItem(variant.pk, 6), TransferItem(other.pk, 2), TransferItem(variant.pk, 2)],
    )
    assert transfer.state == Transfer.DRAFT
    assert sorted(transfer.lines.values_list("variant_id", "quantity")) == sorted([(variant.pk, 8), (other.pk, 2)])

    transfer_ship(transfer_id=transfer.pk)
    assert level(variant, warehouse).on_hand == 12
    assert level(other, warehouse).on_hand == 3
    assert not StockLevel.objects.filter(location=store).exists()

    transfer = transfer_receive(
        transfer_id=transfer.pk, receipts=[TransferReceiptLine(variant.pk, received=5, damaged=2, reason="damaged", note="wet carton")],
    )
    assert transfer.state == Transfer.RECEIVED
    assert transfer.received_at is not None
    assert level(variant, store).on_hand == 5
    assert level(other, store).on_hand == 2
    line = TransferLine.objects.get(transfer=transfer, variant=variant)
    assert (line.received_quantity, line.damaged_quantity, line.short_quantity, line.discrepancy_reason) == (5, 2, 1, "damaged")
    assert movement_sum(variant, warehouse) == 12
    assert movement_sum(variant, store) == 5
    reasons = sorted(StockMovement.objects.filter(reference_type="transfer", reference_id=str(transfer.pk)).values_list("reason", "quantity"))
    assert reasons == sorted([("transfer_out", -8), ("transfer_out", -2), ("transfer_in", 5), ("transfer_in", 2)])
    history = list(TransferEvent.objects.filter(transfer=transfer).values_list("from_state", "to_state"))
    assert history == [("", "draft"), ("draft", "in_transit"), ("in_transit", "received")]


def test_transfer_receive_shortage_needs_reason():
    variant, warehouse, store = VariantFactory(), WarehouseFactory(), LocationFactory()
    receive(variant, warehouse, 10)
    transfer = transfer_create(source_id=warehouse.pk, destination_id=store.pk, items=[TransferItem(variant.pk, 4)])
    transfer_ship(transfer_id=transfer.pk)
    with pytest.raises(ValidationFailed) as error, transaction.atomic():
        transfer_receive(transfer_id=transfer.pk, receipts=[TransferReceiptLine(variant.pk, received=3)])
    assert error.value.code == "discrepancy_reason_missing"
    assert variant.sku in error.value.message
    transfer.refresh_from_db()
    assert transfer.state == Transfer.IN_TRANSIT
    assert not StockLevel.objects.filter(location=store).exists()


@pytest.mark.parametrize("received", [-1, 5, "abc"])
def test_transfer_receive_rejects_bad_count(received):
    variant, warehouse, store = VariantFactory(), WarehouseFactory(), LocationFactory()
    receive(variant, warehouse, 10)
    transfer = transfer_create(source_id=warehouse.pk, destination_id=store.pk, items=[TransferItem(variant.pk, 4)])
    transfer_ship(transfer_id=transfer.pk)
    with pytest.raises(ValidationFailed) as error, transaction.atomic():
        transfer_receive(transfer_id=transfer.pk, receipts=[TransferReceiptLine(variant.pk, received=received, reason="lost")])
    assert str(received) in error.value.message


def test_transfer_ship_without_stock_changes_nothing():
    variant, warehouse, store = VariantFactory(), WarehouseFactory(), LocationFactory()
    receive(variant, warehouse, 3)
    transfer = transfer_create(source_id=warehouse.pk, destination_id=store.pk, items=[TransferItem(variant.pk, 4)])
    with pytest.raises(InsufficientStock), transaction.atomic():
        transfer_ship(transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.state == Transfer.DRAFT
    assert level(variant, warehouse).on_hand == 3
    assert TransferEvent.objects.filter(transfer=transfer).count() == 1


def test_transfer_cancel_only_before_ship():
    variant, warehouse, store = VariantFactory(), WarehouseFactory(), LocationFactory()
    receive(variant, warehouse, 10)
    draft = transfer_create(source_id=warehouse.pk, destination_id=store.pk, items=[TransferItem(variant.pk, 1)])
    assert transfer_cancel(transfer_id=draft.pk, note="not needed").state == Transfer.CANCELLED
    with pytest.raises(InvalidTransition), transaction.atomic():
        transfer_ship(transfer_id=draft.pk)

    shipped = transfer_create(source_id=warehouse.pk, destination_id=store.pk, items=[TransferItem(variant.pk, 1)])
    transfer_ship(transfer_id=shipped.pk)
    with pytest.raises(InvalidTransition) as error, transaction.atomic():
        transfer_cancel(transfer_id=shipped.pk)
    assert "in_transit" in error.value.message
    assert level(variant, warehouse).on_hand == 9


def test_transfer_receive_twice_is_rejected():
    variant, warehouse, store = VariantFactory(), WarehouseFactory(), LocationFactory()
    receive(variant, warehouse, 10)
    transfer = transfer_create(source_id=warehouse.pk, destination_id=store.pk, items=[TransferItem(variant.pk, 2)])
    transfer_ship(transfer_id=transfer.pk)
    transfer_receive(transfer_id=transfer.pk)
    with pytest.raises(InvalidTransition), transaction.atomic():
        transfer_receive(transfer_id=transfer.pk)
    assert level(variant, store).on_hand == 2


def test_transfer_create_rejects_same_location():
    variant, store = VariantFactory(), LocationFactory()
    with pytest.raises(ValidationFailed):
        transfer_create(source_id=store.pk, destination_id=store.pk, items=[TransferItem(variant.pk, 1)])
    assert Transfer.objects.count() == 0


# Cycle counts


def test_cycle_count_sets_each_sku():
    first, second, third = VariantFactory(), VariantFactory(), VariantFactory()
    store = LocationFactory(allow_negative_stock=True)
    receive(first, store, 10)
    stock_sell(lines=[StockLine(second.pk, store.pk, 2)], reference_type="order", reference_id="1")
    cycle_count = cycle_count_record(
        location_id=store.pk, items=[CountedItem(first.pk, 8), CountedItem(second.pk, 1), CountedItem(third.pk, 0)], note="aisle 4",
    )
    expected = {line.variant_id: (line.expected, line.counted, line.difference) for line in cycle_count.lines.all()}
    assert expected == {first.pk: (10, 8, -2), second.pk: (-2, 1, 3), third.pk: (0, 0, 0)}
    assert (level(first, store).on_hand, level(second, store).on_hand, level(third, store).on_hand) == (8, 1, 0)
    assert level(second, store).needs_count is False
    assert movement_sum(first, store) == 8
    assert movement_sum(second, store) == 1
    assert StockMovement.objects.filter(reference_type="cycle_count", reference_id=str(cycle_count.pk)).count() == 2


def test_cycle_count_rejects_duplicate_and_negative():
    variant, store = VariantFactory(), LocationFactory()
    with pytest.raises(ValidationFailed):
        cycle_count_record(location_id=store.pk, items=[CountedItem(variant.pk, 1), CountedItem(variant.pk, 2)])
    with pytest.raises(ValidationFailed) as error:
        cycle_count_record(location_id=store.pk, items=[CountedItem(variant.pk, -1)])
    assert "-1" in error.value.message
    assert CycleCount.objects.count() == 0
