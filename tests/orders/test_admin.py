import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.services import order_place_web
from tests.factories import CustomerFactory, VariantFactory, WarehouseFactory

from .conftest import receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser():
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "correct-horse-battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def placed(channels):
    variant, warehouse = VariantFactory(sku="ADMIN-SKU"), WarehouseFactory()
    receive(variant, warehouse, 5)
    customer = CustomerFactory(email="finder@example.com")
    order, _ = order_place_web(lines=[{"sku": variant.sku, "quantity": 2}], customer_id=customer.pk, external_ref="EXT-77")
    return order


@pytest.mark.parametrize("query", ["{number}", "EXT-77", "finder@example.com"])
def test_changelist_search(admin_browser, placed, query):
    response = admin_browser.get("/admin/orders/order/", {"q": query.format(number=placed.number)})
    assert response.status_code == 200
    assert placed.number in response.content.decode()


def test_changelist_search_miss(admin_browser, placed):
    response = admin_browser.get("/admin/orders/order/", {"q": "nobody@example.com"})
    assert response.status_code == 200
    assert f">{placed.number}<" not in response.content.decode()


def test_changelist_filters(admin_browser, placed):
    response = admin_browser.get("/admin/orders/order/", {"status__exact": "placed", "channel__id__exact": placed.channel_id})
    assert response.status_code == 200
    assert placed.number in response.content.decode()


def test_change_page_shows_lines_and_history(admin_browser, placed):
    response = admin_browser.get(f"/admin/orders/order/{placed.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "ADMIN-SKU" in page
    assert "20.00" in page
    assert 'name="total"' not in page  # money is read-only
    assert "placed" in page


def test_orders_cannot_be_added_or_deleted(admin_browser, placed):
    assert admin_browser.get("/admin/orders/order/add/").status_code == 403
    assert admin_browser.get(f"/admin/orders/order/{placed.pk}/delete/").status_code == 403
