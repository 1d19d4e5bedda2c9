from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"

    def ready(self) -> None:
        from commerce.outbox import outbox_register_handler
        from customers.services import CUSTOMER_MERGED_TOPIC

        from .handlers import customer_merged_handle

        outbox_register_handler(CUSTOMER_MERGED_TOPIC, customer_merged_handle)
