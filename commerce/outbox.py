"""The outbox: events written in the caller's transaction and delivered to handlers after commit.

Higher apps register a handler per topic in their `AppConfig.ready()`. Delivery runs in a Celery task
started on commit, and the beat schedule sweeps whatever a lost worker or a broker outage left pending.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import OutboxEvent

logger = logging.getLogger(__name__)

_handlers: dict[str, list[Callable[[dict], None]]] = {}


def outbox_register_handler(topic: str, handler: Callable[[dict], None]) -> None:
    if handler not in _handlers.setdefault(topic, []):
        _handlers[topic].append(handler)


def outbox_publish(*, topic: str, payload: dict) -> OutboxEvent:
    """Write an event in the current transaction; its delivery is queued when the transaction commits."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload)

    def enqueue():
        from .tasks import outbox_deliver

        try:
            outbox_deliver.delay(event.pk)
        except Exception:  # the broker is down: the periodic sweep delivers it later
            logger.warning("Could not queue outbox event %s (%s); the sweep will deliver it", event.pk, topic, exc_info=True)

    transaction.on_commit(enqueue)
    return event


def outbox_deliver_event(*, event_id: int) -> bool:
    """Deliver one event to its handlers; safe to run twice. Returns True when the event is delivered."""
    with transaction.atomic():
        event = OutboxEvent.objects.select_for_update(skip_locked=True).filter(pk=event_id, delivered_at__isnull=True).first()
        if event is None:
            return False
        event.attempts += 1
        try:
            for handler in _handlers.get(event.topic, []):
                with transaction.atomic():
                    handler(event.payload)
        except Exception as error:
            logger.exception("Outbox event %s (%s) failed on attempt %d", event.pk, event.topic, event.attempts)
            event.last_error = f"{type(error).__name__}: {error}"[:2000]
            event.save(update_fields=["attempts", "last_error"])
            return False
        event.delivered_at = timezone.now()
        event.last_error = ""
        event.save(update_fields=["attempts", "delivered_at", "last_error"])
        return True


def outbox_pending_ids(limit: int = 500) -> list[int]:
    return list(OutboxEvent.objects.filter(delivered_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit])
