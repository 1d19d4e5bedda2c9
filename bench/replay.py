"""Benchmark the replay: milliseconds per register sale and per web order, beside a round-trip baseline.

Run: .venv/bin/python bench/replay.py [--baskets N] [--orders M]

Creates the scratch database tandem_bench_replay on the server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/), migrates it, and in the same run measures:
- the first N Complete Journey baskets replayed as register sales, and the first M Superstore orders
  as web orders (placed, shipped, completed), through orders.replay.runner, without the catalog
  import: every SKU is made a placeholder variant first, outside the timing;
- the baseline: one `SELECT 1` round trip on the same connection, the floor of any statement.
It prints milliseconds per order, statements per order and the ratio of each order's time to the
baseline round trip. Outbox events are delivered in-process as without Redis. The database is
dropped at the end.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "tandem_bench_replay"
ROUND_TRIPS = 2000


def database_urls() -> tuple[str, str]:
    """Return (maintenance database URL, benchmark database URL) on the server of DATABASE_URL."""
    base = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunparse(base._replace(path="/postgres")), urlunparse(base._replace(path=f"/{BENCH_DATABASE}"))


def main() -> int:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baskets", type=int, default=2000, help="register sales to replay (default %(default)s)")
    parser.add_argument("--orders", type=int, default=200, help="web orders to replay (default %(default)s)")
    args = parser.parse_args()

    maintenance_url, bench_url = database_urls()
    with psycopg.connect(maintenance_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    try:
        return run(bench_url, baskets=args.baskets, orders=args.orders)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(maintenance_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")


def run(bench_url: str, *, baskets: int, orders: int) -> int:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.replay import runner
    from orders.replay.plan import POS, WEB, plan_build
    from orders.replay.sources import COMPLETEJOURNEY_TRANSACTIONS

    data_dir = Path(settings.SHARED_DATA_DIR)
    if not (data_dir / COMPLETEJOURNEY_TRANSACTIONS).is_file():
        print(f"{COMPLETEJOURNEY_TRANSACTIONS} is missing from {data_dir}: set TANDEM_SHARED_DATA to the folder that has it.")
        return 1
    call_command("migrate", verbosity=0)
    plan = plan_build(data_dir=data_dir, limit_baskets=baskets, limit_orders=orders)

    result = runner.ReplayResult()
    with runner.commits_without_flush_wait():
        channels = runner.channels_ensure()
        locations = runner.locations_ensure(plan.store_ids)
        variant_ids = runner.variants_resolve(plan, result)
        customer_ids = runner.customers_resolve(plan.orders())
        runner.opening_stock_receive(plan, variant_ids=variant_ids, locations=locations, margin=runner.OPENING_MARGIN)

        with connection.cursor() as cursor:
            started = time.perf_counter()
            for _ in range(ROUND_TRIPS):
                cursor.execute("SELECT 1")
            round_trip = (time.perf_counter() - started) / ROUND_TRIPS

        timings = {}
        for code, planned in ((POS, plan.register_sales), (WEB, plan.web_orders)):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                runner.orders_replay(
                    planned, channel=channels[code], variant_ids=variant_ids, customer_ids=customer_ids,
                    locations=locations, result=result,
                )
                timings[code] = (time.perf_counter() - started, len(queries.captured_queries), len(planned))

    print(f"baseline: SELECT 1 round trip {round_trip * 1000:.3f} ms")
    for code, label in ((POS, "register sale"), (WEB, "web order (placed, shipped, completed)")):
        seconds, statements, count = timings[code]
        if not count:
            continue
        per_order = seconds / count
        print(
            f"{label}: {count} orders in {seconds:.1f} s, {per_order * 1000:.2f} ms per order, "
            f"{statements / count:.1f} statements per order, {per_order / round_trip:.0f}x the baseline round trip"
        )
    if result.rejected:
        print(f"rejected: {dict(result.rejected)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
