"""Benchmark availability of a 20-SKU basket over 10,000 SKUs stocked at 10 locations.

It times the same read three ways, each over the same random baskets:
- the selector availability_for_skus (one query, rows shaped into per-SKU results);
- POST /api/v1/availability/ through Django's test client with an inventory:read API key
  (authentication, the view, serialization, JSON rendering);
- the baseline: the equivalent raw SQL sent through a separate psycopg connection, rows fetched and
  nothing else.
It prints p50 and p99 latency, queries per call and the ratio of each figure to the baseline.

Run: DATABASE_URL=postgres://... python bench/availability.py [--calls N]
It creates the database tandem_bench_availability on the configured server, and drops it at the end.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

SKUS = 10_000
LOCATIONS = 10
BASKET = 20
SCRATCH_DATABASE = "tandem_bench_availability"

BASELINE_SQL = """
    SELECT v.sku, v.id, l.code, s.on_hand, s.reserved, s.safety_stock, GREATEST(s.available, 0)
    FROM catalog_variant v
    JOIN inventory_stocklevel s ON s.variant_id = v.id
    JOIN inventory_location l ON l.id = s.location_id
    WHERE v.sku = ANY(%s) AND l.is_active AND (l.ships OR l.ships_from_store OR l.offers_pickup)
    ORDER BY v.sku, l.code
"""


def build_data() -> list[str]:
    """Create 10,000 variants, 10 locations and a stock level with its receipt movement for every pair."""
    from catalog.models import Product, Variant
    from inventory.models import Location
    from inventory.services import location_upsert

    products = Product.objects.bulk_create([Product(name=f"Bench product {n}") for n in range(SKUS // 10)])
    Variant.objects.bulk_create(
        [Variant(product=products[n // 10], sku=f"BENCH-{n:05d}", name=f"Bench item {n}") for n in range(SKUS)], batch_size=2000,
    )
    for n in range(LOCATIONS):
        kind = Location.WAREHOUSE if n < 2 else Location.STORE
        # Two stores sell at the register only, so the online read has locations to leave out.
        location_upsert(code=f"loc-{n:02d}", name=f"Location {n}", kind=kind, ships_from_store=2 <= n < 8, offers_pickup=n < 8 and kind == Location.STORE)
    with connection.cursor() as cursor:
        # Random but reproducible stock; on hand equals its one receipt movement, as the ledger requires.
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            """
            INSERT INTO inventory_stocklevel (variant_id, location_id, on_hand, reserved, safety_stock, needs_count, updated_at)
            SELECT v.id, l.id, q.on_hand, LEAST(q.on_hand, q.reserved), q.safety, false, now()
            FROM catalog_variant v CROSS JOIN inventory_location l
            -- The reference to v.id makes the subquery correlated, so random() runs again for every row.
            CROSS JOIN LATERAL (SELECT (random() * 40)::int + 0 * v.id AS on_hand, (random() * 5)::int AS reserved,
                                       (random() * 3)::int AS safety) q
            """
        )
        cursor.execute(
            """
            INSERT INTO inventory_stockmovement (stock_level_id, quantity, reason, reference_type, reference_id, note, created_at)
            SELECT id, on_hand, 'receipt', 'bench', 'setup', '', now() FROM inventory_stocklevel WHERE on_hand <> 0
            """
        )
        cursor.execute("ANALYZE")
    return list(Variant.objects.values_list("sku", flat=True))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(name: str, call, baskets: list[list[str]]) -> dict:
    for basket in baskets[:50]:
        call(basket)  # warm-up: connections, plan caches, imports
    timings, queries = [], []
    for basket in baskets:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call(basket)
            timings.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
    return {"name": name, "p50": statistics.median(timings), "p99": percentile(timings, 0.99), "queries": max(queries)}


def run(calls: int) -> list[dict]:
    import psycopg
    from rest_framework.test import APIClient

    from commerce.api_keys import api_key_create
    from commerce.models import Scope
    from inventory.selectors import availability_for_skus

    skus = build_data()
    chooser = random.Random(7)
    baskets = [chooser.sample(skus, BASKET) for _ in range(calls)]

    def selector(basket):
        answer = availability_for_skus(skus=basket, online=True)
        assert len(answer["results"]) == BASKET

    _api_key, secret = api_key_create(name="bench", scopes=[Scope.INVENTORY_READ])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    def api(basket):
        response = client.post("/api/v1/availability/", {"skus": basket}, format="json")
        assert response.status_code == 200, response.content

    database = settings.DATABASES["default"]
    raw = psycopg.connect(
        dbname=database["NAME"], user=database["USER"], password=database["PASSWORD"] or None,
        host=database["HOST"] or None, port=database["PORT"] or None, autocommit=True,
    )

    def baseline(basket):
        with raw.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [basket])
            cursor.fetchall()

    try:
        rows = [measure("raw SQL (psycopg)", baseline, baskets), measure("selector", selector, baskets), measure("HTTP API (test client)", api, baskets)]
    finally:
        raw.close()
    # The raw connection is outside Django, so it shows no queries there; it sends exactly one.
    rows[0]["queries"] = 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="Timed calls per figure, each with a different random basket.")
    arguments = parser.parse_args()

    settings.DATABASES["default"].setdefault("TEST", {})
    settings.DATABASES["default"]["TEST"]["NAME"] = SCRATCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rows = run(arguments.calls)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    baseline = rows[0]
    print(f"Availability of a {BASKET}-SKU basket, online, over {SKUS} SKUs x {LOCATIONS} locations, {arguments.calls} calls each")
    print(f"{'path':<24} {'queries':>7} {'p50 ms':>8} {'p99 ms':>8} {'p50/raw':>8} {'p99/raw':>8}")
    for row in rows:
        print(
            f"{row['name']:<24} {row['queries']:>7} {row['p50']:>8.3f} {row['p99']:>8.3f} "
            f"{row['p50'] / baseline['p50']:>7.1f}x {row['p99'] / baseline['p99']:>7.1f}x"
        )


if __name__ == "__main__":
    main()
