"""A real Celery worker process on Redis, pointed at the test database, for tests marked `worker`."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from commerce.celery import app


def database_url_of_test_database() -> str:
    config = connection.settings_dict
    credentials = quote(config["USER"] or "")
    if config["PASSWORD"]:
        credentials += ":" + quote(config["PASSWORD"])
    host = config["HOST"] or ""
    if host.startswith("/"):
        return f"postgres://{credentials}@/{config['NAME']}?host={quote(host)}"
    port = f":{config['PORT']}" if config["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{config['NAME']}"


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path: Path):
    """Start `celery worker` on a queue of its own; yield the queue name; stop the worker afterwards."""
    redis_url = settings.REDIS_URL
    if not redis_url or not redis_reachable(redis_url):
        message = f"a reachable Redis at REDIS_URL (now {redis_url or 'unset'}) is needed for worker tests"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)

    queue = f"tandem-test-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "worker.log"
    environment = {**os.environ, "DATABASE_URL": database_url_of_test_database(), "REDIS_URL": redis_url, "CELERY_QUEUE": queue}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "commerce", "worker", "--pool", "solo", "--queues", queue,
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
        )
    previous = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        process.log_path = log_path
        yield queue
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, _ = previous
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate, *, seconds: float = 30.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; return that, or the last falsy value after `seconds`."""
    deadline = time.monotonic() + seconds
    result = predicate()
    while not result and time.monotonic() < deadline:
        time.sleep(interval)
        result = predicate()
    return result
