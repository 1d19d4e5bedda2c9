from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from catalog.models import VariantPrice
from commerce.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from commerce.models import OutboxEvent
from customers.models import Customer
from inventory.models import MovementReason, Reservation, StockLevel, StockMovement
from inventory.services import InsufficientStock
from orders import selectors, services
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.services import (
    OrderLineInput,
    order_cancel,
    order_complete,
    order_place_web,
    order_record_register_sale,
    order_ship,
    orders_move_to_customer,
)
from tests.factories import CustomerFactory, LocationFactory, UserFactory, VariantFactory, WarehouseFactory

from .conftest import receive, row_counts

pytestmark = pytest.mark.django_db


def level(variant, location) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


def movement_sum(variant, location) -> int:
    return StockMovement.objects.filter(stock_level=level(variant, location)).aggregate(total=Sum("quantity"))["total"] or 0


def place(*lines, **kwargs):
    # A savepoint, as the API's idempotency block gives: a rejected order leaves the test's transaction usable.
    with transaction.atomic():
        order, created = order_place_web(lines=list(lines), **kwargs)
    assert created
    return order


def in_savepoint(service, **kwargs):
    with transaction.atomic():
        return service(**kwargs)


# Web orders


def test_web_order_totals_and_lines(channels):
    first, second = VariantFactory(price="12.50"), VariantFactory(price="3.33")
    warehouse = WarehouseFactory()
    receive(first, warehouse, 10)
    receive(second, warehouse, 10)

    order = place({"sku": first.sku, "quantity": 2}, {"variant_id": second.pk, "quantity": 3}, shipping_total="4.99")

    stored = Order.objects.get(pk=order.pk)
    assert stored.channel.code == "web"
    assert stored.status == OrderStatus.PLACED
    assert stored.subtotal == Decimal("34.99")
    assert stored.discount_total == Decimal("0.00")
    assert stored.shipping_total == Decimal("4.99")
    assert stored.tax_total == Decimal("0.00")
    assert stored.total == Decimal("39.98")
    assert stored.location_id == warehouse.pk
    assert stored.number == order.number
    lines = list(stored.lines.order_by("line_number"))
    assert [(line.sku, line.quantity, line.unit_price, line.line_total) for line in lines] == [
        (first.sku, 2, Decimal("12.50"), Decimal("25.00")),
        (second.sku, 3, Decimal("3.33"), Decimal("9.99")),
    ]
    assert lines[0].unit_cost == Decimal("4.0000")
    assert lines[0].name == first.name


def test_web_order_reserves_and_records(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)

    order = place({"sku": variant.sku, "quantity": 2})

    stock_level = level(variant, warehouse)
    assert (stock_level.on_hand, stock_level.reserved, stock_level.available) == (5, 2, 3)
    reservation = Reservation.objects.get(reference_type="order", reference_id=order.number)
    assert (reservation.quantity, reservation.state, reservation.stock_level_id) == (2, Reservation.ACTIVE, stock_level.pk)
    change = OrderStatusChange.objects.get(order_id=order.pk)
    assert (change.from_status, change.to_status) == ("", OrderStatus.PLACED)
    event = OutboxEvent.objects.get(topic="order.placed")
    assert event.payload["number"] == order.number
    assert event.payload["total"] == "20.00"


