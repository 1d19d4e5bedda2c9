"""Shopify product export CSV.

Rows sharing a Handle are one product, one variant per row. The first row of a handle carries the
product columns (Title, Body (HTML), Vendor, Product Category, Type, Tags, Status) and the option
names. Later rows may leave them blank and add only variant columns. Rows that carry neither a
Variant SKU nor a price nor an option value are image rows and are skipped.

Mapping: Vendor is the brand, and Product Category (else Type) is the category path. Variant Price is
the web channel's base price and Cost per item the unit cost. Variant Barcode is added as a GTIN, and
a code with a bad check digit rejects the row. Status "active" (or, without a Status column, Published
"true") makes the product active. Tags and Type are kept in the product's source data.
Variant Compare At Price is read but not stored: the catalog keeps one base price per channel.

Columns this importer does not know are reported once as a warning at line 1 and ignored, so a newer
export with extra columns still imports.

NOTE: rows of a handle must be adjacent, as Shopify writes them. A handle that appears again after
another handle starts a new group, which is rejected unless it repeats the product columns.
"""

from collections.abc import Iterator

from commerce.errors import ValidationFailed
from commerce.money import parse_amount

from ..barcodes import InvalidBarcode, gtin_normalise
from ..models import Channel
from ..services import unit_cost_parse
from .base import HEADER_LINE, CatalogFormat, CsvFile, ProductRecord, RowError, VariantRecord

SOURCE = "shopify"
CURRENCY = "USD"
OPTION_NUMBERS = (1, 2, 3)

KNOWN_COLUMNS = frozenset(
    {
        "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
        "Option1 Name", "Option1 Value", "Option1 Linked To", "Option2 Name", "Option2 Value", "Option2 Linked To",
        "Option3 Name", "Option3 Value", "Option3 Linked To",
        "Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
        "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price", "Variant Requires Shipping",
        "Variant Taxable", "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Gift Card",
        "SEO Title", "SEO Description", "Variant Image", "Variant Weight Unit", "Variant Tax Code", "Cost per item",
        "Status", "Unit Price Total Measure", "Unit Price Total Measure Unit", "Unit Price Base Measure",
        "Unit Price Base Measure Unit",
    }
)
# Market-specific and marketing columns come in families, e.g. "Price / Canada" or "Google Shopping / MPN",
# and metafields as "Label (product.metafields.namespace.key)".
KNOWN_PREFIXES = ("Google Shopping / ", "Included / ", "Price / ", "Compare At Price / ")
KNOWN_MARKERS = ("(product.metafields.", "(variant.metafields.")

# Shopify's name and value for a product without options.
DEFAULT_OPTION = ("Title", "Default Title")


def is_known_column(name: str) -> bool:
    return name in KNOWN_COLUMNS or name.startswith(KNOWN_PREFIXES) or any(marker in name for marker in KNOWN_MARKERS)


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "1")


class ShopifyFormat(CatalogFormat):
    name = SOURCE
    label = "Shopify products"
    signature = frozenset({"Handle", "Title", "Variant SKU"})
    required = frozenset({"Handle", "Title", "Variant SKU", "Variant Price"})

    def check_header(self, csv_file: CsvFile) -> list[RowError]:
        super().check_header(csv_file)
        return [
            RowError(line=HEADER_LINE, reason=f"unknown column {name!r} is ignored", warning=True)
            for name in csv_file.header
            if not is_known_column(name)
        ]

    def records(self, csv_file: CsvFile) -> Iterator[ProductRecord | RowError]:
        group: list[tuple[int, dict]] = []
        for line, row in csv_file.rows():
            if isinstance(row, RowError):
                yield row
                continue
            if not row["Handle"]:
                yield RowError(line=line, sku=row.get("Variant SKU", ""), reason="Handle is missing")
                continue
            if group and row["Handle"] != group[0][1]["Handle"]:
                yield from self._product(group)
                group = []
            group.append((line, row))
        if group:
            yield from self._product(group)

    def _product(self, group: list[tuple[int, dict]]) -> Iterator[ProductRecord | RowError]:
        first_line, first = group[0]
        handle = first["Handle"]
        title = first["Title"]
        if not title:
            for line, row in group:
                yield RowError(line=line, sku=row["Variant SKU"], reason=f"Title is missing on the first row of handle {handle}")
            return
        option_names = {number: first.get(f"Option{number} Name", "") for number in OPTION_NUMBERS}
        variants = []
        for line, row in group:
            if self._is_image_row(row):
                continue
            variant = self._variant(line, row, title=title, option_names=option_names)
            if isinstance(variant, RowError):
                yield variant
            else:
                variants.append(variant)
        if not variants:
            return

        category = first.get("Product Category") or first.get("Type") or ""
        yield ProductRecord(
            line=first_line,
            source=SOURCE,
            source_ref=handle,
            fields=self._product_fields(first),
            brand=first.get("Vendor") or None,
            category_path=category or None,
            variants=variants,
            barcode_source=SOURCE,
        )

    @staticmethod
    def _product_fields(first: dict) -> dict:
        """Map the product columns of a handle's first row to Product fields."""
        source_data = {}
        if first.get("Tags"):
            source_data["tags"] = [tag.strip() for tag in first["Tags"].split(",") if tag.strip()]
        if first.get("Type"):
            source_data["type"] = first["Type"]
        if first.get("Status"):
            is_active = first["Status"].lower() == "active"
        elif first.get("Published"):
            is_active = _true(first["Published"])
        else:
            is_active = True
        return {
            "name": first["Title"],
            "description": first.get("Body (HTML)", ""),
            "handle": first["Handle"],
            "is_active": is_active,
            "source_data": source_data,
        }

    @staticmethod
    def _is_image_row(row: dict) -> bool:
        variant_columns = ["Variant SKU", "Variant Price", "Variant Barcode"] + [f"Option{number} Value" for number in OPTION_NUMBERS]
        return not any(row.get(column) for column in variant_columns)

    @staticmethod
    def _variant(line: int, row: dict, *, title: str, option_names: dict) -> VariantRecord | RowError:
        sku = row["Variant SKU"]
        if not sku:
            return RowError(line=line, reason=f"Variant SKU is missing for handle {row['Handle']}")
        try:
            price = parse_amount(row["Variant Price"], field="Variant Price", currency=CURRENCY) if row["Variant Price"] else None
            cost = unit_cost_parse(row.get("Cost per item", ""), field="Cost per item")
            barcodes = [gtin_normalise(row["Variant Barcode"])] if row.get("Variant Barcode") else []
        except InvalidBarcode as error:
            return RowError(line=line, sku=sku, reason=f"Variant Barcode: {error.message}")
        except ValidationFailed as error:
            return RowError(line=line, sku=sku, reason=error.message)
        if price is None:
            return RowError(line=line, sku=sku, reason="Variant Price is missing")
        options = {}
        for number in OPTION_NUMBERS:
            name, value = option_names[number], row.get(f"Option{number} Value", "")
            if value and (name, value) != DEFAULT_OPTION:
                if not name:
                    return RowError(line=line, sku=sku, reason=f"Option{number} Value {value!r} has no Option{number} Name on the first row of the handle")
                options[name] = value
        name = " / ".join([title, *options.values()]) if options else title
        fields = {"name": name, "option_values": options}
        if cost is not None or row.get("Cost per item") is not None:
            fields["unit_cost"] = cost
        return VariantRecord(line=line, sku=sku, fields=fields, barcodes=barcodes, prices={Channel.WEB: price})
