"""Orders of one new person arriving at once from several channels make one customer (PostgreSQL, real threads)."""

import pytest

from customers import services
from customers.models import Customer, CustomerIdentity
from tests.threads import run_in_threads


@pytest.mark.django_db(transaction=True)
def test_same_new_person_created_once():
    results = run_in_threads(
        6, lambda index: services.customer_get_or_create_by_identity(email=" New.Person@Example.com ", phone="(415) 555-2671")
    )
    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []
    assert Customer.objects.count() == 1
    assert len({customer.pk for customer, _ in results}) == 1
    assert sum(1 for _, created in results if created) == 1
    assert CustomerIdentity.objects.count() == 2
