"""Load the demo data, staff accounts and a storefront API key: `manage.py demo_setup`."""

import secrets
import sys
import time
from argparse import RawDescriptionHelpFormatter
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count, Q
from tqdm import tqdm

from backoffice.demo import STOREFRONT_UNITS, demo_promotions_ensure, storefront_stock_receive
from commerce.api_keys import api_key_create
from commerce.roles import role_groups_sync, staff_member_save
from commerce.models import ApiKey, Role, Scope
from inventory.models import Location
from orders.management.commands.replay import report_write
from orders.replay.plan import WAREHOUSE_CENTRAL, plan_build, store_code
from orders.replay.runner import catalog_import, channels_ensure, replay_run, shelf_prices_fill
from orders.replay.sources import COMPLETEJOURNEY_PRODUCTS, COMPLETEJOURNEY_TRANSACTIONS, ReplayDataError

SAMPLE_DIR = Path(settings.BASE_DIR) / "demo" / "sample"

# With the full files, the demo replays only this many baskets and web orders, so that it starts in a
# few minutes. `manage.py replay` replays them all.
DEMO_BASKETS = 3000
DEMO_WEB_ORDERS = 300

STOREFRONT_KEY_NAME = "storefront"
STOREFRONT_SCOPES = [Scope.CATALOG_READ, Scope.INVENTORY_READ, Scope.ORDERS_WRITE, Scope.ORDERS_READ, Scope.CARTS_WRITE]

HELP = f"""Load the demo: catalog, locations, opening stock and replayed orders, staff accounts and a
storefront API key. Run `manage.py migrate` first; this command does not migrate.

Data: the full public files in settings.SHARED_DATA_DIR ($TANDEM_SHARED_DATA) when that folder has
them, replaying only the first {DEMO_BASKETS} baskets and {DEMO_WEB_ORDERS} web orders so that start-up
stays within a few minutes (`manage.py replay` replays everything). Otherwise the sample shipped in
demo/sample (10 stores, first quarter of 2017, no web orders). Store coordinates are SYNTHETIC: made
from the store id in a box around Cincinnati, Ohio, and flagged coordinates_synthetic.

Accounts (usernames): admin (superuser), manager and cashier at the first store, fulfillment at
{WAREHOUSE_CENTRAL}, finance. A password is printed when an account is made (or with
--reset-passwords). The storefront key (scopes {' '.join(STOREFRONT_SCOPES)}) is printed once, when it
is made; a key named "{STOREFRONT_KEY_NAME}" that is not revoked is kept.

Complete Journey products get base prices on both channels from the shelf price of their latest
replayed line, where they have none. Running the command again adds nothing twice and prints the
existing accounts."""


