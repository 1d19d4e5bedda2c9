import csv
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.importers.run import ErrorLog, import_file
from catalog.importers.superstore import superstore_sku_map
from catalog.importers.writer import CatalogWriter
from catalog.models import Barcode, Category, Product, Variant, VariantPrice
from catalog.services import variant_get_or_create_placeholder

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
CJ = FIXTURES / "completejourney_products.csv"
OFF = FIXTURES / "openfoodfacts_barcodes.csv"
SUPERSTORE = FIXTURES / "superstore_orders.csv"
SHOPIFY = FIXTURES / "shopify_products.csv"


def run_import(*paths, tmp_path, **options):
    out = StringIO()
    errors = tmp_path / "errors.csv"
    call_command("import_catalog", *[str(path) for path in paths], errors=str(errors), no_progress=True, stdout=out, **options)
    return out.getvalue(), errors


def error_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def summary_line(output: str, file_name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(file_name))


# Complete Journey ---------------------------------------------------------------------------------


def test_cj_import_counts_and_fields(tmp_path):
    output, errors = run_import(CJ, tmp_path=tmp_path)
    assert "5 created, 0 updated, 0 unchanged, 4 rejected" in summary_line(output, "completejourney_products.csv")
    assert Variant.objects.filter(sku__startswith="CJ-").count() == 5
    bread = Variant.objects.select_related("product__category", "product__brand").get(sku="CJ-1001")
    assert bread.product.category.path == "GROCERY > BAKED BREAD/BUNS/ROLLS > WHITE BREAD"
    assert bread.product.brand.name == "National"
    assert bread.product.source == "completejourney"
    assert bread.product.source_ref == "1001"
    assert bread.product.source_data == {"manufacturer_id": "69"}
    assert bread.product.package_size == "20 OZ"
    assert bread.name == "WHITE BREAD 20 OZ"
    assert VariantPrice.objects.count() == 0
    assert Product.objects.get(source_ref="1003").category.path == "PRODUCE > VEGETABLES - ALL OTHERS"
    assert Product.objects.get(source_ref="1004").category.path == "MISCELLANEOUS"


def test_cj_scientific_notation_id():
    from catalog.importers.completejourney import completejourney_sku

    assert completejourney_sku("9e+05") == "CJ-900000"
    assert completejourney_sku("25671") == "CJ-25671"
    assert completejourney_sku("1.5") is None
    assert completejourney_sku("abc") is None


def test_cj_bad_rows_reported_with_lines(tmp_path):
    output, errors = run_import(CJ, tmp_path=tmp_path)
    rows = error_rows(errors)
    assert [(row["line"], row["reason"]) for row in rows] == [
        ("6", "product_id is missing"),
        ("7", "product_id '1x05' is not a whole number"),
        ("8", "department is missing"),
        ("10", "completejourney reference 1001 repeats line 2; the later rows are ignored"),
    ]
    assert all(row["file"] == "completejourney_products.csv" for row in rows)
    assert "line 7: rejected: product_id '1x05' is not a whole number" in output
    assert Variant.objects.filter(sku="CJ-9000").exists()


def test_cj_rerun_changes_nothing(tmp_path):
    run_import(CJ, tmp_path=tmp_path)
    stamps = dict(Product.objects.values_list("id", "updated_at"))
    variant_stamps = dict(Variant.objects.values_list("id", "updated_at"))
    output, _ = run_import(CJ, tmp_path=tmp_path)
    assert "0 created, 0 updated, 5 unchanged, 4 rejected" in summary_line(output, "completejourney_products.csv")
    assert dict(Product.objects.values_list("id", "updated_at")) == stamps
    assert dict(Variant.objects.values_list("id", "updated_at")) == variant_stamps
    assert Category.objects.count() == 10


