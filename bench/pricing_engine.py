"""Benchmark the basket pricing engine: a 50-line basket against 200 live promotions and 3 price lists.

For the 50-line basket and for the same data with 1 line, it prints the time of pricing_context_load
and of price_basket and their query count. Beside them it prints a baseline measured in the same run:
the raw SQL fetch of the same rows (variants with base prices, price list items, promotions with their
targets, tax rates) through one cursor, with no Python objects built.

Run: DATABASE_URL=postgres://... python bench/pricing_engine.py [--repeat N]
It creates and drops its own database (the configured name with a `_bench_pricing` suffix).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

LINES = 50
PROMOTIONS = 200

RAW_BASELINE_SQL = [
    (
        "SELECT v.id, v.sku, v.name, v.is_active, c.path, p.tax_class_id, vp.amount FROM catalog_variant v "
        "JOIN catalog_product p ON p.id = v.product_id LEFT JOIN catalog_category c ON c.id = p.category_id "
        "LEFT JOIN catalog_variantprice vp ON vp.variant_id = v.id AND vp.channel_id = %(channel)s WHERE v.id = ANY(%(variants)s)"
    ),
    (
        "SELECT i.variant_id, i.amount, l.id, l.name, l.priority, l.location_id, l.customer_group_id FROM pricing_pricelistitem i "
        "JOIN pricing_pricelist l ON l.id = i.price_list_id WHERE i.variant_id = ANY(%(variants)s) AND l.channel_id = %(channel)s AND l.is_active"
    ),
    (
        "SELECT p.*, ARRAY(SELECT variant_id FROM pricing_promotion_variants WHERE promotion_id = p.id), "
        "ARRAY(SELECT c.path FROM pricing_promotion_categories pc JOIN catalog_category c ON c.id = pc.category_id WHERE pc.promotion_id = p.id), "
        "ARRAY(SELECT channel_id FROM pricing_promotion_channels WHERE promotion_id = p.id), "
        "ARRAY(SELECT location_id FROM pricing_promotion_locations WHERE promotion_id = p.id) "
        "FROM pricing_promotion p WHERE p.is_active"
    ),
    "SELECT id, name, rate, tax_class_id FROM pricing_taxrate WHERE region_id = %(region)s",
]


def build_data():
    """Create the catalog, 3 price lists, 200 promotions and a tax region; return what the baskets need."""
    from catalog.models import Category, Channel, Product, TaxClass, Variant, VariantPrice
    from customers.models import Customer
    from inventory.models import Location
    from pricing.models import CustomerGroup, LocationTaxRegion, PriceList, PriceListItem, Promotion, TaxRate, TaxRegion

    pos = Channel.objects.create(code="pos", name="Registers", currency="USD")
    store = Location.objects.create(code="bench-store", name="Bench store", kind=Location.STORE, region="TX")
    region = TaxRegion.objects.create(code="us-tx", name="Texas", country="US", state="TX", rounding="per_document")
    LocationTaxRegion.objects.create(location=store, region=region)
    standard = TaxClass.objects.create(code="standard", name="Standard")
    TaxRate.objects.create(region=region, tax_class=standard, name="State", rate=Decimal("6.25"), effective_from="2000-01-01")
    TaxRate.objects.create(region=region, tax_class=standard, name="City", rate=Decimal("2.00"), effective_from="2000-01-01")

    root = Category.objects.create(name="Food", path="Food")
    categories = [Category.objects.create(name=f"Aisle {n}", path=f"Food > Aisle {n}", parent=root, depth=1) for n in range(10)]
    variants = []
    for n in range(LINES):
        product = Product.objects.create(name=f"Product {n}", category=categories[n % 10], tax_class=standard)
        variant = Variant.objects.create(product=product, sku=f"BENCH-{n:03d}", name=product.name)
        VariantPrice.objects.create(variant=variant, channel=pos, amount=Decimal("1.99") + n)
        variants.append(variant)

    customer = Customer.objects.create(email="bench@example.com")
    group = CustomerGroup.objects.create(code="loyalty", name="Loyalty card members")
    group.members.add(customer)
    now = timezone.now()
    lists = [
        PriceList.objects.create(name="Store", channel=pos, location=store),
        PriceList.objects.create(name="Members", channel=pos, customer_group=group),
        PriceList.objects.create(name="Week sale", channel=pos, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=6)),
    ]
    PriceListItem.objects.bulk_create(
        PriceListItem(price_list=price_list, variant=variant, amount=Decimal("1.49") + n)
        for index, price_list in enumerate(lists)
        for n, variant in enumerate(variants)
        if n % 3 == index
    )

    kinds = ["percentage", "fixed_amount", "buy_x_get_y"]
    scopes = ["items", "categories", "order"]
    for n in range(PROMOTIONS):
        kind, scope = kinds[n % 3], scopes[(n // 3) % 3]
        promotion = Promotion.objects.create(
            name=f"Promotion {n}", kind=kind, scope=scope, value=Decimal("5") if kind == "percentage" else Decimal("0.10"),
            buy_quantity=2, get_quantity=1, get_percent=Decimal("50"), priority=n % 7, min_quantity=n % 4,
        )
        if scope == "items":
            promotion.variants.add(*variants[n % 10 :: 10])
        elif scope == "categories":
            promotion.categories.add(categories[n % 10] if n % 5 else root)
        if n % 4 == 0:
            promotion.channels.add(pos)
        if n % 6 == 0:
            promotion.locations.add(store)
    return {"store": store, "customer": customer, "variants": variants, "channel": pos, "region": region}


def time_calls(function, repeat: int) -> float:
    """Return the median seconds of `repeat` calls of `function`."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(data, line_count: int, repeat: int) -> dict:
    from pricing.basket import Basket, BasketLine
    from pricing.engine import price_basket
    from pricing.selectors import pricing_context_load

    basket = Basket(
        channel="pos",
        lines=tuple(BasketLine(variant_id=variant.id, quantity=1 + index % 4) for index, variant in enumerate(data["variants"][:line_count])),
        store_id=data["store"].id,
        customer_id=data["customer"].id,
    )
    with CaptureQueriesContext(connection) as queries:
        context = pricing_context_load(basket)
        priced = price_basket(basket, context)
    load_seconds = time_calls(lambda: pricing_context_load(basket), repeat)
    price_seconds = time_calls(lambda: price_basket(basket, context), repeat)

    parameters = {"channel": data["channel"].id, "variants": [variant.id for variant in data["variants"][:line_count]], "region": data["region"].id}

    def raw_fetch():
        with connection.cursor() as cursor:
            for sql in RAW_BASELINE_SQL:
                cursor.execute(sql, parameters)
                cursor.fetchall()

    raw_seconds = time_calls(raw_fetch, repeat)
    applied = sum(1 for outcome in priced.promotions if outcome.applied)
    return {
        "lines": line_count,
        "queries": len(queries),
        "load_ms": load_seconds * 1000,
        "price_ms": price_seconds * 1000,
        "raw_ms": raw_seconds * 1000,
        "promotions": len(priced.promotions),
        "applied": applied,
        "total": priced.total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="Timed calls per figure; the median is printed.")
    arguments = parser.parse_args()

    settings.DATABASES["default"].setdefault("TEST", {})
    settings.DATABASES["default"]["TEST"]["NAME"] = f"{settings.DATABASES['default']['NAME']}_bench_pricing"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        data = build_data()
        rows = [measure(data, LINES, arguments.repeat), measure(data, 1, arguments.repeat)]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"Pricing engine: {PROMOTIONS} live promotions, 3 price lists, 2 tax rates, median of {arguments.repeat} runs")
    print(f"{'lines':>5} {'queries':>7} {'load ms':>8} {'price ms':>9} {'total ms':>9} {'raw SQL ms':>10} {'total/raw':>9} {'applied':>8}")
    for row in rows:
        total_ms = row["load_ms"] + row["price_ms"]
        print(
            f"{row['lines']:>5} {row['queries']:>7} {row['load_ms']:>8.2f} {row['price_ms']:>9.2f} {total_ms:>9.2f} "
            f"{row['raw_ms']:>10.2f} {total_ms / row['raw_ms']:>8.1f}x {row['applied']:>4}/{row['promotions']}"
        )
    if rows[0]["queries"] != rows[1]["queries"]:
        print(f"Query count grows with lines: {rows[1]['queries']} for 1 line, {rows[0]['queries']} for {LINES}.")
        sys.exit(1)


if __name__ == "__main__":
    main()