def test_order_numbers_increase(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    first = place({"sku": variant.sku, "quantity": 1})
    second = place({"sku": variant.sku, "quantity": 1})
    assert int(second.number) > int(first.number)


def test_location_with_most_available_wins(channels):
    variant = VariantFactory()
    small, large = WarehouseFactory(), WarehouseFactory()
    receive(variant, small, 3)
    receive(variant, large, 8)
    order = place({"sku": variant.sku, "quantity": 1})
    assert OrderLine.objects.get(order_id=order.pk).location_id == large.pk
    assert level(variant, large).reserved == 1
    assert level(variant, small).reserved == 0


def test_location_tie_goes_to_lowest_id(channels):
    variant = VariantFactory()
    first, second = WarehouseFactory(), WarehouseFactory()
    receive(variant, second, 4)
    receive(variant, first, 4)
    order = place({"sku": variant.sku, "quantity": 1})
    assert OrderLine.objects.get(order_id=order.pk).location_id == min(first.pk, second.pk)


def test_inactive_and_non_shipping_locations_skipped(channels):
    variant = VariantFactory()
    inactive = WarehouseFactory(is_active=False)
    no_shipping = LocationFactory(ships=False, ships_from_store=False)
    serving = WarehouseFactory()
    receive(variant, inactive, 50)
    receive(variant, no_shipping, 40)
    receive(variant, serving, 2)
    order = place({"sku": variant.sku, "quantity": 2})
    assert OrderLine.objects.get(order_id=order.pk).location_id == serving.pk


def test_safety_stock_not_promised(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    StockLevel.objects.filter(variant=variant, location=warehouse).update(safety_stock=4)
    with pytest.raises(Conflict) as error:
        place({"sku": variant.sku, "quantity": 2})
    assert error.value.code == "insufficient_stock"
    assert "1 available" in error.value.message


def test_lines_split_across_locations(channels):
    first, second = VariantFactory(), VariantFactory()
    east, west = WarehouseFactory(), WarehouseFactory()
    receive(first, east, 5)
    receive(second, west, 5)
    order = place({"sku": first.sku, "quantity": 1}, {"sku": second.sku, "quantity": 1})
    stored = Order.objects.get(pk=order.pk)
    assert stored.location_id is None
    assert {line.sku: line.location_id for line in stored.lines.all()} == {first.sku: east.pk, second.sku: west.pk}


def test_insufficient_stock_names_sku_and_writes_nothing(channels):
    variant, warehouse = VariantFactory(sku="MUG-RED"), WarehouseFactory()
    receive(variant, warehouse, 3)
    before = row_counts()
    with pytest.raises(Conflict) as error:
        place({"sku": variant.sku, "quantity": 4})
    assert error.value.code == "insufficient_stock"
    assert "MUG-RED" in error.value.message
    assert "4 requested, 3 available" in error.value.message
    assert row_counts() == before
    assert level(variant, warehouse).reserved == 0


def test_no_stock_anywhere_is_insufficient(channels):
    variant = VariantFactory()
    with pytest.raises(Conflict) as error:
        place({"sku": variant.sku, "quantity": 1})
    assert error.value.code == "insufficient_stock"
    assert "0 available" in error.value.message


def test_price_changed_names_both_prices(channels):
    variant, warehouse = VariantFactory(sku="TEE-M", price="19.99"), WarehouseFactory()
    receive(variant, warehouse, 3)
    before = row_counts()
    with pytest.raises(Conflict) as error:
        place({"sku": variant.sku, "quantity": 1, "expected_unit_price": "17.99"})
    assert error.value.code == "price_changed"
    assert "TEE-M" in error.value.message
    assert "19.99" in error.value.message
    assert "17.99" in error.value.message
    assert error.value.fields == {"lines.0.expected_unit_price": ["Current price 19.99."]}
    assert row_counts() == before


def test_expected_price_that_matches_places(channels):
    variant, warehouse = VariantFactory(price="19.99"), WarehouseFactory()
    receive(variant, warehouse, 3)
    order = place({"sku": variant.sku, "quantity": 1, "expected_unit_price": "19.99"})
    assert order.total == Decimal("19.99")


def test_web_price_differs_from_register_price(channels):
    variant, warehouse = VariantFactory(price="10.00"), WarehouseFactory()
    VariantPrice.objects.filter(variant=variant, channel=channels["web"]).update(amount=Decimal("8.50"))
    receive(variant, warehouse, 3)
    order = place({"sku": variant.sku, "quantity": 2})
    assert order.total == Decimal("17.00")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({"sku": "NO-SUCH-SKU", "quantity": 1}, "unknown_sku"),
        ({"variant_id": 987654321, "quantity": 1}, "unknown_sku"),
        ({"sku": "{sku}", "quantity": 0}, "invalid_quantity"),
        ({"sku": "{sku}", "quantity": -1}, "invalid_quantity"),
        ({"sku": "{sku}", "quantity": 10**12}, "invalid_quantity"),
        ({"sku": "{sku}", "quantity": "abc"}, "invalid_quantity"),
        ({"sku": "{sku}", "quantity": True}, "invalid_quantity"),
        ({"sku": "{sku}", "quantity": 1, "expected_unit_price": "1.999"}, "too_many_decimals"),
        ({"sku": "{sku}", "quantity": 1, "expected_unit_price": "abc"}, "invalid_amount"),
        ({"quantity": 1}, "invalid_line"),
        ({"variant_id": 10**30, "quantity": 1}, "invalid_line"),
        ({"variant_id": "7", "quantity": 1}, "invalid_line"),
        ({"sku": "{sku}", "quantity": 1, "colour": "red"}, "invalid_line"),
    ],
)
def test_bad_line_rejected(channels, line, code):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 3)
    line = {key: value.format(sku=variant.sku) if isinstance(value, str) else value for key, value in line.items()}
    before = row_counts()
    with pytest.raises(ValidationFailed) as error:
        place(line)
    assert error.value.code == code
    assert row_counts() == before


