"""demo_setup on the shipped sample: data, accounts, the storefront key, and a second run that adds nothing.

demo_setup runs once for the module, inside a transaction rolled back at the end; each test's own
changes are rolled back after it by pytest-django.
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings

from backoffice.management.commands.demo_setup import demo_accounts_ensure
from catalog.models import Barcode, Channel, Variant, VariantPrice
from commerce.api_keys import ApiKeyAuthentication
from commerce.models import ApiKey, Role, StaffProfile
from inventory.models import Location, StockLevel, StockMovement
from orders.models import Order, OrderLine
from pricing.models import Coupon

pytestmark = pytest.mark.django_db

# Figures of demo/sample/completejourney_transactions_sample.csv, counted with the csv module:
# 3,440 lines, 14 of them with quantity 0, in 2,105 baskets at 10 stores.
SAMPLE_BASKETS = 2105
SAMPLE_LINES = 3426
SAMPLE_SALES = Decimal("10976.14")
SAMPLE_STORES = 10
# The sample's store with the most items in stock, where the demo's store staff work.
DEMO_STORE = "cj-store-367"


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker, tmp_path_factory):
    # An empty shared folder makes demo_setup fall back to demo/sample. The password hasher is the
    # one tests/conftest.py sets for every test, so that the tests can check the printed passwords.
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(SHARED_DATA_DIR=tmp_path_factory.mktemp("no_shared_data"), PASSWORD_HASHERS=hashers):
        with django_db_blocker.unblock():
            with transaction.atomic():
                output = StringIO()
                call_command("demo_setup", "--no-progress", stdout=output)
                yield output.getvalue()
                transaction.set_rollback(True)


def test_demo_setup_loads_sample(demo_output):
    sales = Order.objects.filter(channel__code=Channel.POS)
    assert sales.count() == SAMPLE_BASKETS
    assert OrderLine.objects.filter(order__channel__code=Channel.POS).count() == SAMPLE_LINES
    assert OrderLine.objects.aggregate(total=Sum("line_total"))["total"] == SAMPLE_SALES
    assert sales.values("location").distinct().count() == SAMPLE_STORES
    assert Order.objects.filter(channel__code=Channel.WEB).count() == 0
    assert "demo/sample" in demo_output
    assert f"{SAMPLE_BASKETS} orders, {SAMPLE_LINES} lines" in demo_output


def test_demo_setup_catalog_and_locations(demo_output):
    assert Variant.objects.filter(sku__startswith="CJ-").count() >= 2554
    assert Barcode.objects.count() == 2000
    assert Location.objects.filter(kind=Location.STORE).count() == SAMPLE_STORES
    assert set(Location.objects.filter(kind=Location.WAREHOUSE).values_list("code", flat=True)) == {"wh-central", "wh-west"}
    store = Location.objects.get(code=DEMO_STORE)
    assert store.coordinates_synthetic is True
    assert store.time_zone == "America/New_York"
    assert (store.sells_in_store, store.offers_pickup, store.ships_from_store, store.allow_negative_stock) == (True, True, True, False)
    assert set(Channel.objects.values_list("code", "currency")) == {("web", "USD"), ("pos", "USD")}


def test_demo_setup_fills_shelf_prices(demo_output):
    sold_skus = set(OrderLine.objects.filter(line_total__gt=0).values_list("sku", flat=True))
    for channel in ("pos", "web"):
        priced = set(VariantPrice.objects.filter(channel__code=channel).values_list("variant__sku", flat=True))
        assert sold_skus <= priced
    # The sample's only line of product 995211 sold 1 unit for 1.88 after a 0.61 loyalty discount.
    assert VariantPrice.objects.get(variant__sku="CJ-995211", channel__code="pos").amount == Decimal("2.49")


def test_demo_setup_stock_ends_at_margin(demo_output):
    levels = StockLevel.objects.filter(location__kind=Location.STORE)
    assert set(levels.values_list("on_hand", flat=True)) == {5}
    store_movements = StockMovement.objects.filter(stock_level__location__kind=Location.STORE)
    assert store_movements.aggregate(total=Sum("quantity"))["total"] == 5 * levels.count()


def test_demo_setup_stocks_online_shop(demo_output):
    web_priced = VariantPrice.objects.filter(channel__code="web").count()
    warehouse_levels = StockLevel.objects.filter(location__code="wh-central")
    assert web_priced > 0
    assert warehouse_levels.count() == web_priced
    assert set(warehouse_levels.values_list("on_hand", flat=True)) == {24}
    assert f"{web_priced} priced variants received 24 units each at wh-central" in demo_output


def test_demo_setup_creates_coupon(demo_output):
    coupon = Coupon.objects.get(code="WELCOME10")
    assert coupon.per_customer_limit == 1
    assert coupon.promotion.value == Decimal("10")


def test_demo_setup_accounts(demo_output):
    users = {user.username: user for user in get_user_model().objects.all()}
    assert set(users) == {"admin", "manager", "cashier", "fulfillment", "finance"}
    assert users["admin"].is_superuser is True
    expected = {
        "manager": (Role.STORE_MANAGER, [DEMO_STORE]),
        "cashier": (Role.CASHIER, [DEMO_STORE]),
        "fulfillment": (Role.FULFILLMENT_ASSOCIATE, ["wh-central"]),
        "finance": (Role.FINANCE, []),
    }
    for username, (role, codes) in expected.items():
        profile = StaffProfile.objects.get(user=users[username])
        assert profile.role == role
        assert sorted(profile.locations.values_list("code", flat=True)) == codes
    password = _printed_password(demo_output, "cashier")
    assert users["cashier"].check_password(password)


def test_demo_setup_storefront_key(demo_output):
    key = ApiKey.objects.get(name="storefront")
    assert sorted(key.scopes) == sorted(["catalog:read", "inventory:read", "orders:write", "orders:read", "carts:write"])
    secret = demo_output.split("Storefront API key (shown once, keep it): ")[1].split()[0]
    authenticated = ApiKeyAuthentication().authenticate(_request_with_key(secret))
    assert authenticated[1] == key


def test_demo_setup_second_run_adds_nothing(demo_output):
    orders, lines, movements = Order.objects.count(), OrderLine.objects.count(), StockMovement.objects.count()
    cashier_password = _printed_password(demo_output, "cashier")
    output = StringIO()
    call_command("demo_setup", "--no-progress", stdout=output)
    second = output.getvalue()
    assert (Order.objects.count(), OrderLine.objects.count(), StockMovement.objects.count()) == (orders, lines, movements)
    assert ApiKey.objects.filter(name="storefront").count() == 1
    assert "kept the existing key" in second
    assert "Base prices set from the replayed shelf prices: 0." in second
    assert "api_key_create" in second
    assert f"0 placed now, {SAMPLE_BASKETS} already there" in second
    assert "cashier" in second
    assert get_user_model().objects.get(username="cashier").check_password(cashier_password)


def test_demo_accounts_reset_passwords(demo_output):
    old_password = _printed_password(demo_output, "finance")
    store, warehouse = Location.objects.get(code=DEMO_STORE), Location.objects.get(code="wh-central")
    accounts = {row[0]: row for row in demo_accounts_ensure(store=store, warehouse=warehouse, reset_passwords=True)}
    new_password = accounts["finance"][3]
    assert new_password is not None
    assert new_password != old_password
    assert get_user_model().objects.get(username="finance").check_password(new_password)
    assert get_user_model().objects.count() == 5


def test_demo_accounts_keep_passwords(demo_output):
    store, warehouse = Location.objects.get(code=DEMO_STORE), Location.objects.get(code="wh-central")
    accounts = demo_accounts_ensure(store=store, warehouse=warehouse)
    assert [row[3] for row in accounts] == [None] * 5
    assert get_user_model().objects.get(username="cashier").check_password(_printed_password(demo_output, "cashier"))


def test_demo_store_staff_can_sell(demo_output):
    in_stock = StockLevel.objects.filter(location__kind=Location.STORE, on_hand__gt=0).values("location__code")
    counts = {}
    for row in in_stock:
        counts[row["location__code"]] = counts.get(row["location__code"], 0) + 1
    assert max(counts.values()) == counts[DEMO_STORE]
    assert counts[DEMO_STORE] > 0


def test_demo_staff_log_in_with_role_group(demo_output):
    cashier = get_user_model().objects.get(username="cashier")
    assert cashier.is_staff is True
    assert list(cashier.groups.values_list("name", flat=True)) == ["Role: Cashier"]
    assert cashier.has_perm("inventory.view_stocklevel") is True
    assert cashier.has_perm("orders.view_order") is False
    assert get_user_model().objects.get(username="finance").has_perm("orders.view_order") is True


def _printed_password(output: str, username: str) -> str:
    line = next(line for line in output.splitlines() if line.strip().startswith(username + " "))
    return line.split()[-1]


def _request_with_key(secret: str):
    from rest_framework.test import APIRequestFactory

    return APIRequestFactory().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {secret}")
