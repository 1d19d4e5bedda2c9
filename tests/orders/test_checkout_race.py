"""Two carts check out with the same single-use coupon at the same instant, on PostgreSQL with real threads."""

import threading
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from commerce.api_keys import api_key_create
from commerce.models import Scope
from inventory.models import Reservation
from orders.models import Cart, CartStatus, Order
from pricing.models import Coupon, CouponRedemption

from .builders import CARTS, coupon, promo_shop

pytestmark = pytest.mark.django_db(transaction=True)


def storefront() -> APIClient:
    _key, secret = api_key_create(name="storefront", scopes=[Scope.CARTS_WRITE])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def shown_cart(client) -> dict:
    token = client.post(CARTS, {}, format="json").json()["token"]
    client.post(f"{CARTS}{token}/lines/", {"sku": "PROMO-1", "quantity": 1}, format="json")
    client.post(f"{CARTS}{token}/coupons/", {"code": "ONLYONE"}, format="json")
    body = client.put(f"{CARTS}{token}/shipping/", {"country": "US", "region": "TX", "postal_code": "73301"}, format="json").json()
    assert body["coupon_codes"] == ["ONLYONE"]
    return body


def test_single_use_coupon_two_checkouts(channels):
    promo_shop()
    coupon("ONLYONE", usage_limit=1)
    client = storefront()
    carts = [shown_cart(client) for _ in range(2)]
    assert [cart["basket"]["total"] for cart in carts] == ["14.98", "14.98"]
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, str]] = {}

    def checkout(cart: dict) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(
                f"{CARTS}{cart['token']}/checkout/", {"expected_total": cart["basket"]["total"]}, format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )
            results[cart["token"]] = (response.status_code, response.json().get("code", "placed"))
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(cart,)) for cart in carts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == [(201, "placed"), (409, "coupon_used_up")]
    order = Order.objects.get()
    assert Coupon.objects.get(code="ONLYONE").times_used == 1
    assert list(CouponRedemption.objects.values_list("order_reference", flat=True)) == [order.number]
    assert Reservation.objects.count() == 1
    assert Reservation.objects.get().reference_id == order.number
    statuses = {token: Cart.objects.get(token=token).status for token in results}
    assert sorted(statuses.values()) == [CartStatus.CHECKED_OUT, CartStatus.OPEN]
