"""Replay the public retail data through the order services: `manage.py replay`."""

import sys
import time
from argparse import RawDescriptionHelpFormatter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.replay.plan import POS, WEB, ReplayPlan, plan_build
from orders.replay.runner import OPENING_MARGIN, ReplayResult, catalog_import, replay_run
from orders.replay.sources import ReplayDataError

HELP = f"""Import the public retail data and replay it through the same services as the API.

1. Catalog: import_catalog on the Complete Journey products, the Open Food Facts barcodes and the
   Superstore orders found in the data folder.
2. Locations: a store `cj-store-<store_id>` per Complete Journey store, with SYNTHETIC coordinates
   made from the store id in a box around Cincinnati, Ohio (flagged coordinates_synthetic), and the
   warehouses wh-central and wh-west, which ship web orders.
3. Opening stock: a receipt per (variant, location) of exactly the units the replay sells there plus
   {OPENING_MARGIN}, so every level ends with {OPENING_MARGIN} units on hand.
4. Every Complete Journey basket as a register sale at its store, in transaction_timestamp order,
   for customer cj-household-<household_id>; every Superstore order as a web order for customer
   ss-<Customer ID>, shipped and completed. Orders keep the prices of the file.

Lines with quantity 0 are skipped and counted. Products missing from the product file are sold as
placeholder products flagged needs_review. Running the command again adds nothing twice."""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir", type=Path, default=None,
            help="Folder with the data files (default: settings.SHARED_DATA_DIR, from $TANDEM_SHARED_DATA).",
        )
        parser.add_argument("--limit-baskets", type=int, default=None, help="Replay only the first N baskets by time (default: all).")
        parser.add_argument("--limit-orders", type=int, default=None, help="Replay only the first N Superstore orders by date (default: all).")
        parser.add_argument("--skip-catalog", action="store_true", help="Do not run the catalog import first (it already ran).")
        parser.add_argument("--no-progress", action="store_true", help="Do not show progress bars (they are shown only on a terminal).")

    def handle(self, *args, **options):
        data_dir: Path = options["data_dir"] or Path(settings.SHARED_DATA_DIR)
        if not data_dir.is_dir():
            raise CommandError(f"Data folder {data_dir} does not exist: pass --data-dir or set TANDEM_SHARED_DATA.")
        for name in ("limit_baskets", "limit_orders"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must be 0 or more, got {options[name]}.")

        started = time.monotonic()
        try:
            plan = plan_build(data_dir=data_dir, limit_baskets=options["limit_baskets"], limit_orders=options["limit_orders"])
        except ReplayDataError as error:
            raise CommandError(f"{error} Nothing was written.") from None
        self.stdout.write(f"Read the files in {time.monotonic() - started:.1f} s.")

        if not options["skip_catalog"]:
            catalog_started = time.monotonic()
            catalog_import(data_dir=data_dir, stdout=self.stdout)
            self.stdout.write(f"Imported the catalog in {time.monotonic() - catalog_started:.1f} s.")

        show_progress = not options["no_progress"] and sys.stdout.isatty()
        progress_factory = (lambda total, label: tqdm(total=total, desc=label, unit="orders", file=sys.stderr)) if show_progress else None
        result = replay_run(plan, progress_factory=progress_factory)
        report_write(self.stdout, plan, result, seconds=time.monotonic() - started)


def report_write(stdout, plan: ReplayPlan, result: ReplayResult, *, seconds: float) -> None:
    """Print the figures of the replayed orders per channel and what was left out and why."""
    labels = {POS: "Register sales (Complete Journey)", WEB: "Web orders (Superstore)"}
    for code in (POS, WEB):
        figures = result.figures[code]
        stdout.write(
            f"{labels[code]}: {figures.orders} orders, {figures.lines} lines, {figures.units} units, "
            f"sales {figures.sales:,.2f} at {figures.locations} locations "
            f"({result.created[code]} placed now, {result.already_there[code]} already there)"
        )
    stdout.write(f"Opening stock received now: {result.opening_units_received} units (margin {OPENING_MARGIN} per level).")
    stdout.write(
        f"Products missing from the product file: {plan.missing_product_lines} lines of the transaction file. "
        f"Replayed lines selling a placeholder flagged needs_review: {result.placeholder_lines} "
        f"({result.placeholder_variants} placeholder variants made now)."
    )
    skipped = sorted(plan.skipped_lines.items()) + sorted(plan.skipped_orders.items())
    if skipped:
        stdout.write("Skipped:")
        for (code, reason), count in sorted(plan.skipped_lines.items()):
            stdout.write(f"  {code}: {count} lines: {reason}")
        for (code, reason), count in sorted(plan.skipped_orders.items()):
            stdout.write(f"  {code}: {count} orders: {reason}")
    for code, count in sorted(plan.beyond_limit.items()):
        if count:
            stdout.write(f"  {code}: {count} orders beyond the limit")
    for (code, error_code), count in sorted(result.rejected.items()):
        stdout.write(f"  {code}: {count} orders rejected by the order service: {error_code} (see the log)")
    timings = ", ".join(f"{label} {value:.1f} s" for label, value in result.seconds.items())
    stdout.write(f"Done in {seconds:.1f} s ({timings}).")
