import pytest

from catalog.barcodes import InvalidBarcode
from catalog.selectors import (
    category_tree,
    category_roots,
    product_filter_category,
    product_filter_search,
    product_queryset,
    variant_get_by_barcode,
    variant_get_by_sku,
)
from catalog.services import barcode_add, category_get_or_create
from commerce.errors import NotFound
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned():
    variant = VariantFactory(sku="SCAN-1")
    barcode_add(variant=variant, code="036000291452")
    barcode_add(variant=variant, code="96385074")
    barcode_add(variant=variant, code="10012345678902")
    return variant


@pytest.mark.parametrize("code", ["036000291452", "0036000291452", "96385074", "10012345678902", " 036000291452 "])
def test_by_barcode_accepts_every_form(scanned, code):
    assert variant_get_by_barcode(code=code).pk == scanned.pk


def test_by_barcode_unknown_is_not_found(scanned):
    with pytest.raises(NotFound) as error:
        variant_get_by_barcode(code="4006381333931")
    assert error.value.code == "barcode_not_found"
    assert "4006381333931" in error.value.message


def test_by_barcode_malformed_raises(scanned):
    with pytest.raises(InvalidBarcode):
        variant_get_by_barcode(code="036000291453")


def test_by_sku_exact(scanned):
    assert variant_get_by_sku(sku="SCAN-1").pk == scanned.pk
    with pytest.raises(NotFound) as error:
        variant_get_by_sku(sku="SCAN")
    assert "'SCAN'" in error.value.message


def test_search_by_name_sku_and_barcode(scanned):
    other = VariantFactory(sku="TEA-1", product=ProductFactory(name="Earl Grey Tea"))
    ids = lambda q: list(product_filter_search(product_queryset(), q=q).values_list("id", flat=True))  # noqa: E731
    assert ids("grey") == [other.product_id]
    assert ids("SCAN") == [scanned.product_id]
    assert ids("036000291452") == [scanned.product_id]
    assert ids("nothing like it") == []


def test_category_filter_by_prefix_and_id():
    dairy = category_get_or_create(path="Grocery > Dairy")
    cheese = category_get_or_create(path="Grocery > Dairy > Cheese")
    store = category_get_or_create(path="Grocery Store")
    in_dairy = ProductFactory(category=dairy)
    in_cheese = ProductFactory(category=cheese)
    ProductFactory(category=store)
    by_path = product_filter_category(product_queryset(), category="grocery > dairy")
    assert set(by_path.values_list("id", flat=True)) == {in_dairy.pk, in_cheese.pk}
    by_root = product_filter_category(product_queryset(), category="Grocery")
    assert set(by_root.values_list("id", flat=True)) == {in_dairy.pk, in_cheese.pk}
    by_id = product_filter_category(product_queryset(), category=str(cheese.pk))
    assert list(by_id.values_list("id", flat=True)) == [in_cheese.pk]


def test_category_tree_nests_children():
    category_get_or_create(path="Grocery > Dairy > Cheese")
    category_get_or_create(path="Grocery > Bakery")
    roots = list(category_roots())
    tree = category_tree(roots=roots)
    assert [node["category"].name for node in tree] == ["Grocery"]
    assert [child["category"].name for child in tree[0]["children"]] == ["Bakery", "Dairy"]
    assert [child["category"].name for child in tree[0]["children"][1]["children"]] == ["Cheese"]
