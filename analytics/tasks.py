import datetime

from celery import shared_task
from django.utils import timezone

from .services import sales_rollup_days


@shared_task(acks_late=True)
def sales_rollup_nightly(days_back: int = 2) -> int:
    """Rebuild the last `days_back` days, so late register syncs of yesterday are counted too."""
    today = timezone.localdate()
    return sales_rollup_days(first_day=today - datetime.timedelta(days=days_back), last_day=today)


@shared_task(acks_late=True)
def sales_rollup_range(first_day: str, last_day: str) -> int:
    return sales_rollup_days(first_day=datetime.date.fromisoformat(first_day), last_day=datetime.date.fromisoformat(last_day))
