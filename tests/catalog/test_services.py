import threading
from decimal import Decimal

import pytest
from django.db import connection

from catalog.barcodes import InvalidBarcode
from catalog.models import Barcode, Category, Product, Variant, VariantPrice
from catalog.services import (
    barcode_add,
    category_get_or_create,
    product_create,
    product_update,
    unit_cost_parse,
    variant_create,
    variant_get_or_create_placeholder,
    variant_price_set,
    variant_update,
)
from commerce.errors import Conflict, ValidationFailed
from commerce.models import AuditEntry
from tests.factories import ProductFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_category_path_creates_ancestors():
    leaf = category_get_or_create(path="Grocery > Dairy >  Cheese ")
    assert leaf.path == "Grocery > Dairy > Cheese"
    assert leaf.depth == 2
    assert leaf.parent.path == "Grocery > Dairy"
    assert leaf.parent.parent.path == "Grocery"
    assert leaf.parent.parent.parent is None
    assert Category.objects.count() == 3


def test_category_path_reuses_existing():
    first = category_get_or_create(path="Grocery > Dairy")
    again = category_get_or_create(path="Grocery>Dairy")
    assert again.pk == first.pk
    assert Category.objects.count() == 2


def test_category_path_rejects_empty_name():
    with pytest.raises(ValidationFailed) as error:
        category_get_or_create(path="Grocery >  > Cheese")
    assert error.value.code == "invalid_category_path"
    assert Category.objects.count() == 0


def test_product_create_with_brand_and_path():
    actor = UserFactory()
    product = product_create(name=" Oat Milk ", brand="Oatly", category="Grocery > Dairy", actor=actor)
    assert product.name == "Oat Milk"
    assert product.brand.name == "Oatly"
    assert product.category.path == "Grocery > Dairy"
    assert AuditEntry.objects.filter(action="catalog.product_create", object_id=str(product.pk)).count() == 1


def test_product_update_skips_save_when_same():
    product = ProductFactory(name="Tea")
    before = Product.objects.get(pk=product.pk).updated_at
    product_update(product=product, name="Tea")
    assert Product.objects.get(pk=product.pk).updated_at == before
    product_update(product=product, name="Green Tea", is_active=False)
    stored = Product.objects.get(pk=product.pk)
    assert stored.name == "Green Tea"
    assert stored.is_active is False
    assert stored.updated_at > before


def test_variant_create_rejects_taken_sku():
    VariantFactory(sku="TEA-1")
    with pytest.raises(Conflict) as error:
        variant_create(product=ProductFactory(), sku="TEA-1")
    assert error.value.code == "sku_taken"
    assert "TEA-1" in error.value.message


def test_variant_create_rejects_blank_sku():
    with pytest.raises(ValidationFailed) as error:
        variant_create(product=ProductFactory(), sku="  ")
    assert error.value.code == "missing_sku"


def test_variant_create_stores_options_and_cost():
    variant = variant_create(product=ProductFactory(), sku="TS-M", option_values={"Size": "M"}, unit_cost="4.1234")
    stored = Variant.objects.get(pk=variant.pk)
    assert stored.option_values == {"Size": "M"}
    assert stored.unit_cost == Decimal("4.1234")


@pytest.mark.parametrize(("value", "code"), [("-1", "negative_amount"), ("1.23456", "too_many_decimals"), ("abc", "invalid_amount")])
def test_unit_cost_rejects_bad_values(value, code):
    with pytest.raises(ValidationFailed) as error:
        unit_cost_parse(value)
    assert error.value.code == code


def test_variant_update_changes_fields():
    variant = VariantFactory(sku="V-1", name="Old")
    variant_update(variant=variant, name="New", unit_cost="2.50", needs_review=True)
    stored = Variant.objects.get(pk=variant.pk)
    assert stored.name == "New"
    assert stored.unit_cost == Decimal("2.5000")
    assert stored.needs_review is True
    assert stored.sku == "V-1"


def test_barcode_add_normalises_upca():
    variant = VariantFactory()
    barcode = barcode_add(variant=variant, code="036000291452")
    assert barcode.gtin == "0036000291452"
    assert barcode.kind == Barcode.EAN13


def test_barcode_add_several_per_variant():
    variant = VariantFactory()
    barcode_add(variant=variant, code="4006381333931")
    barcode_add(variant=variant, code="96385074")
    barcode_add(variant=variant, code="10012345678902")
    assert sorted(variant.barcodes.values_list("kind", flat=True)) == ["EAN-13", "EAN-8", "GTIN-14"]


def test_barcode_add_twice_returns_same_row():
    variant = VariantFactory()
    first = barcode_add(variant=variant, code="4006381333931")
    again = barcode_add(variant=variant, code="4006381333931")
    assert again.pk == first.pk
    assert Barcode.objects.count() == 1


def test_barcode_add_rejects_other_variants_code():
    owner = VariantFactory(sku="OWNER")
    barcode_add(variant=owner, code="036000291452")
    with pytest.raises(Conflict) as error:
        barcode_add(variant=VariantFactory(), code="0036000291452")
    assert error.value.code == "barcode_taken"
    assert "OWNER" in error.value.message


def test_barcode_add_rejects_bad_check_digit():
    with pytest.raises(InvalidBarcode):
        barcode_add(variant=VariantFactory(), code="4006381333932")
    assert Barcode.objects.count() == 0


def test_price_set_creates_and_updates(channels):
    variant = VariantFactory()
    VariantPrice.objects.filter(variant=variant).delete()
    actor = UserFactory()
    variant_price_set(variant=variant, channel=channels["web"], amount="12.50", actor=actor)
    variant_price_set(variant=variant, channel=channels["web"], amount="12.50", actor=actor)
    variant_price_set(variant=variant, channel=channels["web"], amount=Decimal("13"), actor=actor)
    assert VariantPrice.objects.get(variant=variant, channel=channels["web"]).amount == Decimal("13.00")
    assert AuditEntry.objects.filter(action="catalog.price_set").count() == 2


@pytest.mark.parametrize(("amount", "code"), [("-0.01", "negative_amount"), ("1.005", "too_many_decimals"), ("ten", "invalid_amount")])
def test_price_set_rejects_bad_amount(channels, amount, code):
    variant = VariantFactory(price="5.00")
    with pytest.raises(ValidationFailed) as error:
        variant_price_set(variant=variant, channel=channels["web"], amount=amount)
    assert error.value.code == code
    assert VariantPrice.objects.get(variant=variant, channel=channels["web"]).amount == Decimal("5.00")


def test_placeholder_created_flagged():
    variant, created = variant_get_or_create_placeholder(sku="SS-XYZ", name="Mystery Stapler", source="superstore")
    assert created is True
    assert variant.needs_review is True
    assert variant.product.needs_review is True
    assert variant.product.source == "superstore"
    assert variant.product.source_ref == ""
    assert variant.name == "Mystery Stapler"


def test_placeholder_returns_existing_variant():
    existing = VariantFactory(sku="SS-ABC")
    variant, created = variant_get_or_create_placeholder(sku="SS-ABC", name="Other", source="superstore")
    assert created is False
    assert variant.pk == existing.pk
    assert Product.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_placeholder_concurrent_calls_make_one():
    results = []
    barrier = threading.Barrier(4)

    def call():
        try:
            barrier.wait()
            results.append(variant_get_or_create_placeholder(sku="SS-RACE", name="Race", source="superstore"))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert sum(1 for _, created in results if created) == 1
    assert {variant.pk for variant, _ in results} == {Variant.objects.get(sku="SS-RACE").pk}
    assert Variant.objects.filter(sku="SS-RACE").count() == 1
