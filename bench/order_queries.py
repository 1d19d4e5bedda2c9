"""Count the SQL queries of placing a web order with 1 line and with 10 lines.

It posts to /api/v1/orders/ through Django's test client with an orders:write API key and an
Idempotency-Key, and counts every statement Django sends: the API key lookup, BEGIN, the statements
of the transaction and COMMIT. Outbox deliveries are queued instead of run in-process, as a Celery
worker takes them in production. The baseline is the minimal transaction of bench/orders_http.py: a
conditional stock UPDATE and three inserts (order, line, reservation), 4 statements plus BEGIN and COMMIT.

Run: DATABASE_URL=postgres://... python bench/order_queries.py
It creates the database tandem_bench_order_queries on the configured server and drops it at the end.
"""

import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

SCRATCH_DATABASE = "tandem_bench_order_queries"
LINE_COUNTS = (1, 10)
BASELINE_STATEMENTS = 4


def build_data() -> tuple[list[str], str]:
    from catalog.models import Channel, Product, Variant, VariantPrice
    from commerce.api_keys import api_key_create
    from commerce.models import Scope
    from inventory.models import Location
    from inventory.services import StockLine, stock_receive

    web = Channel.objects.create(code=Channel.WEB, name="Online shop", currency="USD")
    product = Product.objects.create(name="Bench product")
    variants = [Variant.objects.create(product=product, sku=f"QUERY-{n:02d}", name=f"Item {n}") for n in range(max(LINE_COUNTS))]
    VariantPrice.objects.bulk_create([VariantPrice(variant=variant, channel=web, amount="10.00") for variant in variants])
    warehouses = [Location.objects.create(code=f"wh-{n}", name=f"Warehouse {n}", kind=Location.WAREHOUSE, ships=True) for n in range(2)]
    stock_receive(
        lines=[StockLine(variant.pk, warehouse.pk, 1000) for variant in variants for warehouse in warehouses],
        reference_type="receipt", reference_id="bench",
    )
    _api_key, secret = api_key_create(name="bench", scopes=[Scope.ORDERS_WRITE])
    return [variant.sku for variant in variants], secret


def count_queries() -> list[tuple[int, int, int]]:
    import commerce.tasks
    from rest_framework.test import APIClient

    skus, secret = build_data()
    commerce.tasks.outbox_deliver.delay = lambda event_id: None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    def place(line_count: int):
        body = {"lines": [{"sku": sku, "quantity": 1} for sku in skus[:line_count]]}
        response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code == 201, response.content

    place(1)  # the first request of a key also stamps its last use
    rows = []
    for line_count in LINE_COUNTS:
        with CaptureQueriesContext(connection) as captured:
            place(line_count)
        sqls = [query["sql"] for query in captured.captured_queries]
        in_transaction = sqls.index("COMMIT") - sqls.index("BEGIN") - 1
        rows.append((line_count, len(sqls), in_transaction))
    return rows


def main() -> None:
    settings.DATABASES["default"].setdefault("TEST", {})
    settings.DATABASES["default"]["TEST"]["NAME"] = SCRATCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rows = count_queries()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print("SQL queries per web order placed through POST /api/v1/orders/ (API key, Idempotency-Key)")
    print(f"{'lines':>5} {'all queries':>12} {'in transaction':>15} {'baseline in transaction':>24} {'ratio':>6}")
    for line_count, total, in_transaction in rows:
        print(f"{line_count:>5} {total:>12} {in_transaction:>15} {BASELINE_STATEMENTS:>24} {in_transaction / BASELINE_STATEMENTS:>5.1f}x")
    print("all queries = the API key lookup + BEGIN + the transaction's statements + COMMIT")
    if len({total for _, total, _ in rows}) != 1:
        print("The query count depends on the number of lines: placing an order must cost the same for any basket.")
        sys.exit(1)


if __name__ == "__main__":
    main()
