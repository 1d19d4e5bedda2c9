"""Query counts of placing a web order through the API, pinned: the same for 1 line and for 10 lines.

Transactional tests, so the count is what production runs: no test savepoint around the request.
"""

import uuid

import pytest

from orders.models import Order
from tests.factories import CustomerFactory, VariantFactory, WarehouseFactory

from .conftest import receive

# Inside the transaction: the idempotency key insert, the context read (channel, customer, variants,
# prices, locations), the insert of the order with its lines and status change, and the outbox insert.
# Then 3 for the reservation (savepoint, the reservation statement, savepoint release) and the
# idempotency response update. Around it: the API key lookup, BEGIN and COMMIT, which Django logs too.
STATEMENTS_IN_TRANSACTION = 8
QUERIES_PER_WEB_ORDER = STATEMENTS_IN_TRANSACTION + 3


def statements_in_transaction(captured) -> int:
    sqls = [query["sql"] for query in captured.captured_queries]
    begin, commit = sqls.index("BEGIN"), sqls.index("COMMIT")
    return commit - begin - 1

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def queued_outbox(monkeypatch):
    """Queue outbox deliveries instead of running them in-process, as a Celery worker would take them."""
    queued = []
    monkeypatch.setattr("commerce.tasks.outbox_deliver.delay", queued.append)
    return queued


@pytest.fixture
def stocked_variants(channels):
    warehouses = [WarehouseFactory(), WarehouseFactory()]
    variants = [VariantFactory() for _ in range(10)]
    for variant in variants:
        for warehouse in warehouses:
            receive(variant, warehouse, 100)
    return variants


def post_order(client, variants, customer_id=None):
    body = {"lines": [{"sku": variant.sku, "quantity": 1, "expected_unit_price": "10.00"} for variant in variants]}
    if customer_id is not None:
        body["customer"] = {"id": customer_id}
    return client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


@pytest.mark.parametrize("line_count", [1, 10])
def test_web_order_query_count(storefront_client, stocked_variants, django_assert_num_queries, queued_outbox, line_count):
    # The first request of a key also stamps its last use; later ones within a minute do not.
    assert post_order(storefront_client, stocked_variants[:1]).status_code == 201
    with django_assert_num_queries(QUERIES_PER_WEB_ORDER) as captured:
        response = post_order(storefront_client, stocked_variants[:line_count])
    assert statements_in_transaction(captured) == STATEMENTS_IN_TRANSACTION
    assert response.status_code == 201
    assert len(response.json()["lines"]) == line_count
    assert Order.objects.count() == 2
    assert len(queued_outbox) == 2


def test_web_order_with_customer_same_count(storefront_client, stocked_variants, django_assert_num_queries):
    customer = CustomerFactory()
    assert post_order(storefront_client, stocked_variants[:1]).status_code == 201
    with django_assert_num_queries(QUERIES_PER_WEB_ORDER):
        response = post_order(storefront_client, stocked_variants, customer_id=customer.pk)
    assert response.status_code == 201
    assert response.json()["customer"] == customer.pk
