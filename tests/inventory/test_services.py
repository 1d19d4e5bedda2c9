import pytest
from django.db import transaction
from django.db.models import Sum

from inventory.models import MovementReason, Reservation, StockLevel, StockMovement
from inventory.services import (
    InsufficientStock,
    StockLine,
    stock_count,
    stock_fulfil,
    stock_receive,
    stock_release,
    stock_remove,
    stock_reserve,
    stock_sell,
)
from tests.factories import LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def level(variant, location) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


def movement_sum(stock_level) -> int:
    return StockMovement.objects.filter(stock_level=stock_level).aggregate(total=Sum("quantity"))["total"] or 0


def test_receive_creates_level_and_movement():
    variant, store = VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(variant.pk, store.pk, 7)], reference_type="receipt", reference_id="PO-1")
    stock_level = level(variant, store)
    assert stock_level.on_hand == 7
    assert stock_level.available == 7
    movement = StockMovement.objects.get(stock_level=stock_level)
    assert (movement.quantity, movement.reason, movement.reference_id) == (7, MovementReason.RECEIPT, "PO-1")


def test_reserve_then_fulfil_then_sum_matches():
    variant, store = VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(variant.pk, store.pk, 10)], reference_type="receipt", reference_id="PO-1")
    stock_reserve(lines=[StockLine(variant.pk, store.pk, 3), StockLine(variant.pk, store.pk, 1)], reference_type="order", reference_id="1")
    stock_level = level(variant, store)
    assert (stock_level.on_hand, stock_level.reserved, stock_level.available) == (10, 4, 6)
    assert Reservation.objects.get(reference_id="1").quantity == 4

    assert stock_fulfil(reference_type="order", reference_id="1") == 4
    assert stock_fulfil(reference_type="order", reference_id="1") == 0
    stock_level.refresh_from_db()
    assert (stock_level.on_hand, stock_level.reserved) == (6, 0)
    assert movement_sum(stock_level) == 6


def test_reserve_respects_safety_stock():
    variant, store = VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(variant.pk, store.pk, 5)], reference_type="receipt", reference_id="PO-1")
    StockLevel.objects.filter(variant=variant, location=store).update(safety_stock=2)
    with pytest.raises(InsufficientStock) as error, transaction.atomic():
        stock_reserve(lines=[StockLine(variant.pk, store.pk, 4)], reference_type="order", reference_id="2")
    assert error.value.shortages[0]["available"] == 3
    assert variant.sku in error.value.message
    assert level(variant, store).reserved == 0


def test_reserve_failure_changes_no_line():
    first, second, store = VariantFactory(), VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(first.pk, store.pk, 5), StockLine(second.pk, store.pk, 1)], reference_type="receipt", reference_id="PO-1")
    with pytest.raises(InsufficientStock), transaction.atomic():
        stock_reserve(lines=[StockLine(first.pk, store.pk, 2), StockLine(second.pk, store.pk, 2)], reference_type="order", reference_id="3")
    # The caller's transaction (the test's) is still usable only if the statement was all-or-nothing.
    assert level(first, store).reserved == 0
    assert Reservation.objects.count() == 0


def test_release_is_safe_twice():
    variant, store = VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(variant.pk, store.pk, 5)], reference_type="receipt", reference_id="PO-1")
    stock_reserve(lines=[StockLine(variant.pk, store.pk, 2)], reference_type="order", reference_id="4")
    assert stock_release(reference_type="order", reference_id="4") == 2
    assert stock_release(reference_type="order", reference_id="4") == 0
    assert level(variant, store).reserved == 0


def test_sell_below_zero_only_where_allowed():
    variant = VariantFactory()
    strict = LocationFactory(allow_negative_stock=False)
    lenient = LocationFactory(allow_negative_stock=True)
    stock_receive(lines=[StockLine(variant.pk, strict.pk, 1), StockLine(variant.pk, lenient.pk, 1)], reference_type="receipt", reference_id="PO-1")

    with pytest.raises(InsufficientStock), transaction.atomic():
        stock_sell(lines=[StockLine(variant.pk, strict.pk, 2)], reference_type="order", reference_id="5")
    assert level(variant, strict).on_hand == 1

    stock_sell(lines=[StockLine(variant.pk, lenient.pk, 3)], reference_type="order", reference_id="6")
    stock_level = level(variant, lenient)
    assert stock_level.on_hand == -2
    assert stock_level.needs_count is True
    assert movement_sum(stock_level) == -2


def test_sell_unreceived_item_at_lenient_store():
    variant, store = VariantFactory(), LocationFactory(allow_negative_stock=True)
    stock_sell(lines=[StockLine(variant.pk, store.pk, 1)], reference_type="order", reference_id="7")
    assert level(variant, store).on_hand == -1


def test_remove_keeps_reserved_units():
    variant, store = VariantFactory(), LocationFactory()
    stock_receive(lines=[StockLine(variant.pk, store.pk, 5)], reference_type="receipt", reference_id="PO-1")
    stock_reserve(lines=[StockLine(variant.pk, store.pk, 4)], reference_type="order", reference_id="8")
    with pytest.raises(InsufficientStock), transaction.atomic():
        stock_remove(lines=[StockLine(variant.pk, store.pk, 2)], reason=MovementReason.DAMAGE, reference_type="damage", reference_id="d1")
    stock_remove(lines=[StockLine(variant.pk, store.pk, 1)], reason=MovementReason.DAMAGE, reference_type="damage", reference_id="d1")
    assert level(variant, store).on_hand == 4


def test_count_sets_on_hand_and_clears_flag():
    variant, store = VariantFactory(), LocationFactory(allow_negative_stock=True)
    stock_sell(lines=[StockLine(variant.pk, store.pk, 2)], reference_type="order", reference_id="9")
    stock_level = stock_count(variant_id=variant.pk, location_id=store.pk, counted=5)
    assert (stock_level.on_hand, stock_level.needs_count) == (5, False)
    assert movement_sum(stock_level) == 5
    assert StockMovement.objects.filter(stock_level=stock_level, reason=MovementReason.COUNT).get().quantity == 7
