import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("commerce")


class CommerceConfig(AppConfig):
    name = "commerce"
    verbose_name = "Commerce kernel"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI description of API keys)

        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.info("REDIS_URL is not set: Celery tasks run in-process")
