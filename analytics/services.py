"""Rollups of the orders into reporting tables. Each rollup rebuilds whole days, so it is safe to run twice."""

import datetime
import logging

from django.db import connection, transaction

logger = logging.getLogger(__name__)

# Orders that count as sales: cancelled ones do not.
COUNTED_STATUSES = ("placed", "shipped", "completed")


def sales_rollup_days(*, first_day: datetime.date, last_day: datetime.date, time_zone: str = "UTC") -> int:
    """Rebuild DailySales for every day from `first_day` to `last_day` (inclusive); return the rows written.

    Days are calendar days in `time_zone`. Runs as one transaction: readers see the old or the new rows.
    """
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_dailysales WHERE day BETWEEN %s AND %s", [first_day, last_day])
        cursor.execute(
            """
            INSERT INTO analytics_dailysales (day, channel_id, location_id, currency, orders, lines, units, sales, cost, refreshed_at)
            SELECT (o.placed_at AT TIME ZONE %(zone)s)::date, o.channel_id, o.location_id, o.currency,
                   count(DISTINCT o.id), count(l.id), COALESCE(sum(l.quantity), 0), COALESCE(sum(l.line_total), 0),
                   COALESCE(sum(l.quantity * l.unit_cost), 0), now()
            FROM orders_order o
            LEFT JOIN orders_orderline l ON l.order_id = o.id
            WHERE o.status = ANY(%(statuses)s)
              AND o.placed_at >= (%(first)s::date)::timestamp AT TIME ZONE %(zone)s
              AND o.placed_at < ((%(last)s::date) + 1)::timestamp AT TIME ZONE %(zone)s
            GROUP BY 1, o.channel_id, o.location_id, o.currency
            """,
            {"zone": time_zone, "statuses": list(COUNTED_STATUSES), "first": first_day, "last": last_day},
        )
        written = cursor.rowcount
    logger.info("Rebuilt daily sales from %s to %s: %d rows", first_day, last_day, written)
    return written
