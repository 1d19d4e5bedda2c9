"""Tableau "Sample - Superstore" order lines (superstore_orders.csv) as a product file.

The SKU rule, shared with the order replay through `superstore_sku_map`:

- One product (and one variant) per distinct (Product ID, Product Name). Some Product IDs carry two
  different names; those are different products and are never merged.
- For each Product ID, take its distinct names in order of first appearance by Row ID. The first
  name gets SKU ``SS-<Product ID>``, the second ``SS-<Product ID>-2``, the third ``-3``, and so on.
- Variant.name and Product.name are the Product Name; the category path is Category > Sub-Category.
- The base price on the web channel is the list unit price of the first line of that SKU (by Row ID):
  Sales / (Quantity x (1 - Discount)), rounded half-up to the cent.
- The unit cost is (Sales - Profit) / Quantity of that same line, rounded half-up to 4 places.

Every line with a Row ID, a Product ID and a Product Name counts for the SKU order. A line whose
numbers are invalid (quantity below 1, a discount outside [0, 1), a negative cost) is reported, and the
price and cost then come from the SKU's next line with valid numbers. A SKU without any such line is
imported without price and cost.

The file is read as a stream. What is kept in memory is one entry per distinct product, not per line.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from commerce.money import quantize

from ..models import Channel
from .base import CatalogFormat, CsvFile, FileRejected, ProductRecord, RowError, VariantRecord

SOURCE = "superstore"
SKU_PREFIX = "SS-"
CURRENCY = "USD"
COST_QUANTUM = Decimal("0.0001")

KEY_COLUMNS = ("Row ID", "Product ID", "Product Name")


@dataclass
class _LinePrice:
    row_id: int
    price: Decimal
    cost: Decimal


@dataclass
class _FirstSeen:
    """The first line and the first line with valid numbers of one (Product ID, Product Name)."""

    row_id: int
    line: int
    category: str
    sub_category: str
    priced: _LinePrice | None = None


def superstore_sku(product_id: str, position: int) -> str:
    """Return the SKU of the `position`-th distinct name (1-based) of `product_id`."""
    return f"{SKU_PREFIX}{product_id}" if position == 1 else f"{SKU_PREFIX}{product_id}-{position}"


def _row_key(line: int, row: dict[str, str]) -> tuple[int, str, str] | RowError:
    """Return (Row ID, Product ID, Product Name), or a RowError when one of them is unusable."""
    raw_row_id = row["Row ID"]
    if not raw_row_id.isdigit():
        return RowError(line=line, reason=f"Row ID {raw_row_id!r} is not a whole number" if raw_row_id else "Row ID is missing")
    if not row["Product ID"]:
        return RowError(line=line, reason="Product ID is missing")
    if not row["Product Name"]:
        return RowError(line=line, reason=f"Product Name is missing for Product ID {row['Product ID']}")
    return int(raw_row_id), row["Product ID"], row["Product Name"]


def assign_skus(first_row_ids: dict[tuple[str, str], int]) -> dict[tuple[str, str], str]:
    """Apply the SKU rule to {(product_id, product_name): first Row ID}."""
    names_by_id: dict[str, list[tuple[int, str]]] = {}
    for (product_id, name), row_id in first_row_ids.items():
        names_by_id.setdefault(product_id, []).append((row_id, name))
    skus = {}
    for product_id, names in names_by_id.items():
        for position, (_, name) in enumerate(sorted(names), start=1):
            skus[(product_id, name)] = superstore_sku(product_id, position)
    return skus


def superstore_sku_map(path) -> dict[tuple[str, str], str]:
    """Return {(Product ID, Product Name): SKU} for a Superstore orders file, by the rule in this module.

    Reads the file as a stream. Lines without a Row ID, Product ID or Product Name are skipped, as the
    import rejects them. Raises FileRejected when a key column is missing.
    """
    csv_file = CsvFile.open(Path(path))
    missing = [name for name in KEY_COLUMNS if name not in csv_file.header]
    if missing:
        raise FileRejected(f"{csv_file.path.name} lacks the column(s) {', '.join(missing)} that the Superstore SKU rule needs.")
    first_row_ids: dict[tuple[str, str], int] = {}
    for line, row in csv_file.rows():
        if isinstance(row, RowError):
            continue
        key = _row_key(line, row)
        if isinstance(key, RowError):
            continue
        row_id, product_id, name = key
        known = first_row_ids.get((product_id, name))
        if known is None or row_id < known:
            first_row_ids[(product_id, name)] = row_id
    return assign_skus(first_row_ids)


def _decimal(row: dict[str, str], column: str) -> Decimal:
    try:
        value = Decimal(row[column])
    except InvalidOperation:
        raise ValueError(f"{column} {row[column]!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{column} {row[column]!r} is not a finite number")
    return value


def line_price(row: dict[str, str]) -> _LinePrice:
    """Compute the list unit price and the unit cost of one order line. Raises ValueError naming the bad value."""
    sales = _decimal(row, "Sales")
    profit = _decimal(row, "Profit")
    discount = _decimal(row, "Discount")
    if not row["Quantity"].isdigit() or int(row["Quantity"]) < 1:
        raise ValueError(f"Quantity {row['Quantity']!r} is not a whole number of at least 1")
    quantity = int(row["Quantity"])
    if not Decimal(0) <= discount < Decimal(1):
        raise ValueError(f"Discount {discount} is outside 0 to 1 (exclusive), so no list price follows from it")
    if sales < 0:
        raise ValueError(f"Sales {sales} is negative")
    price = quantize(sales / (quantity * (Decimal(1) - discount)), CURRENCY)
    cost = ((sales - profit) / quantity).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
    if cost < 0:
        raise ValueError(f"the unit cost (Sales - Profit) / Quantity = {cost} is negative (Profit {profit} exceeds Sales {sales})")
    return _LinePrice(row_id=0, price=price, cost=cost)


class SuperstoreFormat(CatalogFormat):
    name = SOURCE
    label = "Superstore orders"
    signature = frozenset({"Row ID", "Order ID", "Product ID"})
    required = frozenset({"Row ID", "Product ID", "Category", "Sub-Category", "Product Name", "Sales", "Quantity", "Discount", "Profit"})

    def records(self, csv_file: CsvFile) -> Iterator[ProductRecord | RowError]:
        seen: dict[tuple[str, str], _FirstSeen] = {}
        for line, row in csv_file.rows():
            if isinstance(row, RowError):
                yield row
                continue
            key = _row_key(line, row)
            if isinstance(key, RowError):
                yield key
                continue
            row_id, product_id, name = key
            entry = seen.get((product_id, name))
            if entry is None or row_id < entry.row_id:
                first = _FirstSeen(row_id=row_id, line=line, category=row["Category"], sub_category=row["Sub-Category"])
                if entry is not None:
                    first.priced = entry.priced
                seen[(product_id, name)] = entry = first
            try:
                priced = line_price(row)
            except ValueError as error:
                yield RowError(line=line, reason=f"{error}; Product ID {product_id}")
                continue
            priced.row_id = row_id
            if entry.priced is None or row_id < entry.priced.row_id:
                entry.priced = priced

        skus = assign_skus({key: entry.row_id for key, entry in seen.items()})
        web = Channel.WEB
        for (product_id, name), entry in sorted(seen.items(), key=lambda item: item[1].row_id):
            sku = skus[(product_id, name)]
            category_path = " > ".join(level.replace(">", "/") for level in (entry.category, entry.sub_category) if level) or None
            variant_fields = {"name": name}
            prices = {}
            if entry.priced is not None:
                variant_fields["unit_cost"] = entry.priced.cost
                prices[web] = entry.priced.price
            yield ProductRecord(
                line=entry.line,
                source=SOURCE,
                source_ref=sku.removeprefix(SKU_PREFIX),
                fields={"name": name, "source_data": {"product_id": product_id}},
                category_path=category_path,
                variants=[VariantRecord(line=entry.line, sku=sku, fields=variant_fields, prices=prices)],
            )
