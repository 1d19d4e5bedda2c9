from celery import shared_task

from .outbox import outbox_deliver_event, outbox_pending_ids


@shared_task(acks_late=True)
def outbox_deliver(event_id: int) -> bool:
    return outbox_deliver_event(event_id=event_id)


@shared_task
def outbox_deliver_pending() -> int:
    return sum(1 for event_id in outbox_pending_ids() if outbox_deliver_event(event_id=event_id))
