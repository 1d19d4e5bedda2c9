"""Time historical register sales with a customer, as the replay records them, without and with a loyalty program.

Each round records SALES sales of 2 lines with historical prices through order_record_register_sale,
in batches of 250 per transaction as the replay does. The baseline is the same sales with no active
program, where earning costs one query per sale. In the measured case every sale opens or updates an
account and earns points. Rounds alternate so that both see the same machine load. It also counts the queries
of one sale in each case.

Run: DATABASE_URL=postgres://... python bench/order_points.py
It creates the database tandem_bench_order_points on the configured server and drops it at the end.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

SCRATCH_DATABASE = "tandem_bench_order_points"
SALES = 1000
BATCH_SIZE = 250
ROUNDS = 3


def build_data():
    from catalog.models import Channel, Product, Variant, VariantPrice
    from customers.models import Customer
    from inventory.models import Location
    from inventory.services import StockLine, stock_receive

    pos = Channel.objects.create(code=Channel.POS, name="Registers", currency="USD")
    product = Product.objects.create(name="Bench product")
    variants = [Variant.objects.create(product=product, sku=f"POINTS-{n}", name=f"Item {n}") for n in range(2)]
    VariantPrice.objects.bulk_create([VariantPrice(variant=variant, channel=pos, amount="10.00") for variant in variants])
    store = Location.objects.create(code="bench-store", name="Bench store", kind=Location.STORE, sells_in_store=True)
    stock_receive(lines=[StockLine(variant.pk, store.pk, 1_000_000) for variant in variants], reference_type="receipt", reference_id="bench")
    customers = Customer.objects.bulk_create([Customer(email=f"bench{n}@example.com") for n in range(500)])
    return store, variants, [customer.pk for customer in customers]


def record(store, variants, customer_ids, *, prefix: str, count: int) -> float:
    from orders.services import OrderLineInput, order_record_register_sale

    started = time.perf_counter()
    for batch_start in range(0, count, BATCH_SIZE):
        with transaction.atomic():
            for number in range(batch_start, min(batch_start + BATCH_SIZE, count)):
                order_record_register_sale(
                    location_id=store.pk,
                    lines=[
                        OrderLineInput(variant_id=variant.pk, quantity=1, unit_price="10.00", discount_amount="1.00", line_total="9.00")
                        for variant in variants
                    ],
                    customer_id=customer_ids[number % len(customer_ids)],
                    external_ref=f"{prefix}-{number}",
                    source="replay",
                )
    return time.perf_counter() - started


def queries_of_one_sale(store, variants, customer_ids, *, prefix: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        record(store, variants, customer_ids, prefix=prefix, count=1)
    return len(captured.captured_queries)


def measure():
    from loyalty.models import Program

    store, variants, customer_ids = build_data()
    program = Program.objects.create(code="bench", name="Bench rewards", is_active=False)
    timings = {"no program": [], "program": []}
    for round_number in range(ROUNDS):
        for case in ("no program", "program"):
            Program.objects.filter(pk=program.pk).update(is_active=case == "program")
            timings[case].append(record(store, variants, customer_ids, prefix=f"{case}-{round_number}", count=SALES))
    counts = {}
    for case in ("no program", "program"):
        Program.objects.filter(pk=program.pk).update(is_active=case == "program")
        counts[case] = queries_of_one_sale(store, variants, customer_ids, prefix=f"{case}-count")
    return timings, counts


def main() -> None:
    settings.DATABASES["default"].setdefault("TEST", {})
    settings.DATABASES["default"]["TEST"]["NAME"] = SCRATCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        timings, counts = measure()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    baseline = min(timings["no program"])
    print(f"Historical register sales with a customer, {SALES} per round, {BATCH_SIZE} per transaction, best of {ROUNDS} rounds")
    print(f"{'case':>12} {'ms per sale':>12} {'queries per sale':>17} {'ratio':>6}")
    for case in ("no program", "program"):
        best = min(timings[case])
        print(f"{case:>12} {best / SALES * 1000:>12.2f} {counts[case]:>17} {best / baseline:>5.2f}x")
    print("baseline = no active program (earning is skipped after one query); queries include the batch's BEGIN and COMMIT")


if __name__ == "__main__":
    main()
