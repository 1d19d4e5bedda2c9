"""Open Food Facts barcode file (openfoodfacts_lifyzer_barcodes_100k.csv: barcode_id, gtin_type, product_name).

Each row is one product with one variant, SKU OFF-<normalised GTIN>, carrying its barcode (UPC-A
stored as EAN-13). barcode_id stays text throughout because of its leading zeros; it is the
product's source reference as written in the file.
"""

from collections.abc import Iterator

from ..barcodes import InvalidBarcode, gtin_normalise
from .base import CatalogFormat, CsvFile, ProductRecord, RowError, VariantRecord

SOURCE = "openfoodfacts"
SKU_PREFIX = "OFF-"


class OpenFoodFactsFormat(CatalogFormat):
    name = SOURCE
    label = "Open Food Facts barcodes"
    signature = frozenset({"barcode_id", "gtin_type"})
    required = frozenset({"barcode_id", "product_name"})

    def records(self, csv_file: CsvFile) -> Iterator[ProductRecord | RowError]:
        for line, row in csv_file.rows():
            if isinstance(row, RowError):
                yield row
                continue
            yield self._record(line, row)

    @staticmethod
    def _record(line: int, row: dict[str, str]) -> ProductRecord | RowError:
        barcode_id = row["barcode_id"]
        if not barcode_id:
            return RowError(line=line, reason="barcode_id is missing")
        try:
            gtin, kind = gtin_normalise(barcode_id)
        except InvalidBarcode as error:
            return RowError(line=line, reason=error.message)
        sku = SKU_PREFIX + gtin
        name = row["product_name"]
        if not name:
            return RowError(line=line, sku=sku, reason="product_name is missing")
        return ProductRecord(
            line=line,
            source=SOURCE,
            source_ref=barcode_id,
            fields={"name": name},
            variants=[VariantRecord(line=line, sku=sku, fields={"name": name}, barcodes=[(gtin, kind)])],
            barcode_source=SOURCE,
        )
