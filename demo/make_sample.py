"""Cut the demo sample in demo/sample/ from the full public data files, the same way every time.

    python demo/make_sample.py [--source DIR]

DIR defaults to $TANDEM_SHARED_DATA, else ../shared/data beside the project (as in settings).
The cut:
- Complete Journey transactions (CC0): every line of the STORE_COUNT stores with the most lines,
  from baskets before CUTOFF (the first quarter of 2017), in file order.
- Complete Journey products (CC0): the rows of the products those lines name, in file order.
- Open Food Facts barcodes (ODbL 1.0): every BARCODE_STEP-th row of the file, which is sorted by barcode.
No Superstore row is copied, because that data states no licence.
"""

import argparse
import csv
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "demo" / "sample"

TRANSACTIONS = "completejourney_transactions_sample.csv"
PRODUCTS = "completejourney_products.csv"
BARCODES = "openfoodfacts_lifyzer_barcodes_100k.csv"

STORE_COUNT = 10
CUTOFF = "2017-04-01"
BARCODE_STEP = 50


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{path.relative_to(ROOT)}: {len(rows)} rows")


def sample_make(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)

    columns, transactions = _read(source / TRANSACTIONS)
    lines_per_store = Counter(row["store_id"] for row in transactions)
    # Ties in line count are broken by the store id, so the cut does not depend on file order.
    ranked = sorted(lines_per_store.items(), key=lambda item: (-item[1], int(item[0])))
    stores = {store_id for store_id, _count in ranked[:STORE_COUNT]}
    kept = [row for row in transactions if row["store_id"] in stores and row["transaction_timestamp"] < CUTOFF]
    _write(target / TRANSACTIONS, columns, kept)

    product_ids = {row["product_id"] for row in kept}
    columns, products = _read(source / PRODUCTS)
    _write(target / PRODUCTS, columns, [row for row in products if row["product_id"] in product_ids])

    columns, barcodes = _read(source / BARCODES)
    _write(target / BARCODES, columns, barcodes[::BARCODE_STEP])


def main() -> int:
    default_source = Path(os.environ.get("TANDEM_SHARED_DATA") or ROOT.parent / "shared" / "data")
    parser = argparse.ArgumentParser(description="Cut demo/sample from the full public data files.")
    parser.add_argument("--source", type=Path, default=default_source, help="folder with the full files (default: %(default)s)")
    args = parser.parse_args()
    missing = [name for name in (TRANSACTIONS, PRODUCTS, BARCODES) if not (args.source / name).is_file()]
    if missing:
        print(f"{', '.join(missing)} not found in {args.source}: pass --source with the folder of the full files.", file=sys.stderr)
        return 1
    sample_make(args.source, SAMPLE_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
