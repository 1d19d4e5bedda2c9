"""Outbox handlers through which loyalty follows changes made by other apps."""

from . import services


def customer_merged_handle(payload: dict) -> None:
    """Move the merged profile's points to the kept profile (topic customers.services.CUSTOMER_MERGED_TOPIC)."""
    services.loyalty_accounts_merge(
        kept_customer_id=int(payload["kept_customer_id"]), merged_customer_id=int(payload["merged_customer_id"])
    )