def demo_data_dir() -> tuple[Path, bool]:
    """Return (the folder to load, whether it has the full files)."""
    shared = Path(settings.SHARED_DATA_DIR)
    if all((shared / name).is_file() for name in (COMPLETEJOURNEY_TRANSACTIONS, COMPLETEJOURNEY_PRODUCTS)):
        return shared, True
    return SAMPLE_DIR, False


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Host the demo server listens on, for the printed links (default: %(default)s).")
        parser.add_argument("--port", type=int, default=8000, help="Port the demo server listens on, for the printed links (default: %(default)s).")
        parser.add_argument("--reset-passwords", action="store_true", help="Give every demo account a new password and print it.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show progress bars (they are shown only on a terminal).")

    def handle(self, *args, **options):
        started = time.monotonic()
        data_dir, full = demo_data_dir()
        self.stdout.write(f"Loading the demo from {'the full files in ' if full else 'the sample in '}{data_dir}.")
        try:
            plan = plan_build(
                data_dir=data_dir,
                limit_baskets=DEMO_BASKETS if full else None,
                limit_orders=DEMO_WEB_ORDERS if full else 0,
            )
        except ReplayDataError as error:
            raise CommandError(f"{error} Nothing was written.") from None

        catalog_import(data_dir=data_dir, stdout=self.stdout)
        show_progress = not options["no_progress"] and sys.stdout.isatty()
        progress_factory = (lambda total, label: tqdm(total=total, desc=label, unit="orders", file=sys.stderr)) if show_progress else None
        result = replay_run(plan, progress_factory=progress_factory)
        report_write(self.stdout, plan, result, seconds=time.monotonic() - started)
        prices = shelf_prices_fill(plan, channels=channels_ensure().values())
        self.stdout.write(f"Base prices set from the replayed shelf prices: {prices}.")

        # The demo's store staff work at the store with the most items in stock, so a cashier can sell.
        first_store = (
            Location.objects.filter(kind=Location.STORE, code__in=[store_code(store_id) for store_id in plan.store_ids])
            .annotate(levels=Count("stock_levels", filter=Q(stock_levels__on_hand__gt=0)))
            .order_by("-levels", "code")
            .first()
        )
        warehouse = Location.objects.get(code=WAREHOUSE_CENTRAL)
        stocked = storefront_stock_receive(warehouse=warehouse)
        self.stdout.write(f"Online stock: {stocked} priced variants received {STOREFRONT_UNITS} units each at {warehouse.code}.")
        for name in demo_promotions_ensure():
            self.stdout.write(f"Promotion created: {name}.")
        role_groups_sync()
        accounts = demo_accounts_ensure(store=first_store, warehouse=warehouse, reset_passwords=options["reset_passwords"])
        self._accounts_write(accounts)
        self._api_key_write(storefront_key_ensure())
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(f"Admin: {base}/admin/   API docs: {base}/api/docs/")

    def _accounts_write(self, accounts: list[tuple[str, str, str, str | None]]) -> None:
        self.stdout.write("Demo accounts (username, role, where, password):")
        for username, role, where, password in accounts:
            password_text = password if password is not None else f"unchanged (run `manage.py changepassword {username}` or demo_setup --reset-passwords)"
            self.stdout.write(f"  {username:<12} {role:<22} {where:<16} {password_text}")

    def _api_key_write(self, key_and_secret: tuple[ApiKey, str | None]) -> None:
        api_key, secret = key_and_secret
        if secret is not None:
            self.stdout.write(f"Storefront API key (shown once, keep it): {secret}")
            self.stdout.write('  Send it as the header "Authorization: Api-Key <key>".')
            return
        self.stdout.write(
            f'Storefront API key: kept the existing key "{api_key.name}" (prefix {api_key.prefix}); its secret was shown when it was made.'
        )
        scopes = ", ".join(f'"{scope}"' for scope in STOREFRONT_SCOPES)
        self.stdout.write(
            "  To make another one: manage.py shell -c \"from commerce.api_keys import api_key_create; "
            f"print(api_key_create(name='storefront-2', scopes=[{scopes}])[1])\""
        )


# (username, role, is superuser, location: "store", "warehouse" or None)
DEMO_ACCOUNTS = (
    ("admin", Role.ADMINISTRATOR, True, None),
    ("manager", Role.STORE_MANAGER, False, "store"),
    ("cashier", Role.CASHIER, False, "store"),
    ("fulfillment", Role.FULFILLMENT_ASSOCIATE, False, "warehouse"),
    ("finance", Role.FINANCE, False, None),
)


@transaction.atomic
def demo_accounts_ensure(*, store: Location, warehouse: Location, reset_passwords: bool = False) -> list[tuple[str, str, str, str | None]]:
    """Create the demo staff accounts that are missing; return (username, role, location, new password or None).

    An existing account keeps its password unless `reset_passwords` is set; its role and location
    are set back to the demo's.
    """
    user_model = get_user_model()
    accounts = []
    for username, role, is_superuser, bound_to in DEMO_ACCOUNTS:
        location = {"store": store, "warehouse": warehouse}.get(bound_to)
        user = user_model.objects.filter(username=username).first()
        password = None
        if user is None or reset_passwords:
            password = secrets.token_urlsafe(12)
        if user is None:
            user = user_model(username=username)
        user.is_superuser = is_superuser
        # Every role logs in through the admin login. Its group decides which admin pages it can open.
        user.is_staff = True
        user.is_active = True
        if password is not None:
            user.set_password(password)
        user.save()
        staff_member_save(user=user, role=role, locations=[location] if location is not None else [])
        accounts.append((username, role, location.code if location is not None else "all locations", password))
    return accounts


@transaction.atomic
def storefront_key_ensure() -> tuple[ApiKey, str | None]:
    """Return (the storefront key, its secret when made now). A key that is not revoked is kept."""
    existing = ApiKey.objects.filter(name=STOREFRONT_KEY_NAME, revoked_at__isnull=True).order_by("id").first()
    if existing is not None:
        return existing, None
    return api_key_create(name=STOREFRONT_KEY_NAME, scopes=list(STOREFRONT_SCOPES))
