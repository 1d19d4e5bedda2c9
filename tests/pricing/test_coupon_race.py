"""A single-use coupon redeemed by two checkouts at the same instant, on PostgreSQL with real threads."""

import threading

import pytest
from django.db import connection, transaction

from commerce.errors import Conflict
from pricing.models import Coupon, CouponRedemption
from pricing.services import coupon_redeem

from tests.factories import CustomerFactory

from .factories import CouponFactory


@pytest.mark.django_db(transaction=True)
def test_single_use_coupon_two_threads():
    CouponFactory(code="ONLYONE", usage_limit=1)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def checkout(order_reference: str) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                coupon_redeem(codes=["ONLYONE"], customer=None, order_reference=order_reference)
            results[order_reference] = "redeemed"
        except Conflict as error:
            results[order_reference] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(f"W-{number}",)) for number in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == ["coupon_used_up", "redeemed"]
    assert Coupon.objects.get(code="ONLYONE").times_used == 1
    assert CouponRedemption.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_per_customer_limit_two_threads():
    customer = CustomerFactory()
    CouponFactory(code="FIRSTORDER", per_customer_limit=1)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def checkout(order_reference: str) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                coupon_redeem(codes=["FIRSTORDER"], customer=customer, order_reference=order_reference)
            results[order_reference] = "redeemed"
        except Conflict as error:
            results[order_reference] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(f"W-{number}",)) for number in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == ["coupon_customer_limit", "redeemed"]
    assert Coupon.objects.get(code="FIRSTORDER").times_used == 1
    assert CouponRedemption.objects.filter(customer=customer).count() == 1
