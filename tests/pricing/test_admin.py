"""The Django admin for pricing: pages load, and bad input is rejected with nothing written."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from pricing.models import Coupon, PriceList, Promotion, TaxRate
from tests.factories import TaxClassFactory, VariantFactory

from .factories import PriceListFactory, PriceListItemFactory, TaxRegionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser():
    user = get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-battery")
    client = Client()
    client.force_login(user)
    return client


def price_list_form(channel, variant, amount, **fields):
    data = {
        "name": "Admin list", "channel": channel.id, "location": "", "customer_group": "", "priority": "0", "is_active": "on",
        "starts_at_0": "", "starts_at_1": "", "ends_at_0": "", "ends_at_1": "",
        "items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000",
        "items-0-variant": variant.id, "items-0-amount": amount,
    }
    data.update(fields)
    return data


@pytest.mark.parametrize("model", ["pricelist", "promotion", "coupon", "couponredemption", "taxregion", "taxrate", "locationtaxregion", "taxexemption", "customergroup"])
def test_admin_changelist_loads(admin_browser, model):
    assert admin_browser.get(f"/admin/pricing/{model}/").status_code == 200


def test_admin_price_list_saved(admin_browser, channels):
    variant = VariantFactory()
    response = admin_browser.post("/admin/pricing/pricelist/add/", price_list_form(channels["web"], variant, "7.50"))
    assert response.status_code == 302
    assert str(PriceList.objects.get().items.get().amount) == "7.50"


@pytest.mark.parametrize("amount", ["-1.00", "1000000000.00"])
def test_admin_price_list_bad_amount(admin_browser, channels, amount):
    response = admin_browser.post("/admin/pricing/pricelist/add/", price_list_form(channels["web"], VariantFactory(), amount))
    assert response.status_code == 200
    assert PriceList.objects.count() == 0


def test_admin_price_list_overlap_rejected(admin_browser, channels):
    variant = VariantFactory()
    PriceListItemFactory(price_list=PriceListFactory(channel=channels["web"], name="Existing"), variant=variant, amount="8.00")
    response = admin_browser.post("/admin/pricing/pricelist/add/", price_list_form(channels["web"], variant, "7.00"))
    assert response.status_code == 200
    assert "Existing" in response.content.decode()
    assert PriceList.objects.count() == 1


def test_admin_promotion_rule_checked(admin_browser):
    data = {"name": "Too much", "kind": "percentage", "scope": "order", "value": "150", "get_percent": "100", "buy_quantity": "0",
            "get_quantity": "0", "min_quantity": "0", "min_subtotal": "0", "priority": "0", "is_active": "on"}
    response = admin_browser.post("/admin/pricing/promotion/add/", data)
    assert response.status_code == 200
    assert "150" in response.content.decode()
    assert Promotion.objects.count() == 0


def test_admin_tax_rate_checked(admin_browser):
    region, tax_class = TaxRegionFactory(), TaxClassFactory()
    data = {"region": region.id, "tax_class": tax_class.id, "name": "State", "rate": "6.25", "effective_from": "2026-02-01", "effective_to": "2026-01-01"}
    response = admin_browser.post("/admin/pricing/taxrate/add/", data)
    assert response.status_code == 200
    assert TaxRate.objects.count() == 0


def test_admin_coupon_code_upper_cased(admin_browser):
    promotion = Promotion.objects.create(name="Ten", kind="percentage", scope="order", value=10, requires_coupon=True)
    response = admin_browser.post("/admin/pricing/coupon/add/", {"code": "spring", "promotion": promotion.id, "is_active": "on"})
    assert response.status_code == 302
    assert Coupon.objects.get().code == "SPRING"
