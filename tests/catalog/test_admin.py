import pytest

from catalog.services import barcode_add
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sweater():
    variant = VariantFactory(sku="NK-MCS-S", product=ProductFactory(name="Merino Crew Sweater"))
    barcode_add(variant=variant, code="036000291452")
    VariantFactory(sku="TEA-1", product=ProductFactory(name="Earl Grey Tea"))
    return variant


@pytest.mark.parametrize("query", ["merino", "NK-MCS-S", "0036000291452"])
def test_product_admin_search(admin_client, sweater, query):
    response = admin_client.get("/admin/catalog/product/", {"q": query})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [sweater.product]


@pytest.mark.parametrize("query", ["NK-MCS-S", "0036000291452", "merino"])
def test_variant_admin_search(admin_client, sweater, query):
    response = admin_client.get("/admin/catalog/variant/", {"q": query})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [sweater]


@pytest.mark.parametrize("path", ["product/{product}/change/", "variant/{variant}/change/", "category/", "brand/", "taxclass/", "channel/"])
def test_admin_pages_render(admin_client, sweater, path):
    url = "/admin/catalog/" + path.format(product=sweater.product_id, variant=sweater.pk)
    assert admin_client.get(url).status_code == 200
