"""Import catalog files: Complete Journey products, Open Food Facts barcodes, Superstore orders, Shopify exports."""

import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.importers import FORMATS
from catalog.importers.run import DEFAULT_BATCH_SIZE, ErrorLog, import_file
from catalog.importers.writer import CatalogWriter

HELP = """Import product files into the catalog. The format of each file is detected from its header
(or set with --format). Importing the same file again changes nothing.

Formats:
  completejourney  product_id, manufacturer_id, department, brand, product_category, product_type,
                   package_size. SKU CJ-<product_id>; category department > product_category > product_type.
  openfoodfacts    barcode_id, gtin_type, product_name. SKU OFF-<GTIN>, UPC-A stored as EAN-13.
  superstore       Superstore order lines. One product per distinct (Product ID, Product Name). For each
                   Product ID its distinct names, in order of first appearance by Row ID, get SKUs
                   SS-<Product ID>, SS-<Product ID>-2, -3 ... The web base price is the first line's
                   Sales / (Quantity x (1 - Discount)) rounded half-up to the cent; the unit cost is
                   (Sales - Profit) / Quantity to 4 places.
  shopify          Shopify product export; rows sharing a Handle are one product. Unknown columns are
                   reported once as a warning at line 1 and ignored.

Bad rows are rejected with their line number and reason, listed at the end and written to the error
CSV; the good rows are imported. Exit status 0 when every file was readable (even with rejected rows);
1 when a file is missing, its header matches no format, or it lacks a required column."""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, help="CSV files to import, in this order.")
        parser.add_argument("--format", choices=sorted(FORMATS), help="Format of every file given; detected from the header when left out.")
        parser.add_argument("--errors", type=Path, help="Where to write the CSV of rejected rows (default: a new file in the system temp directory).")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"Variants written per transaction (default {DEFAULT_BATCH_SIZE}).")
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar (it is shown only when stdout is a terminal).")

    def handle(self, *args, **options):
        # call_command() passes options without argparse's type conversion, so convert here too.
        files = [Path(path) for path in options["files"]]
        missing = [str(path) for path in files if not path.is_file()]
        if missing:
            raise CommandError(f"File not found: {', '.join(missing)}. Check the path; nothing was imported.")
        if options["batch_size"] < 1:
            raise CommandError(f"--batch-size must be at least 1, got {options['batch_size']}.")

        error_path = Path(options["errors"]) if options["errors"] else None
        if error_path is None:
            handle = tempfile.NamedTemporaryFile(prefix="import_catalog_errors_", suffix=".csv", delete=False)
            handle.close()
            error_path = Path(handle.name)
        error_log = ErrorLog(error_path)

        show_progress = not options["no_progress"] and sys.stdout.isatty()
        progress_factory = (lambda total, desc: tqdm(total=total, desc=desc, unit="rows", file=sys.stderr)) if show_progress else None

        writer = CatalogWriter()
        reports = []
        try:
            for path in files:
                reports.append(
                    import_file(
                        path,
                        error_log=error_log,
                        format_name=options["format"],
                        writer=writer,
                        batch_size=options["batch_size"],
                        progress_factory=progress_factory,
                    )
                )
        finally:
            error_log.close()

        self._print_summary(reports, error_log)
        failures = [report.failure for report in reports if report.failure]
        if failures:
            raise CommandError("\n".join(failures))

    def _print_summary(self, reports, error_log: ErrorLog) -> None:
        for report in reports:
            if report.failure:
                self.stdout.write(f"{report.path.name}: not imported")
                continue
            self.stdout.write(
                f"{report.path.name} ({report.format_name}): {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.rejected} rejected"
                + (f", {report.warnings} warnings" if report.warnings else "")
            )
            for error in report.first_errors:
                label = "warning" if error.warning else "rejected"
                sku = f" {error.sku}" if error.sku else ""
                self.stdout.write(f"  line {error.line}{sku}: {label}: {error.reason}")
            more = report.rejected + report.warnings - len(report.first_errors)
            if more > 0:
                self.stdout.write(f"  ... and {more} more in the error file")
        if error_log.used:
            self.stdout.write(f"Rejected rows and warnings: {error_log.path}")
        else:
            error_log.path.unlink(missing_ok=True)
            self.stdout.write("No rows rejected.")
