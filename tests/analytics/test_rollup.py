import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import DailySales
from analytics.services import sales_rollup_days
from analytics.tasks import sales_rollup_range
from orders.models import Order, OrderLine
from tests.factories import ChannelFactory, LocationFactory, VariantFactory
from tests.worker import wait_for

DAY = datetime.date(2017, 3, 14)


def make_order(*, channel, location, variant, status="completed", placed_at=None, lines=((2, "3.50"),), number=None):
    order = Order.objects.create(
        number=number or f"T-{Order.objects.count() + 1}", channel=channel, status=status, location=location, currency="USD",
        placed_at=placed_at or datetime.datetime(2017, 3, 14, 12, tzinfo=datetime.timezone.utc),
    )
    for index, (quantity, total) in enumerate(lines, start=1):
        OrderLine.objects.create(
            order=order, line_number=index, variant=variant, sku=variant.sku, name=variant.name, quantity=quantity,
            unit_price=Decimal(total) / quantity, line_total=Decimal(total), unit_cost=Decimal("1.2500"), location=location,
        )
    return order


def sales_fixture():
    pos, web = ChannelFactory(code="pos"), ChannelFactory(code="web")
    store, variant = LocationFactory(), VariantFactory()
    make_order(channel=pos, location=store, variant=variant, lines=((2, "3.50"), (1, "0.99")))
    make_order(channel=pos, location=store, variant=variant, lines=((4, "10.00"),))
    make_order(channel=pos, location=store, variant=variant, status="cancelled", lines=((9, "99.00"),))
    make_order(channel=web, location=store, variant=variant, status="placed", lines=((1, "5.00"),))
    # Just before midnight UTC on the 13th: another day.
    make_order(channel=pos, location=store, variant=variant, placed_at=datetime.datetime(2017, 3, 13, 23, 59, tzinfo=datetime.timezone.utc))
    return pos, web, store


@pytest.mark.django_db
def test_rollup_counts_day_per_channel():
    pos, web, store = sales_fixture()
    assert sales_rollup_days(first_day=DAY, last_day=DAY) == 2
    row = DailySales.objects.get(day=DAY, channel=pos, location=store)
    assert (row.orders, row.lines, row.units, row.sales) == (2, 3, 7, Decimal("14.49"))
    assert row.cost == Decimal("8.7500")
    assert DailySales.objects.get(day=DAY, channel=web).sales == Decimal("5.00")


@pytest.mark.django_db
def test_rollup_twice_same_rows():
    sales_fixture()
    sales_rollup_days(first_day=DAY - datetime.timedelta(days=1), last_day=DAY)
    sales_rollup_days(first_day=DAY - datetime.timedelta(days=1), last_day=DAY)
    assert DailySales.objects.count() == 3
    assert DailySales.objects.filter(day=DAY - datetime.timedelta(days=1)).get().orders == 1


@pytest.mark.django_db
def test_rollup_day_in_store_time_zone():
    sales_fixture()
    sales_rollup_days(first_day=DAY - datetime.timedelta(days=1), last_day=DAY, time_zone="America/New_York")
    # 2017-03-13 23:59 UTC is 19:59 on the 13th in New York; 12:00 UTC on the 14th is 08:00 there.
    assert DailySales.objects.filter(day=DAY - datetime.timedelta(days=1)).get().orders == 1


@pytest.mark.django_db
def test_rollup_command_rejects_reversed_range():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="before"):
        call_command("rollup_sales", "--from", "2017-03-14", "--to", "2017-03-01")


@pytest.mark.worker
def test_rollup_runs_on_real_worker(celery_worker_process):
    pos, _, store = sales_fixture()
    sales_rollup_range.delay(DAY.isoformat(), DAY.isoformat())
    row = wait_for(lambda: DailySales.objects.filter(day=DAY, channel=pos, location=store).first())
    assert row is not None, "the worker wrote no daily sales row"
    assert (row.orders, row.units, row.sales) == (2, 7, Decimal("14.49"))
    assert timezone.now() - row.refreshed_at < datetime.timedelta(minutes=5)