def test_cj_changed_row_is_updated(tmp_path):
    run_import(CJ, tmp_path=tmp_path)
    changed = tmp_path / "completejourney_products.csv"
    changed.write_text(CJ.read_text().replace("1002,69,GROCERY,Private,BAKED BREAD/BUNS/ROLLS,WHEAT BREAD,24 OZ", "1002,69,GROCERY,Private,BAKED BREAD/BUNS/ROLLS,WHEAT BREAD,28 OZ"))
    output, _ = run_import(changed, tmp_path=tmp_path)
    assert "0 created, 1 updated, 4 unchanged" in summary_line(output, "completejourney_products.csv")
    assert Product.objects.get(source_ref="1002").package_size == "28 OZ"
    assert Variant.objects.get(sku="CJ-1002").name == "WHEAT BREAD 28 OZ"


# Open Food Facts ----------------------------------------------------------------------------------


def test_off_import_normalises_barcodes(tmp_path):
    output, errors = run_import(OFF, tmp_path=tmp_path)
    assert "4 created, 0 updated, 0 unchanged, 4 rejected" in summary_line(output, "openfoodfacts_barcodes.csv")
    tissues = Variant.objects.get(sku="OFF-0036000291452")
    assert tissues.product.source_ref == "036000291452"
    assert list(tissues.barcodes.values_list("gtin", "kind", "source")) == [("0036000291452", "EAN-13", "openfoodfacts")]
    assert Barcode.objects.get(gtin="96385074").kind == "EAN-8"
    assert Barcode.objects.get(gtin="10012345678902").kind == "GTIN-14"
    assert Barcode.objects.get(gtin="4006381333931").variant.sku == "OFF-4006381333931"
    reasons = {row["line"]: row["reason"] for row in error_rows(errors)}
    assert set(reasons) == {"6", "7", "8", "9"}
    assert "check digit 2" in reasons["6"]
    assert "give 1" in reasons["6"]
    assert "other than digits" in reasons["7"]
    assert reasons["8"] == "product_name is missing"
    assert "repeats line 3" in reasons["9"]


def test_off_rerun_changes_nothing(tmp_path):
    run_import(OFF, tmp_path=tmp_path)
    output, _ = run_import(OFF, tmp_path=tmp_path)
    assert "0 created, 0 updated, 4 unchanged" in summary_line(output, "openfoodfacts_barcodes.csv")
    assert Barcode.objects.count() == 4


# Superstore ---------------------------------------------------------------------------------------


def test_superstore_sku_rule(tmp_path):
    output, _ = run_import(SUPERSTORE, tmp_path=tmp_path)
    assert "6 created, 0 updated, 0 unchanged, 2 rejected" in summary_line(output, "superstore_orders.csv")
    names = dict(Variant.objects.filter(sku__startswith="SS-TEC-PH-10000003").values_list("sku", "name"))
    assert names == {
        "SS-TEC-PH-10000003": "Desk Phone Model A",
        "SS-TEC-PH-10000003-2": "Desk Phone Model B",
        "SS-TEC-PH-10000003-3": "Desk Phone Model C",
    }


def test_superstore_price_and_cost_from_first_line(tmp_path):
    run_import(SUPERSTORE, tmp_path=tmp_path)

    def price(sku):
        return VariantPrice.objects.get(variant__sku=sku, channel__code="web").amount

    # Row 1: 39.96 / (4 x 1.0) = 9.99; cost (39.96 - 18.7812) / 4 = 5.2947.
    paper = Variant.objects.get(sku="SS-OFF-PA-10000001")
    assert price("SS-OFF-PA-10000001") == Decimal("9.99")
    assert paper.unit_cost == Decimal("5.2947")
    assert paper.product.category.path == "Office Supplies > Paper"
    assert paper.product.source_data == {"product_id": "OFF-PA-10000001"}
    # Row 2: 363.608 / (3 x 0.8) = 151.5033 -> 151.50; cost (363.608 + 22.7255) / 3 = 128.7778.
    assert price("SS-FUR-CH-10000002") == Decimal("151.50")
    assert Variant.objects.get(sku="SS-FUR-CH-10000002").unit_cost == Decimal("128.7778")
    # Model A's first line is row 4 (287.97 / 3), not row 6 (95.99).
    assert price("SS-TEC-PH-10000003") == Decimal("95.99")
    assert Variant.objects.get(sku="SS-TEC-PH-10000003").unit_cost == Decimal("69.1128")
    # Model C's first line (row 7) has quantity 0, so row 8 prices it: 60 / 2.
    assert price("SS-TEC-PH-10000003-3") == Decimal("30.00")
    # Row 10: 3.0 / (1 x 0.667) = 4.4977 -> 4.50 (half-up to the cent).
    assert price("SS-OFF-BI-10000004") == Decimal("4.50")


