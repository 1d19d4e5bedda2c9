"""Benchmark import_catalog on the Complete Journey products and the Open Food Facts barcodes.

Run: .venv/bin/python bench/catalog_import.py

Creates a scratch database tandem_bench_catalog on the server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/), migrates it, and in the same run measures:
- the import of both files through `import_catalog` (every row validated, looked up, written);
- a re-run of the same import (every row looked up and compared, nothing written);
- a PostgreSQL COPY of the same two files into plain text tables, the floor for moving the bytes;
- the process's peak RSS (ru_maxrss) around the first import, and the peak Python heap
  (tracemalloc) in a third, traced import into emptied tables.
The database is dropped at the end.
"""

import os
import resource
import sys
import tempfile
import time
import tracemalloc
from io import StringIO
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "tandem_bench_catalog"
FILES = ("completejourney_products.csv", "openfoodfacts_lifyzer_barcodes_100k.csv")
COPY_TABLES = {
    "completejourney_products.csv": "bench_cj_products (product_id text, manufacturer_id text, department text, brand text, "
    "product_category text, product_type text, package_size text)",
    "openfoodfacts_lifyzer_barcodes_100k.csv": "bench_off_barcodes (barcode_id text, gtin_type text, product_name text)",
}


def database_urls() -> tuple[str, str]:
    """Return (maintenance database URL, benchmark database URL) on the server of DATABASE_URL."""
    base = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunparse(base._replace(path="/postgres")), urlunparse(base._replace(path=f"/{BENCH_DATABASE}"))


def main() -> int:
    import psycopg

    maintenance_url, bench_url = database_urls()
    with psycopg.connect(maintenance_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    try:
        return run(bench_url)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(maintenance_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")


def run(bench_url: str) -> int:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    data_dir = settings.SHARED_DATA_DIR
    paths = [data_dir / name for name in FILES]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f"Missing data files: {', '.join(missing)}; set TANDEM_SHARED_DATA to the folder that has them.")
        return 1

    call_command("migrate", verbosity=0)
    rows = sum(sum(1 for _ in open(path, encoding="utf-8")) - 1 for path in paths)
    errors = Path(tempfile.gettempdir()) / "bench_catalog_import_errors.csv"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    started = time.perf_counter()
    out = StringIO()
    call_command("import_catalog", *map(str, paths), no_progress=True, errors=str(errors), stdout=out)
    import_seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = out.getvalue().strip()

    started = time.perf_counter()
    out = StringIO()
    call_command("import_catalog", *map(str, paths), no_progress=True, errors=str(errors), stdout=out)
    rerun_seconds = time.perf_counter() - started

    # The heap is traced in a separate, slower pass so that tracing does not distort the timings.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE catalog_barcode, catalog_variantprice, catalog_variant, catalog_product, catalog_category, catalog_brand CASCADE")
    tracemalloc.start()
    call_command("import_catalog", *map(str, paths), no_progress=True, errors=str(errors), stdout=StringIO())
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.connection
        for path in paths:
            table = COPY_TABLES[path.name]
            raw.execute(f"CREATE TABLE {table}")
            with raw.cursor().copy(f"COPY {table.split(' ')[0]} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                with open(path, "rb") as handle:
                    while chunk := handle.read(1 << 16):
                        copy.write(chunk)
        raw.commit()
    copy_seconds = time.perf_counter() - started

    print(summary)
    print()
    print(f"rows in the two files:          {rows:>10,}")
    print(f"import_catalog (first run):     {import_seconds:>10.1f} s  ({rows / import_seconds:,.0f} rows/s)")
    print(f"import_catalog (re-run, no-op): {rerun_seconds:>10.1f} s  ({rows / rerun_seconds:,.0f} rows/s)")
    print(f"COPY into plain tables:         {copy_seconds:>10.2f} s  ({rows / copy_seconds:,.0f} rows/s)")
    print(f"import / COPY:                  {import_seconds / copy_seconds:>10.1f} x")
    print(f"peak Python heap during import: {heap_peak / 2**20:>10.1f} MiB (tracemalloc)")
    # ru_maxrss is in KiB on Linux.
    print(f"peak RSS before / after import: {rss_before / 1024:>6.0f} / {rss_after / 1024:.0f} MiB (ru_maxrss)")
    print(f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
