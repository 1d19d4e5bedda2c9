import pytest

from commerce.models import IdempotencyKey, OutboxEvent
from inventory.models import Reservation, StockMovement
from inventory.services import StockLine, stock_receive
from orders.models import Order, OrderLine, OrderStatusChange


def receive(variant, location, quantity: int) -> None:
    stock_receive(lines=[StockLine(variant.pk, location.pk, quantity)], reference_type="receipt", reference_id="PO-TEST")


def row_counts() -> dict[str, int]:
    """Counts of every table an order writes, to assert that a rejected request wrote nothing."""
    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "status_changes": OrderStatusChange.objects.count(),
        "reservations": Reservation.objects.count(),
        "movements": StockMovement.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "idempotency_keys": IdempotencyKey.objects.count(),
    }


@pytest.fixture
def counts():
    return row_counts