def test_superstore_bad_lines_reported(tmp_path):
    _, errors = run_import(SUPERSTORE, tmp_path=tmp_path)
    reasons = {row["line"]: row["reason"] for row in error_rows(errors)}
    assert reasons == {
        "8": "Quantity '0' is not a whole number of at least 1; Product ID TEC-PH-10000003",
        "10": "Product ID is missing",
    }


def test_superstore_sku_map_matches_import(tmp_path):
    run_import(SUPERSTORE, tmp_path=tmp_path)
    sku_map = superstore_sku_map(SUPERSTORE)
    assert sku_map[("TEC-PH-10000003", "Desk Phone Model B")] == "SS-TEC-PH-10000003-2"
    assert sorted(sku_map.values()) == sorted(Variant.objects.filter(sku__startswith="SS-").values_list("sku", flat=True))
    for (product_id, name), sku in sku_map.items():
        assert Variant.objects.get(sku=sku).name == name


def test_superstore_sku_order_by_row_id(tmp_path):
    lines = SUPERSTORE.read_text().splitlines()
    # Move row 5 (Model B) above row 4 (Model A): the SKU order still follows Row ID.
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], lines[5], *lines[1:5], *lines[6:]]) + "\n")
    assert superstore_sku_map(shuffled)[("TEC-PH-10000003", "Desk Phone Model A")] == "SS-TEC-PH-10000003"
    assert superstore_sku_map(shuffled)[("TEC-PH-10000003", "Desk Phone Model B")] == "SS-TEC-PH-10000003-2"


def test_superstore_rerun_changes_nothing(tmp_path):
    run_import(SUPERSTORE, tmp_path=tmp_path)
    output, _ = run_import(SUPERSTORE, tmp_path=tmp_path)
    assert "0 created, 0 updated, 6 unchanged" in summary_line(output, "superstore_orders.csv")


def test_import_settles_placeholder(tmp_path):
    placeholder, _ = variant_get_or_create_placeholder(sku="SS-OFF-PA-10000001", name="Copy Paper", source="superstore")
    output, _ = run_import(SUPERSTORE, tmp_path=tmp_path)
    assert "5 created, 1 updated" in summary_line(output, "superstore_orders.csv")
    variant = Variant.objects.select_related("product").get(sku="SS-OFF-PA-10000001")
    assert variant.pk == placeholder.pk
    assert variant.needs_review is False
    assert variant.product.needs_review is False
    assert variant.product.source_ref == "OFF-PA-10000001"
    assert variant.product.name == "Copy Paper, 500 Sheets"


# Shopify ------------------------------------------------------------------------------------------


def test_shopify_import_groups_rows_by_handle(tmp_path):
    output, _ = run_import(SHOPIFY, tmp_path=tmp_path)
    assert "5 created, 0 updated, 0 unchanged, 4 rejected, 1 warnings" in summary_line(output, "shopify_products.csv")
    sweater = Product.objects.get(source="shopify", source_ref="merino-crew-sweater")
    assert sweater.name == "Merino Crew Sweater"
    assert sweater.handle == "merino-crew-sweater"
    assert sweater.brand.name == "Northfield Knits"
    assert sweater.category.path == "Apparel & Accessories > Clothing > Sweaters"
    assert sweater.description == "<p>Fine merino wool crew neck.</p>"
    assert sweater.source_data == {"tags": ["wool", "winter"], "type": "Sweaters"}
    variants = {variant.sku: variant for variant in sweater.variants.all()}
    assert sorted(variants) == ["NK-MCS-L-GRY", "NK-MCS-M-NVY", "NK-MCS-S-NVY"]
    assert variants["NK-MCS-M-NVY"].option_values == {"Size": "M", "Color": "Navy"}
    assert variants["NK-MCS-M-NVY"].name == "Merino Crew Sweater / M / Navy"
    assert variants["NK-MCS-M-NVY"].unit_cost == Decimal("31.5000")
    assert list(variants["NK-MCS-L-GRY"].barcodes.values_list("gtin", flat=True)) == ["0012345678905"]
    assert VariantPrice.objects.get(variant=variants["NK-MCS-S-NVY"], channel__code="web").amount == Decimal("89.00")
    pour_over = Variant.objects.get(sku="KC-POUR-01")
    assert pour_over.option_values == {}
    assert pour_over.name == "Ceramic Pour-Over Dripper"
    socks = Product.objects.get(source_ref="trail-socks")
    assert socks.is_active is False
    assert socks.category.path == "Socks"
    assert list(socks.variants.values_list("sku", flat=True)) == ["NK-TS-XL"]


