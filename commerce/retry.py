"""Retry a whole transaction when PostgreSQL aborts it as a deadlock victim or a serialization failure."""

import functools
import logging
import random
import time

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
MAX_ATTEMPTS = 5


def _sqlstate(error: Exception) -> str | None:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None)


def retry_on_deadlock(function):
    """Run `function` again (up to MAX_ATTEMPTS) when its outermost transaction is aborted by a deadlock.

    Only retries when called outside any transaction, because an inner block cannot be replayed alone.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                if _sqlstate(error) not in RETRYABLE_SQLSTATES or connection.in_atomic_block or attempt == MAX_ATTEMPTS:
                    raise
                logger.warning("Retrying %s after %s (attempt %d)", function.__name__, _sqlstate(error), attempt)
                time.sleep(random.uniform(0.005, 0.05) * attempt)

    return wrapper
