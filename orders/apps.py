from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from commerce.outbox import outbox_register_handler
        from customers.services import CUSTOMER_MERGED_TOPIC

        from .services import orders_move_to_customer

        outbox_register_handler(CUSTOMER_MERGED_TOPIC, orders_move_to_customer)