def test_shopify_bad_rows_and_unknown_column(tmp_path):
    _, errors = run_import(SHOPIFY, tmp_path=tmp_path)
    rows = error_rows(errors)
    assert rows[0]["line"] == "1"
    assert rows[0]["severity"] == "warning"
    assert rows[0]["reason"] == "unknown column 'Warehouse Bin' is ignored"
    rejected = {row["line"]: row["reason"] for row in rows[1:]}
    assert set(rejected) == {"6", "7", "9", "10"}
    assert "8712345678914" in rejected["6"]
    assert "check digit 4" in rejected["6"]
    assert rejected["7"] == "Variant SKU is missing for handle merino-crew-sweater"
    assert rejected["9"] == "Variant Price -5.00 is negative: send zero or more."
    assert "18.999 has more than 2 decimal places" in rejected["10"]
    assert all(row["severity"] == "rejected" for row in rows[1:])


def test_shopify_rerun_changes_nothing(tmp_path):
    run_import(SHOPIFY, tmp_path=tmp_path)
    output, _ = run_import(SHOPIFY, tmp_path=tmp_path)
    assert "0 created, 0 updated, 5 unchanged" in summary_line(output, "shopify_products.csv")


def test_shopify_missing_required_column_fails(tmp_path):
    broken = tmp_path / "shopify.csv"
    lines = SHOPIFY.read_text().splitlines()
    broken.write_text("\n".join(line.replace(",Variant Price,", ",Price,") for line in lines[:3]) + "\n")
    with pytest.raises(CommandError) as error:
        run_import(broken, tmp_path=tmp_path)
    assert "line 1" in str(error.value)
    assert "Variant Price" in str(error.value)
    assert Product.objects.count() == 0


# The command --------------------------------------------------------------------------------------


def test_all_formats_in_one_run(tmp_path):
    output, _ = run_import(CJ, OFF, SUPERSTORE, SHOPIFY, tmp_path=tmp_path)
    assert Variant.objects.count() == 5 + 4 + 6 + 5
    assert "Rejected rows and warnings:" in output


def test_missing_file_fails(tmp_path):
    with pytest.raises(CommandError) as error:
        run_import(tmp_path / "nope.csv", tmp_path=tmp_path)
    assert "nope.csv" in str(error.value)


def test_unknown_header_fails_other_files_import(tmp_path):
    unknown = tmp_path / "people.csv"
    unknown.write_text("name,age\nAda,36\n")
    with pytest.raises(CommandError) as error:
        run_import(unknown, CJ, tmp_path=tmp_path)
    assert "people.csv" in str(error.value)
    assert "matches no catalog format" in str(error.value)
    assert Variant.objects.count() == 5


def test_format_option_overrides_detection(tmp_path):
    with pytest.raises(CommandError) as error:
        run_import(CJ, tmp_path=tmp_path, format="openfoodfacts")
    assert "barcode_id" in str(error.value)
    assert Variant.objects.count() == 0


