"""84.51 "The Complete Journey" product file (completejourney_products.csv).

Each row is one product with one variant, SKU CJ-<product_id>. The category path is
department > product_category > product_type, leaving out blank levels. The brand column contains
"National" or "Private" and becomes the Brand. The file has no product names or prices, so the name
is the most specific category name with the package size.
"""

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from .base import CatalogFormat, CsvFile, ProductRecord, RowError, VariantRecord

SOURCE = "completejourney"
SKU_PREFIX = "CJ-"


def completejourney_product_id(raw: str) -> str | None:
    """Return the product id as plain digits, or None when it is not a whole number.

    The R export writes some round ids in scientific notation ("9e+05" for 900000), so an integral
    number in that form is accepted and written out in full.
    """
    text = raw.strip()
    if text.isdigit():
        return str(int(text))
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        return None
    return str(int(value))


def completejourney_sku(raw_product_id: str) -> str | None:
    """Return the SKU of a Complete Journey product id (CJ-<id>), or None when the id is not a whole number.

    The transaction replay uses this too, so both sides agree on SKUs.
    """
    product_id = completejourney_product_id(raw_product_id)
    return SKU_PREFIX + product_id if product_id is not None else None


class CompleteJourneyFormat(CatalogFormat):
    name = SOURCE
    label = "Complete Journey products"
    signature = frozenset({"product_id", "manufacturer_id", "department"})
    required = frozenset({"product_id", "department", "brand", "product_category", "product_type"})

    def records(self, csv_file: CsvFile) -> Iterator[ProductRecord | RowError]:
        for line, row in csv_file.rows():
            if isinstance(row, RowError):
                yield row
                continue
            yield self._record(line, row)

    @staticmethod
    def _record(line: int, row: dict[str, str]) -> ProductRecord | RowError:
        if not row["product_id"]:
            return RowError(line=line, reason="product_id is missing")
        product_id = completejourney_product_id(row["product_id"])
        if product_id is None:
            return RowError(line=line, reason=f"product_id {row['product_id']!r} is not a whole number")
        sku = SKU_PREFIX + product_id
        if not row["department"]:
            return RowError(line=line, sku=sku, reason="department is missing")
        levels = [row["department"], row["product_category"], row["product_type"]]
        path = " > ".join(level.replace(">", "/") for level in levels if level)
        package_size = row.get("package_size", "")
        name = " ".join(part for part in (next(level for level in reversed(levels) if level), package_size) if part)
        source_data = {}
        if row.get("manufacturer_id"):
            source_data["manufacturer_id"] = row["manufacturer_id"]
        return ProductRecord(
            line=line,
            source=SOURCE,
            source_ref=product_id,
            fields={"name": name, "package_size": package_size, "source_data": source_data},
            brand=row["brand"] or None,
            category_path=path,
            variants=[VariantRecord(line=line, sku=sku, fields={"name": name})],
        )
