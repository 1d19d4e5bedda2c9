import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import transaction

from commerce.models import OutboxEvent
from commerce.outbox import outbox_deliver_event, outbox_publish, outbox_register_handler
from commerce.tasks import outbox_deliver_pending
from tests.worker import database_url_of_test_database, wait_for

received: list[dict] = []


def remember(payload):
    received.append(payload)


def failing(payload):
    raise RuntimeError("handler down")


@pytest.mark.django_db
def test_publish_delivers_on_commit(django_capture_on_commit_callbacks):
    received.clear()
    outbox_register_handler("test.remember", remember)
    with django_capture_on_commit_callbacks(execute=True):
        event = outbox_publish(topic="test.remember", payload={"order_id": 7})
    event.refresh_from_db()
    assert event.delivered_at is not None
    assert event.attempts == 1
    assert received == [{"order_id": 7}]


@pytest.mark.django_db
def test_delivery_twice_runs_handler_once():
    received.clear()
    outbox_register_handler("test.remember", remember)
    event = outbox_publish(topic="test.remember", payload={"n": 1})
    assert outbox_deliver_event(event_id=event.pk) is True
    assert outbox_deliver_event(event_id=event.pk) is False
    assert received == [{"n": 1}]


@pytest.mark.django_db
def test_failed_handler_keeps_event_pending():
    outbox_register_handler("test.failing", failing)
    event = outbox_publish(topic="test.failing", payload={})
    assert outbox_deliver_event(event_id=event.pk) is False
    event.refresh_from_db()
    assert event.delivered_at is None
    assert event.attempts == 1
    assert "handler down" in event.last_error


@pytest.mark.django_db(transaction=True)
def test_broker_down_loses_nothing():
    """A process whose broker is unreachable still commits its change; the event waits for the sweep."""
    script = (
        "from django.db import transaction\n"
        "from commerce.outbox import outbox_publish\n"
        "with transaction.atomic():\n"
        "    outbox_publish(topic='test.unhandled', payload={'order_id': 1})\n"
    )
    environment = {**os.environ, "DATABASE_URL": database_url_of_test_database(), "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], env=environment, cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the sweep will deliver it" in result.stderr
    event = OutboxEvent.objects.get(topic="test.unhandled")
    assert event.delivered_at is None
    assert outbox_deliver_pending() == 1
    event.refresh_from_db()
    assert event.delivered_at is not None


@pytest.mark.worker
def test_worker_delivers_pending_events(celery_worker_process):
    events = [OutboxEvent.objects.create(topic="test.unhandled", payload={"n": n}) for n in range(3)]
    outbox_deliver_pending.delay()
    delivered = wait_for(lambda: OutboxEvent.objects.filter(pk__in=[e.pk for e in events], delivered_at__isnull=False).count() == 3)
    assert delivered, "the worker did not deliver the events"