def test_default_error_file_in_temp_dir(tmp_path):
    out = StringIO()
    call_command("import_catalog", str(CJ), no_progress=True, stdout=out)
    path = Path(out.getvalue().strip().splitlines()[-1].split(": ", 1)[1])
    assert path.name.startswith("import_catalog_errors_")
    assert len(error_rows(path)) == 4
    path.unlink()


def test_clean_file_reports_no_rejections(tmp_path):
    clean = tmp_path / "clean.csv"
    clean.write_text("barcode_id,gtin_type,product_name\n4006381333931,EAN-13,Pencil\n")
    output, errors = run_import(clean, tmp_path=tmp_path)
    assert "No rows rejected." in output
    assert not errors.exists()


def test_barcode_owned_elsewhere_rejected(tmp_path):
    run_import(OFF, tmp_path=tmp_path)
    clash = tmp_path / "clash.csv"
    header = SHOPIFY.read_text().splitlines()[0]
    clash.write_text(header + "\n" + "mug,Mug,,,,,,TRUE,Title,Default Title,,,,,MUG-1,,,,,,9.00,,,,4006381333931,,,,,,active,\n")
    output, errors = run_import(clash, tmp_path=tmp_path)
    reasons = [row["reason"] for row in error_rows(errors) if row["severity"] == "rejected"]
    assert reasons == ["barcode 4006381333931 already belongs to SKU OFF-4006381333931; a barcode belongs to one variant"]
    assert not Variant.objects.filter(sku="MUG-1").exists()


def test_queries_per_batch_constant(tmp_path):
    """A batch costs the same number of queries whatever its size."""

    def big_file(name, first_id, rows):
        path = tmp_path / name
        lines = ["product_id,manufacturer_id,department,brand,product_category,product_type,package_size"]
        lines += [f"{first_id + index},7,GROCERY,National,SOUP,CANNED SOUP,{index} OZ" for index in range(rows)]
        path.write_text("\n".join(lines) + "\n")
        return path

    def queries(path, batch_size):
        writer = CatalogWriter()
        writer._resolve_brands({"National"})
        writer._resolve_categories({"GROCERY > SOUP > CANNED SOUP"})
        with CaptureQueriesContext(connection) as captured:
            report = import_file(path, error_log=ErrorLog(tmp_path / "e.csv"), writer=writer, batch_size=batch_size)
        return len(captured), report

    small, report = queries(big_file("small.csv", 1000, 10), batch_size=10)
    assert report.created == 10
    large, report = queries(big_file("large.csv", 2000, 200), batch_size=200)
    assert report.created == 200
    assert small == large
    two_batches, report = queries(big_file("twice.csv", 3000, 400), batch_size=200)
    assert report.created == 400
    assert two_batches == 2 * large
    # A re-run looks everything up and writes nothing: fewer queries, the same for every batch size.
    rerun_small, report = queries(big_file("small.csv", 1000, 10), batch_size=10)
    rerun_large, report = queries(big_file("large.csv", 2000, 200), batch_size=200)
    assert report.unchanged == 200
    assert rerun_small == rerun_large < large


def test_superstore_price_change_is_update(tmp_path):
    run_import(SUPERSTORE, tmp_path=tmp_path)
    changed = tmp_path / "superstore_orders.csv"
    changed.write_text(SUPERSTORE.read_text().replace("Ring Binder,3.0,1,0.333,1.00", "Ring Binder,3.5,1,0.333,1.00"))
    output, _ = run_import(changed, tmp_path=tmp_path)
    assert "0 created, 1 updated, 5 unchanged" in summary_line(output, "superstore_orders.csv")
    # 3.5 / 0.667 = 5.2474 -> 5.25
    assert VariantPrice.objects.get(variant__sku="SS-OFF-BI-10000004").amount == Decimal("5.25")
    assert Variant.objects.get(sku="SS-OFF-BI-10000004").unit_cost == Decimal("2.5000")


def test_no_progress_bar_without_terminal(tmp_path, capsys):
    out = StringIO()
    call_command("import_catalog", str(OFF), errors=str(tmp_path / "errors.csv"), stdout=out)
    assert "4 created" in out.getvalue()
    assert capsys.readouterr().err == ""
