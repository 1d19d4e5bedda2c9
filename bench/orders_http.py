"""Benchmark placing web orders over real HTTP, beside the raw-SQL floor measured in the same run.

Two loads, each a fixed number of one-line orders sent by concurrent client threads:
- hot: every order buys the same SKU, stocked at one location, so every order waits for one row lock;
- spread: each order buys a random SKU of 10,000, each stocked at 10 locations.
The application figure is POST /api/v1/orders/ with an API key and an Idempotency-Key, served by
gunicorn (gthread workers) started here on 127.0.0.1, with the outbox queued on Redis as in
production. The floor is the minimal transaction sent by psycopg from the same number of threads:
a conditional stock UPDATE, the order insert, the line insert and the reservation insert. It prints
orders per second for both and their ratio (application / floor; 1.0 means no overhead at all).

Run: DATABASE_URL=postgres://... [REDIS_URL=redis://...] python bench/orders_http.py [--orders N]
It creates the database tandem_bench_orders on the configured server and drops it at the end; the
server and the client threads stop after --orders orders or --time-limit seconds per load.
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

SCRATCH_DATABASE = "tandem_bench_orders"
SKUS = 10_000
LOCATIONS = 10
HOT_SKU = "BENCH-HOT"
STOCK_PER_LEVEL = 1_000_000

FLOOR_STATEMENTS = (
    """
    UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now()
    WHERE id = %(stock_level_id)s AND on_hand - reserved - safety_stock >= 1
    RETURNING id
    """,
    """
    INSERT INTO orders_order (channel_id, status, location_id, currency, subtotal, discount_total, shipping_total, tax_total,
                              total, external_ref, source, placed_at, created_at, updated_at)
    VALUES (%(channel_id)s, 'placed', %(location_id)s, 'USD', 10, 0, 0, 0, 10, '', 'bench', now(), now(), now())
    RETURNING id, number
    """,
    """
    INSERT INTO orders_orderline (order_id, line_number, variant_id, sku, name, quantity, unit_price, discount_amount,
                                  tax_amount, line_total, location_id)
    VALUES (%(order_id)s, 1, %(variant_id)s, %(sku)s, 'Bench item', 1, 10, 0, 0, 10, %(location_id)s)
    """,
    """
    INSERT INTO inventory_reservation (stock_level_id, quantity, state, reference_type, reference_id, created_at)
    VALUES (%(stock_level_id)s, 1, 'active', 'order', %(number)s, now())
    """,
)


def database_url() -> str:
    config = connection.settings_dict
    credentials = quote(config["USER"] or "")
    if config["PASSWORD"]:
        credentials += ":" + quote(config["PASSWORD"])
    host = config["HOST"] or ""
    if host.startswith("/"):
        return f"postgres://{credentials}@/{config['NAME']}?host={quote(host)}"
    port = f":{config['PORT']}" if config["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{config['NAME']}"


def build_data() -> dict:
    """10,000 SKUs priced on the web channel and stocked at 10 shipping locations, plus one hot SKU at one."""
    from catalog.models import Channel
    from commerce.api_keys import api_key_create
    from commerce.models import Scope

    web = Channel.objects.create(code=Channel.WEB, name="Online shop", currency="USD")
    Channel.objects.create(code=Channel.POS, name="Registers", currency="USD")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_location (code, name, kind, address_line1, city, region, postal_code, country, "
            "coordinates_synthetic, time_zone, sells_in_store, ships, offers_pickup, ships_from_store, allow_negative_stock, is_active) "
            "SELECT 'loc-' || n, 'Location ' || n, 'warehouse', '', '', '', '', 'US', false, 'UTC', false, true, false, false, false, true "
            "FROM generate_series(0, %s) n",
            [LOCATIONS - 1],
        )
        cursor.execute(
            "INSERT INTO catalog_product (name, description, package_size, handle, source, source_ref, source_data, needs_review, "
            "is_active, created_at, updated_at) VALUES ('Bench product', '', '', '', '', '', '{}', false, true, now(), now()) RETURNING id"
        )
        product_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO catalog_variant (product_id, sku, name, option_values, unit_cost, needs_review, is_active, created_at, updated_at) "
            "SELECT %s, CASE WHEN n = 0 THEN %s ELSE 'BENCH-' || lpad(n::text, 5, '0') END, 'Bench item', '{}', 4, false, true, now(), now() "
            "FROM generate_series(0, %s) n",
            [product_id, HOT_SKU, SKUS],
        )
        cursor.execute("INSERT INTO catalog_variantprice (variant_id, channel_id, amount) SELECT id, %s, 10.00 FROM catalog_variant", [web.pk])
        # The hot SKU is stocked at the first location only, so every order of it locks the same row.
        cursor.execute(
            """
            INSERT INTO inventory_stocklevel (variant_id, location_id, on_hand, reserved, safety_stock, needs_count, updated_at)
            SELECT v.id, l.id, %s, 0, 0, false, now()
            FROM catalog_variant v CROSS JOIN inventory_location l
            WHERE v.sku <> %s OR l.code = 'loc-0'
            """,
            [STOCK_PER_LEVEL, HOT_SKU],
        )
        cursor.execute(
            "INSERT INTO inventory_stockmovement (stock_level_id, quantity, reason, reference_type, reference_id, note, created_at) "
            "SELECT id, on_hand, 'receipt', 'bench', 'setup', '', now() FROM inventory_stocklevel"
        )
        cursor.execute("ANALYZE")
        cursor.execute(
            "SELECT s.id, s.variant_id, v.sku, s.location_id FROM inventory_stocklevel s JOIN catalog_variant v ON v.id = s.variant_id ORDER BY s.id"
        )
        levels = cursor.fetchall()
    _api_key, secret = api_key_create(name="bench", scopes=[Scope.ORDERS_WRITE])
    hot = [level for level in levels if level[2] == HOT_SKU]
    spread = [level for level in levels if level[2] != HOT_SKU]
    return {"secret": secret, "channel_id": web.pk, "hot_levels": hot, "spread_levels": spread,
            "spread_skus": sorted({level[2] for level in spread})}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(*, port: int, workers: int, threads: int, queue: str, log) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "600",
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "CELERY_QUEUE": queue,
        "LOG_LEVEL": "ERROR",
        "DEBUG": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "commerce.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads), "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log.name}")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/health/")
            if probe.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within 60 s; see {log.name}")


def run_load(*, clients: int, orders: int, time_limit: float, place) -> dict:
    """Run `orders` calls of place(client_state) over `clients` threads; return throughput and latency."""
    lock = threading.Lock()
    remaining = [orders]
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + time_limit
    barrier = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        state: dict = {"random": random.Random(index)}
        barrier.wait()
        try:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                error = place(state)
                elapsed = time.perf_counter() - started
                with lock:
                    if error:
                        failures.append(error)
                    else:
                        latencies.append(elapsed)
        finally:
            closer = state.get("close")
            if closer:
                closer()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "placed": len(latencies), "failed": len(failures), "first_failure": failures[0] if failures else "",
        "seconds": elapsed, "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
    }


def combine(rounds: list[dict]) -> dict:
    """Add up rounds of one side: orders per second over the time of all rounds, median of the p50s."""
    placed = sum(figures["placed"] for figures in rounds)
    seconds = sum(figures["seconds"] for figures in rounds)
    failures = [figures["first_failure"] for figures in rounds if figures["first_failure"]]
    return {
        "placed": placed, "failed": sum(figures["failed"] for figures in rounds), "first_failure": failures[0] if failures else "",
        "seconds": seconds, "per_second": placed / seconds if seconds else 0.0,
        "p50_ms": statistics.median(figures["p50_ms"] for figures in rounds),
    }


def http_placer(*, port: int, secret: str, skus: list[str]):
    def place(state: dict) -> str:
        client = state.get("http")
        if client is None:
            client = state["http"] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            state["close"] = client.close
        sku = skus[0] if len(skus) == 1 else state["random"].choice(skus)
        body = json.dumps({"lines": [{"sku": sku, "quantity": 1}]})
        headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {secret}", "Idempotency-Key": str(uuid.uuid4())}
        try:
            client.request("POST", "/api/v1/orders/", body=body, headers=headers)
            response = client.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            client.close()
            state.pop("http")
            return f"{type(error).__name__}: {error}"
        return "" if response.status == 201 else f"{response.status}: {payload[:200]!r}"

    return place


def floor_placer(*, channel_id: int, levels: list[tuple]):
    import psycopg

    config = connection.settings_dict

    def place(state: dict) -> str:
        raw = state.get("raw")
        if raw is None:
            raw = state["raw"] = psycopg.connect(
                dbname=config["NAME"], user=config["USER"], password=config["PASSWORD"] or None,
                host=config["HOST"] or None, port=config["PORT"] or None,
            )
            state["close"] = raw.close
        stock_level_id, variant_id, sku, location_id = levels[0] if len(levels) == 1 else state["random"].choice(levels)
        values = {"stock_level_id": stock_level_id, "variant_id": variant_id, "sku": sku, "location_id": location_id, "channel_id": channel_id}
        with raw.cursor() as cursor:
            cursor.execute(FLOOR_STATEMENTS[0], values)
            if cursor.fetchone() is None:
                raw.rollback()
                return "out of stock"
            cursor.execute(FLOOR_STATEMENTS[1], values)
            values["order_id"], values["number"] = cursor.fetchone()
            cursor.execute(FLOOR_STATEMENTS[2], values)
            cursor.execute(FLOOR_STATEMENTS[3], values)
        raw.commit()
        return ""

    return place


def delete_queue(queue: str) -> None:
    import redis

    try:
        redis.Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").delete(queue)
    except redis.RedisError as error:
        print(f"Could not delete the Redis queue {queue}: {error}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000, help="Orders per load and per side (application, floor).")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent client threads.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
    parser.add_argument("--threads", type=int, default=8, help="Threads per gunicorn worker.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds of floor and application per load.")
    parser.add_argument("--time-limit", type=float, default=120.0, help="Seconds per load and side after which it stops, done or not.")
    arguments = parser.parse_args()

    settings.DATABASES["default"].setdefault("TEST", {})
    settings.DATABASES["default"]["TEST"]["NAME"] = SCRATCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    queue = f"tandem-bench-orders-{uuid.uuid4().hex[:8]}"
    server = None
    rows = []
    log = tempfile.NamedTemporaryFile("w", prefix="orders-http-", suffix=".log", delete=False)
    try:
        data = build_data()
        connection.close()
        port = free_port()
        server = start_server(port=port, workers=arguments.workers, threads=arguments.threads, queue=queue, log=log)
        loads = [
            ("hot SKU", [HOT_SKU], data["hot_levels"]),
            (f"spread, {SKUS} SKUs x {LOCATIONS} locations", data["spread_skus"], data["spread_levels"]),
        ]
        for name, skus, levels in loads:
            app = http_placer(port=port, secret=data["secret"], skus=skus)
            floor = floor_placer(channel_id=data["channel_id"], levels=levels)
            # Warm-up: connections, imports and plan caches on both sides.
            run_load(clients=arguments.clients, orders=arguments.clients * 4, time_limit=30, place=app)
            run_load(clients=arguments.clients, orders=arguments.clients * 4, time_limit=30, place=floor)
            # Alternate the two sides in rounds, so that a change in the machine's load hits both alike.
            per_round = max(arguments.orders // arguments.rounds, arguments.clients)
            time_per_round = arguments.time_limit / arguments.rounds
            floor_rounds, app_rounds = [], []
            for _ in range(arguments.rounds):
                floor_rounds.append(run_load(clients=arguments.clients, orders=per_round, time_limit=time_per_round, place=floor))
                app_rounds.append(run_load(clients=arguments.clients, orders=per_round, time_limit=time_per_round, place=app))
            rows.append((name, combine(app_rounds), combine(floor_rounds)))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        delete_queue(queue)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"Web orders over HTTP: {arguments.clients} client threads, gunicorn {arguments.workers} workers x "
          f"{arguments.threads} threads on 127.0.0.1, {arguments.orders} orders per figure, {os.cpu_count()} CPUs")
    print(f"{'load':<36} {'app/s':>8} {'floor/s':>8} {'ratio':>6} {'app p50 ms':>11} {'floor p50 ms':>13} {'failed':>7}")
    for name, app_figures, floor_figures in rows:
        ratio = app_figures["per_second"] / floor_figures["per_second"] if floor_figures["per_second"] else 0.0
        failed = app_figures["failed"] + floor_figures["failed"]
        print(f"{name:<36} {app_figures['per_second']:>8.1f} {floor_figures['per_second']:>8.1f} {ratio:>6.2f} "
              f"{app_figures['p50_ms']:>11.2f} {floor_figures['p50_ms']:>13.2f} {failed:>7}")
        for side, figures in (("app", app_figures), ("floor", floor_figures)):
            if figures["failed"]:
                print(f"  {side}: {figures['failed']} failed, first: {figures['first_failure']}")
    print(f"Server log: {log.name}")


if __name__ == "__main__":
    main()
