import datetime

from django.core.management.base import BaseCommand, CommandError

from analytics.services import sales_rollup_days


class Command(BaseCommand):
    help = "Rebuild the daily sales table from the orders for a range of days (inclusive)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first_day", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="last_day", required=True, help="Last day, YYYY-MM-DD.")
        parser.add_argument("--time-zone", default="UTC", help="Time zone whose calendar days are counted.")

    def handle(self, *args, first_day, last_day, time_zone, **options):
        try:
            first, last = datetime.date.fromisoformat(first_day), datetime.date.fromisoformat(last_day)
        except ValueError as error:
            raise CommandError(f"Invalid date ({error}): use YYYY-MM-DD.") from None
        if last < first:
            raise CommandError(f"--to {last} is before --from {first}.")
        written = sales_rollup_days(first_day=first, last_day=last, time_zone=time_zone)
        self.stdout.write(f"Daily sales rebuilt from {first} to {last}: {written} rows.")
