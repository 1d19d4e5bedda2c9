"""`manage.py replay` end to end on the small fixture files: figures, stock, the second run."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from catalog.models import Variant
from inventory.models import StockLevel, StockMovement
from orders.models import Order, OrderLine, OrderStatus

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def _replay(*arguments) -> str:
    output = StringIO()
    call_command("replay", "--data-dir", str(FIXTURES), "--no-progress", *arguments, stdout=output)
    return output.getvalue()


def test_replay_fixture_figures():
    output = _replay()
    assert "Register sales (Complete Journey): 3 orders, 5 lines, 32628 units, sales 86.16 at 2 locations" in output
    assert "Web orders (Superstore): 3 orders, 4 lines, 10 units, sales 2,184.54 at 2 locations" in output
    assert "pos: 2 lines: line quantity is 0" in output
    assert "web: 1 lines: line quantity is 0" in output
    assert "pos: 2 orders: order has no line left to replay" in output
    assert OrderLine.objects.aggregate(total=Sum("line_total"))["total"] == Decimal("2270.70")
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED}


def test_replay_fixture_keeps_file_prices():
    _replay()
    fuel = OrderLine.objects.get(sku="CJ-1004")
    assert (fuel.quantity, fuel.unit_price, fuel.discount_amount, fuel.line_total) == (32623, Decimal("0.01"), Decimal("251.23"), Decimal("75.00"))
    bookcase = OrderLine.objects.get(order__external_ref="US-2015-000001")
    assert (bookcase.unit_price, bookcase.discount_amount, bookcase.line_total) == (Decimal("283.49"), Decimal("226.81"), Decimal("907.15"))
    assert bookcase.unit_cost == Decimal("235.2926")
    assert Order.objects.get(external_ref="900002").customer.external_id == "cj-household-7"
    assert Order.objects.get(external_ref="CA-2016-000002").customer.external_id == "ss-CG-12520"


def test_replay_fixture_placeholder_and_stock():
    _replay()
    placeholder = Variant.objects.get(sku="CJ-9999")
    assert placeholder.needs_review is True
    assert OrderLine.objects.filter(variant=placeholder).count() == 1
    assert set(StockLevel.objects.values_list("on_hand", "reserved")) == {(5, 0)}
    assert StockMovement.objects.aggregate(total=Sum("quantity"))["total"] == 5 * StockLevel.objects.count()
    fuel_receipts = StockMovement.objects.filter(stock_level__variant__sku="CJ-1004", reason="receipt")
    assert fuel_receipts.aggregate(total=Sum("quantity"))["total"] == 32628


def test_replay_fixture_second_run():
    _replay()
    counts = (Order.objects.count(), OrderLine.objects.count(), StockMovement.objects.count(), Variant.objects.count())
    output = _replay()
    assert (Order.objects.count(), OrderLine.objects.count(), StockMovement.objects.count(), Variant.objects.count()) == counts
    assert "(0 placed now, 3 already there)" in output
    assert "Opening stock received now: 0 units" in output


def test_replay_limits_extend_stock():
    _replay("--limit-baskets", "1", "--limit-orders", "1")
    assert Order.objects.count() == 2
    output = _replay()
    assert "(2 placed now, 1 already there)" in output
    assert set(StockLevel.objects.values_list("on_hand", flat=True)) == {5}


def test_replay_rejects_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("replay", "--data-dir", str(tmp_path / "missing"), stdout=StringIO())


def test_replay_rejects_negative_limit():
    with pytest.raises(CommandError, match="--limit-baskets must be 0 or more"):
        _replay("--limit-baskets", "-1")
