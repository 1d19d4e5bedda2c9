from celery import shared_task
from django.utils import timezone

from .services import points_expire


@shared_task(acks_late=True)
def loyalty_points_expire() -> int:
    """Expire the points due up to now; safe to run twice, because expiry entries are written once per lot."""
    return points_expire(as_of=timezone.now())
