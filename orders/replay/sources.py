"""Reading the replayed files: the Complete Journey transactions and products, the Superstore orders.

Each reader checks the header and raises ReplayDataError naming the file, the line and the value
when a row cannot be read, so that a damaged file stops the replay before anything is written.
"""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

COMPLETEJOURNEY_TRANSACTIONS = "completejourney_transactions_sample.csv"
COMPLETEJOURNEY_PRODUCTS = "completejourney_products.csv"
SUPERSTORE_ORDERS = "superstore_orders.csv"
OPENFOODFACTS_BARCODES = "openfoodfacts_lifyzer_barcodes_100k.csv"

TRANSACTION_COLUMNS = (
    "household_id", "store_id", "basket_id", "product_id", "quantity", "sales_value",
    "retail_disc", "coupon_disc", "coupon_match_disc", "week", "transaction_timestamp",
)
SUPERSTORE_COLUMNS = (
    "Row ID", "Order ID", "Order Date", "Ship Date", "Ship Mode", "Customer ID", "Customer Name",
    "Segment", "Country", "City", "State", "Postal Code", "Region", "Product ID", "Category",
    "Sub-Category", "Product Name", "Sales", "Quantity", "Discount", "Profit",
)


class ReplayDataError(ValueError):
    """Raised for a file that is missing or a row that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class TransactionRow:
    """One receipt line of the Complete Journey sample. Amounts stay text until priced."""

    line_number: int
    household_id: str
    store_id: str
    basket_id: str
    product_id: str
    quantity: int
    sales_value: str
    retail_disc: str
    coupon_match_disc: str
    timestamp: datetime


@dataclass(frozen=True)
class SuperstoreRow:
    line_number: int
    row_id: int
    order_id: str
    order_date: date
    ship_date: date
    ship_mode: str
    customer_id: str
    customer_name: str
    city: str
    state: str
    postal_code: str
    region: str
    product_id: str
    product_name: str
    sales: str
    quantity: int
    discount: str
    profit: str


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row) from a CSV file whose header has at least `columns`."""
    if not path.is_file():
        raise ReplayDataError(f"{path.name} is missing from {path.parent}: check --data-dir.")
    # utf-8-sig drops a byte order mark a spreadsheet program may have written.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in columns if column not in (reader.fieldnames or [])]
        if missing:
            raise ReplayDataError(f"{path.name} has no column {', '.join(missing)}: is it the right file?")
        for row in reader:
            yield reader.line_num, row


def _integer(value: str, *, path: Path, line_number: int, column: str) -> int:
    text = (value or "").strip()
    try:
        # Some exports write whole numbers as floats ("3.0").
        number = float(text) if "." in text else int(text)
    except ValueError:
        raise ReplayDataError(f"{path.name} line {line_number}: {column} {value!r} is not a whole number.") from None
    if isinstance(number, float):
        if not number.is_integer():
            raise ReplayDataError(f"{path.name} line {line_number}: {column} {value!r} is not a whole number.")
        number = int(number)
    return number


def _text(value: str | None) -> str:
    return (value or "").strip()


def transactions_read(path: Path) -> Iterator[TransactionRow]:
    """Read the Complete Journey transactions; timestamps are taken as UTC."""
    for line_number, row in _rows(path, TRANSACTION_COLUMNS):
        try:
            timestamp = datetime.strptime(_text(row["transaction_timestamp"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise ReplayDataError(
                f"{path.name} line {line_number}: transaction_timestamp {row['transaction_timestamp']!r} is not YYYY-MM-DD HH:MM:SS."
            ) from None
        ids = {column: _text(row[column]) for column in ("household_id", "store_id", "basket_id", "product_id")}
        for column, value in ids.items():
            if not value:
                raise ReplayDataError(f"{path.name} line {line_number}: {column} is empty.")
        yield TransactionRow(
            line_number=line_number,
            household_id=ids["household_id"],
            store_id=ids["store_id"],
            basket_id=ids["basket_id"],
            product_id=ids["product_id"],
            quantity=_integer(row["quantity"], path=path, line_number=line_number, column="quantity"),
            sales_value=_text(row["sales_value"]),
            retail_disc=_text(row["retail_disc"]),
            coupon_match_disc=_text(row["coupon_match_disc"]),
            timestamp=timestamp,
        )


def product_ids_read(path: Path) -> set[str]:
    """Return the product ids of the Complete Journey product file."""
    return {_text(row["product_id"]) for _line_number, row in _rows(path, ("product_id",))}


def superstore_read(path: Path) -> Iterator[SuperstoreRow]:
    for line_number, row in _rows(path, SUPERSTORE_COLUMNS):
        try:
            order_date = date.fromisoformat(_text(row["Order Date"]))
            ship_date = date.fromisoformat(_text(row["Ship Date"]))
        except ValueError:
            raise ReplayDataError(
                f"{path.name} line {line_number}: Order Date {row['Order Date']!r} or Ship Date {row['Ship Date']!r} is not YYYY-MM-DD."
            ) from None
        for column in ("Order ID", "Customer ID", "Product ID"):
            if not _text(row[column]):
                raise ReplayDataError(f"{path.name} line {line_number}: {column} is empty.")
        yield SuperstoreRow(
            line_number=line_number,
            row_id=_integer(row["Row ID"], path=path, line_number=line_number, column="Row ID"),
            order_id=_text(row["Order ID"]),
            order_date=order_date,
            ship_date=ship_date,
            ship_mode=_text(row["Ship Mode"]),
            customer_id=_text(row["Customer ID"]),
            customer_name=_text(row["Customer Name"]),
            city=_text(row["City"]),
            state=_text(row["State"]),
            postal_code=_text(row["Postal Code"]),
            region=_text(row["Region"]),
            product_id=_text(row["Product ID"]),
            product_name=_text(row["Product Name"]),
            sales=_text(row["Sales"]),
            quantity=_integer(row["Quantity"], path=path, line_number=line_number, column="Quantity"),
            discount=_text(row["Discount"]),
            profit=_text(row["Profit"]),
        )