def test_empty_lines_rejected(channels):
    with pytest.raises(ValidationFailed) as error:
        place()
    assert error.value.code == "no_lines"


def test_duplicate_sku_rejected(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    with pytest.raises(ValidationFailed) as error:
        place({"sku": variant.sku, "quantity": 1}, {"variant_id": variant.pk, "quantity": 2})
    assert error.value.code == "duplicate_line"
    assert "lines 1 and 2" in error.value.message


def test_inactive_variant_rejected(channels):
    variant, warehouse = VariantFactory(is_active=False), WarehouseFactory()
    receive(variant, warehouse, 5)
    with pytest.raises(ValidationFailed) as error:
        place({"sku": variant.sku, "quantity": 1})
    assert error.value.code == "variant_inactive"


def test_missing_price_rejected(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    VariantPrice.objects.filter(variant=variant, channel=channels["web"]).delete()
    with pytest.raises(ValidationFailed) as error:
        place({"sku": variant.sku, "quantity": 1})
    assert error.value.code == "price_missing"


def test_huge_total_rejected(channels):
    variant, warehouse = VariantFactory(price="999999999.00"), WarehouseFactory()
    receive(variant, warehouse, 5000)
    with pytest.raises(ValidationFailed) as error:
        place({"sku": variant.sku, "quantity": 5000})
    assert error.value.code == "amount_too_large"


@pytest.mark.parametrize(
    ("line", "shipping_total", "code"),
    [
        (OrderLineInput(sku="{sku}", quantity=1), "1e308", "amount_too_large"),
        (OrderLineInput(sku="{sku}", quantity=1, unit_price="1e308"), "0", "amount_too_large"),
        (OrderLineInput(sku="{sku}", quantity=1, unit_price="1.00", unit_cost="1e308"), "0", "invalid_amount"),
    ],
)
def test_amounts_beyond_precision_rejected(channels, line, shipping_total, code):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    line = OrderLineInput(**{**line.__dict__, "sku": variant.sku})
    with pytest.raises(ValidationFailed) as error:
        place(line, shipping_total=shipping_total)
    assert error.value.code == code


def test_future_placed_at_rejected(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    with pytest.raises(ValidationFailed) as error:
        place({"sku": variant.sku, "quantity": 1}, placed_at=timezone.now() + timedelta(hours=1))
    assert error.value.code == "invalid_placed_at"


# Customers


def test_customer_by_id(channels):
    variant, warehouse, customer = VariantFactory(), WarehouseFactory(), CustomerFactory()
    receive(variant, warehouse, 5)
    order = place({"sku": variant.sku, "quantity": 1}, customer_id=customer.pk)
    assert Order.objects.get(pk=order.pk).customer_id == customer.pk


def test_unknown_customer_rejected(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    before = row_counts()
    with pytest.raises(ValidationFailed) as error:
        place({"sku": variant.sku, "quantity": 1}, customer_id=99999999)
    assert error.value.code == "customer_not_found"
    assert row_counts() == before


@pytest.mark.parametrize("customer_id", [10**30, "12", 0])
def test_invalid_customer_id_rejected(channels, customer_id):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    with pytest.raises(ValidationFailed) as error:
        place({"sku": variant.sku, "quantity": 1}, customer_id=customer_id)
    assert error.value.code == "customer_not_found"


def test_merged_customer_resolves_to_kept(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    kept = CustomerFactory()
    merged = CustomerFactory(merged_into=kept)
    receive(variant, warehouse, 5)
    order = place({"sku": variant.sku, "quantity": 1}, customer_id=merged.pk)
    assert Order.objects.get(pk=order.pk).customer_id == kept.pk


def test_customer_by_identity_created_once(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    first = place({"sku": variant.sku, "quantity": 1}, customer_identity={"email": "Grace@Example.com", "first_name": "Grace"})
    second = place({"sku": variant.sku, "quantity": 1}, customer_identity={"email": "grace@example.com"})
    customer = Customer.objects.get(email="grace@example.com")
    assert Order.objects.get(pk=first.pk).customer_id == customer.pk
    assert Order.objects.get(pk=second.pk).customer_id == customer.pk
    assert customer.first_name == "Grace"


def test_customer_merged_event_moves_orders(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    kept, merged = CustomerFactory(), CustomerFactory()
    receive(variant, warehouse, 5)
    order = place({"sku": variant.sku, "quantity": 1}, customer_id=merged.pk)
    payload = {"kept_customer_id": kept.pk, "merged_customer_id": merged.pk}
    orders_move_to_customer(payload)
    orders_move_to_customer(payload)
    assert Order.objects.get(pk=order.pk).customer_id == kept.pk


# Historical imports


def test_historical_order_keeps_its_prices(channels):
    variant, warehouse = VariantFactory(price="99.00"), WarehouseFactory()
    receive(variant, warehouse, 5)
    placed_at = timezone.now() - timedelta(days=900)
    order = place(
        OrderLineInput(sku=variant.sku, quantity=2, unit_price="10.28", discount_amount="4.11", line_total="16.45", unit_cost="7.1234"),
        placed_at=placed_at, external_ref="CA-2016-152156", source="replay",
    )
    stored = Order.objects.get(pk=order.pk)
    assert (stored.subtotal, stored.discount_total, stored.total) == (Decimal("20.56"), Decimal("4.11"), Decimal("16.45"))
    assert (stored.placed_at, stored.external_ref, stored.source) == (placed_at, "CA-2016-152156", "replay")
    line = stored.lines.get()
    assert (line.unit_price, line.discount_amount, line.line_total, line.unit_cost) == (
        Decimal("10.28"), Decimal("4.11"), Decimal("16.45"), Decimal("7.1234"),
    )


def test_historical_duplicate_skus_kept_as_lines(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    order = place(
        OrderLineInput(sku=variant.sku, quantity=1, unit_price="5.00"),
        OrderLineInput(sku=variant.sku, quantity=2, unit_price="4.00"),
        source="replay",
    )
    assert Order.objects.get(pk=order.pk).total == Decimal("13.00")
    assert level(variant, warehouse).reserved == 3


def test_historical_import_twice_is_one_order(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    line = OrderLineInput(sku=variant.sku, quantity=1, unit_price="5.00")
    first, created = order_place_web(lines=[line], external_ref="CA-1", source="replay")
    again, created_again = order_place_web(lines=[line], external_ref="CA-1", source="replay")
    assert created is True
    assert created_again is False
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert level(variant, warehouse).reserved == 1


def test_historical_line_total_mismatch_rejected(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    with pytest.raises(ValidationFailed) as error:
        place(OrderLineInput(sku=variant.sku, quantity=2, unit_price="10.00", line_total="25.00"))
    assert error.value.code == "line_total_mismatch"


def test_mixed_historical_lines_rejected(channels):
    first, second, warehouse = VariantFactory(), VariantFactory(), WarehouseFactory()
    receive(first, warehouse, 5)
    receive(second, warehouse, 5)
    with pytest.raises(ValidationFailed) as error:
        place(OrderLineInput(sku=first.sku, quantity=1, unit_price="1.00"), OrderLineInput(sku=second.sku, quantity=1))
    assert error.value.code == "mixed_prices"


# Choosing again after a concurrent order took the units


def _stale_context(real, *, location, available):
    """Make the context read report `available` units at `location`, as if read before another order won."""

    def read(**kwargs):
        context = real(**kwargs)
        stale = {
            variant_id: selectors.LocationChoice(variant_id=variant_id, location_id=location.pk, location_code=location.code, available=available)
            for variant_id in context.choices
        }
        return selectors.OrderContext(**{**context.__dict__, "choices": stale})

    return read


def test_reservation_race_chooses_again(channels, monkeypatch):
    variant = VariantFactory()
    emptied, other = WarehouseFactory(), WarehouseFactory()
    receive(variant, emptied, 1)
    receive(variant, other, 4)
    StockLevel.objects.filter(variant=variant, location=emptied).update(reserved=1)
    monkeypatch.setattr(services, "order_context_read", _stale_context(selectors.order_context_read, location=emptied, available=10))

    order = place({"sku": variant.sku, "quantity": 2})

    stored = Order.objects.get(pk=order.pk)
    assert stored.location_id == other.pk
    assert stored.lines.get().location_id == other.pk
    assert level(variant, other).reserved == 2
    assert level(variant, emptied).reserved == 1
    assert Reservation.objects.filter(reference_id=order.number).count() == 1


def test_reservation_race_without_stock_left(channels, monkeypatch):
    variant, warehouse = VariantFactory(sku="LAST-ONE"), WarehouseFactory()
    receive(variant, warehouse, 1)
    StockLevel.objects.filter(variant=variant, location=warehouse).update(reserved=1)
    monkeypatch.setattr(services, "order_context_read", _stale_context(selectors.order_context_read, location=warehouse, available=1))
    before = row_counts()
    with pytest.raises(Conflict) as error:
        place({"sku": variant.sku, "quantity": 1})
    assert error.value.code == "insufficient_stock"
    assert "LAST-ONE: 1 requested, 0 available" in error.value.fields["lines"][0]
    assert row_counts() == before


# Register sales


def test_register_sale_sells_at_once(channels):
    variant, store = VariantFactory(price="10.00"), LocationFactory()
    VariantPrice.objects.filter(variant=variant, channel=channels["pos"]).update(amount=Decimal("9.50"))
    cashier = UserFactory()
    receive(variant, store, 5)

    order, created = order_record_register_sale(location_id=store.pk, lines=[{"sku": variant.sku, "quantity": 2}], actor=cashier)

    assert created is True
    stored = Order.objects.get(pk=order.pk)
    assert (stored.channel.code, stored.status, stored.location_id) == ("pos", OrderStatus.COMPLETED, store.pk)
    assert stored.total == Decimal("19.00")
    assert stored.created_by_id == cashier.pk
    assert level(variant, store).on_hand == 3
    movement = StockMovement.objects.get(reference_type="order", reference_id=order.number)
    assert (movement.quantity, movement.reason, movement.actor_id) == (-2, MovementReason.SALE, cashier.pk)
    assert movement_sum(variant, store) == 3
    change = OrderStatusChange.objects.get(order_id=order.pk)
    assert (change.from_status, change.to_status, change.actor_id) == ("", OrderStatus.COMPLETED, cashier.pk)
    assert OutboxEvent.objects.filter(topic="order.completed", payload__number=order.number).count() == 1


def test_register_sale_synced_twice_is_one_order(channels):
    variant, store = VariantFactory(), LocationFactory()
    receive(variant, store, 5)
    sale = {"location_id": store.pk, "lines": [{"sku": variant.sku, "quantity": 1}], "external_ref": "6f1c0c8e-0b7e-4c43-9d2a-2f1a0f9d8b11"}
    first, created = order_record_register_sale(**sale)
    again, created_again = order_record_register_sale(**sale)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert level(variant, store).on_hand == 4


def test_register_sale_below_zero_where_allowed(channels):
    variant, store = VariantFactory(), LocationFactory(allow_negative_stock=True)
    receive(variant, store, 1)
    order_record_register_sale(location_id=store.pk, lines=[{"sku": variant.sku, "quantity": 3}])
    stock_level = level(variant, store)
    assert stock_level.on_hand == -2
    assert stock_level.needs_count is True
    assert movement_sum(variant, store) == -2


def test_register_sale_below_zero_rejected_elsewhere(channels):
    variant, store = VariantFactory(), LocationFactory(allow_negative_stock=False)
    receive(variant, store, 1)
    before = row_counts()
    with pytest.raises(InsufficientStock):
        in_savepoint(order_record_register_sale, location_id=store.pk, lines=[{"sku": variant.sku, "quantity": 2}])
    assert row_counts() == before
    assert level(variant, store).on_hand == 1


def test_register_sale_needs_selling_location(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    with pytest.raises(ValidationFailed) as error:
        order_record_register_sale(location_id=warehouse.pk, lines=[{"sku": variant.sku, "quantity": 1}])
    assert error.value.code == "location_not_selling"


def test_register_sale_unknown_location(channels):
    variant = VariantFactory()
    with pytest.raises(NotFound):
        order_record_register_sale(location_id=987654, lines=[{"sku": variant.sku, "quantity": 1}])


# The state machine


def test_ship_fulfils_reservation(channels):
    variant, warehouse, associate = VariantFactory(), WarehouseFactory(), UserFactory()
    receive(variant, warehouse, 5)
    order = place({"sku": variant.sku, "quantity": 2})

    shipped = order_ship(number=order.number, actor=associate, reason="Left with the carrier")

    assert shipped.status == OrderStatus.SHIPPED
    stock_level = level(variant, warehouse)
    assert (stock_level.on_hand, stock_level.reserved) == (3, 0)
    assert movement_sum(variant, warehouse) == 3
    assert Reservation.objects.get(reference_id=order.number).state == Reservation.CONSUMED
    change = OrderStatusChange.objects.filter(order_id=order.pk).last()
    assert (change.from_status, change.to_status, change.actor_id, change.reason) == (
        OrderStatus.PLACED, OrderStatus.SHIPPED, associate.pk, "Left with the carrier",
    )
    assert OutboxEvent.objects.filter(topic="order.shipped").count() == 1


def test_complete_after_ship(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    order = place({"sku": variant.sku, "quantity": 1})
    order_ship(number=order.number)
    completed = order_complete(number=order.number)
    assert completed.status == OrderStatus.COMPLETED
    assert list(OrderStatusChange.objects.filter(order_id=order.pk).values_list("to_status", flat=True)) == [
        OrderStatus.PLACED, OrderStatus.SHIPPED, OrderStatus.COMPLETED,
    ]


def test_cancel_placed_releases(channels):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    order = place({"sku": variant.sku, "quantity": 2})
    order_cancel(number=order.number, reason="Customer changed their mind")
    stock_level = level(variant, warehouse)
    assert (stock_level.on_hand, stock_level.reserved, stock_level.available) == (5, 0, 5)
    assert Reservation.objects.get(reference_id=order.number).state == Reservation.RELEASED
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_cancel_register_sale_restocks(channels):
    variant, store, manager = VariantFactory(), LocationFactory(), UserFactory()
    receive(variant, store, 5)
    order, _ = order_record_register_sale(location_id=store.pk, lines=[{"sku": variant.sku, "quantity": 2}])
    order_cancel(number=order.number, actor=manager, reason="Voided")
    assert level(variant, store).on_hand == 5
    assert movement_sum(variant, store) == 5
    returned = StockMovement.objects.get(reference_id=order.number, reason=MovementReason.RETURN)
    assert (returned.quantity, returned.actor_id) == (2, manager.pk)


@pytest.mark.parametrize(
    ("steps", "attempt", "allowed"),
    [
        ([], order_complete, "cancelled, shipped"),
        ([order_ship], order_cancel, "completed"),
        ([order_ship], order_ship, "completed"),
        ([order_cancel], order_ship, "none, it is final"),
        ([order_ship, order_complete], order_cancel, "none, it is final"),
    ],
)
def test_invalid_web_transitions(channels, steps, attempt, allowed):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    receive(variant, warehouse, 5)
    order = place({"sku": variant.sku, "quantity": 1})
    for step in steps:
        step(number=order.number)
    status = Order.objects.get(pk=order.pk).status
    changes = OrderStatusChange.objects.count()
    with pytest.raises(InvalidTransition) as error:
        in_savepoint(attempt, number=order.number)
    assert error.value.status_code == 409
    assert order.number in error.value.message
    assert f"is {status}" in error.value.message
    assert f"Allowed next states: {allowed}." in error.value.message
    assert Order.objects.get(pk=order.pk).status == status
    assert OrderStatusChange.objects.count() == changes


def test_register_sale_cannot_ship(channels):
    variant, store = VariantFactory(), LocationFactory()
    receive(variant, store, 5)
    order, _ = order_record_register_sale(location_id=store.pk, lines=[{"sku": variant.sku, "quantity": 1}])
    with pytest.raises(InvalidTransition) as error:
        order_ship(number=order.number)
    assert "Allowed next states: cancelled." in error.value.message


def test_cancel_twice_rejected(channels):
    variant, store = VariantFactory(), LocationFactory()
    receive(variant, store, 5)
    order, _ = order_record_register_sale(location_id=store.pk, lines=[{"sku": variant.sku, "quantity": 1}])
    order_cancel(number=order.number)
    with pytest.raises(InvalidTransition):
        in_savepoint(order_cancel, number=order.number)
    assert level(variant, store).on_hand == 5


def test_transition_unknown_order():
    with pytest.raises(NotFound):
        order_ship(number="0")
