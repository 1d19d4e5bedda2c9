"""Import the real public retail files and check exact counts (about two minutes)."""

import os
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from catalog.importers.superstore import superstore_sku_map
from catalog.models import Barcode, Product, Variant, VariantPrice

CJ = "completejourney_products.csv"
OFF = "openfoodfacts_lifyzer_barcodes_100k.csv"
SUPERSTORE = "superstore_orders.csv"

# Computed with a separate pandas-free script over superstore_orders.csv: 1,862 Product IDs, 32 of
# them with two names, so 1,894 distinct (Product ID, Product Name) pairs.
SUPERSTORE_SKUS = 1894
SUPERSTORE_SECOND_NAMES = 32


@pytest.fixture
def data_dir():
    folder = settings.SHARED_DATA_DIR
    if not folder.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"The shared retail data folder {folder} is missing; CI must have it.")
        pytest.skip(f"The shared retail data folder {folder} is not on this machine.")
    return folder


def test_superstore_sku_map_real_file(data_dir):
    sku_map = superstore_sku_map(data_dir / SUPERSTORE)
    assert len(sku_map) == SUPERSTORE_SKUS
    assert len(set(sku_map.values())) == SUPERSTORE_SKUS
    second = [sku for sku in sku_map.values() if sku.endswith("-2")]
    assert len(second) == SUPERSTORE_SECOND_NAMES
    assert not any(sku.endswith("-3") for sku in sku_map.values())
    assert sku_map[("FUR-BO-10001798", "Bush Somerset Collection Bookcase")] == "SS-FUR-BO-10001798"


@pytest.mark.django_db
def test_import_real_files_exact_counts(data_dir, tmp_path):
    out = StringIO()
    paths = [str(data_dir / name) for name in (CJ, OFF, SUPERSTORE)]
    call_command("import_catalog", *paths, errors=str(tmp_path / "errors.csv"), no_progress=True, stdout=out)
    output = out.getvalue()
    assert f"{CJ} (completejourney): 92331 created, 0 updated, 0 unchanged, 0 rejected" in output
    assert f"{OFF} (openfoodfacts): 100000 created, 0 updated, 0 unchanged, 0 rejected" in output
    assert f"{SUPERSTORE} (superstore): {SUPERSTORE_SKUS} created, 0 updated, 0 unchanged, 0 rejected" in output

    assert Product.objects.filter(source="completejourney").count() == 92331
    assert Variant.objects.filter(sku__startswith="OFF-").count() == 100000
    assert Barcode.objects.count() == 100000
    # UPC-A codes of the file were already written as EAN-13 with a leading 0.
    assert Barcode.objects.filter(kind="EAN-13").count() == 72503 + 25986
    assert Barcode.objects.filter(kind="EAN-8").count() == 1511
    assert Variant.objects.filter(sku__startswith="SS-").count() == SUPERSTORE_SKUS
    assert Variant.objects.filter(sku__startswith="SS-", sku__endswith="-2").count() == SUPERSTORE_SECOND_NAMES
    assert VariantPrice.objects.filter(channel__code="web").count() == SUPERSTORE_SKUS
    # Row 1: 261.96 / (2 x 1.0) = 130.98; cost (261.96 - 41.9136) / 2 = 110.0232.
    bookcase = Variant.objects.get(sku="SS-FUR-BO-10001798")
    assert bookcase.prices.get().amount.to_eng_string() == "130.98"
    assert str(bookcase.unit_cost) == "110.0232"
    assert Variant.objects.get(sku="CJ-900000").product.category.path == "COSMETICS > FRAGRANCES > DESIGNER FRAGRANCES"

    out = StringIO()
    call_command("import_catalog", *paths, errors=str(tmp_path / "errors.csv"), no_progress=True, stdout=out)
    assert f"{CJ} (completejourney): 0 created, 0 updated, 92331 unchanged" in out.getvalue()
    assert f"{OFF} (openfoodfacts): 0 created, 0 updated, 100000 unchanged" in out.getvalue()
    assert f"{SUPERSTORE} (superstore): 0 created, 0 updated, {SUPERSTORE_SKUS} unchanged" in out.getvalue()
