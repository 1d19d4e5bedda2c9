"""Fast tests of the replay's money clean-up, file parsing and plan, on small fixture files."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orders.replay.locations import LATITUDE_RANGE, LONGITUDE_RANGE, store_coordinates
from orders.replay.money import (
    AmountInvalid,
    amount_clean,
    completejourney_prices,
    line_prices,
    superstore_prices,
    superstore_unit_cost,
)
from orders.replay.plan import (
    POS,
    SKIP_ORDER_WITHOUT_LINES,
    SKIP_QUANTITY_ZERO,
    WEB,
    plan_build,
)
from orders.replay.sources import ReplayDataError, superstore_read, transactions_read

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("731.9399999999999", "731.94"),
        ("907.152", "907.15"),
        ("0.5549999", "0.55"),
        ("219.58199999999997", "219.58"),
        ("4.440892e-16", "0.00"),
        # Half-up, where binary floats would round 2.675 and 1.005 down.
        ("0.125", "0.13"),
        ("2.675", "2.68"),
        ("1.005", "1.01"),
        ("0.005", "0.01"),
        ("0.0049999", "0.00"),
        ("-0.125", "-0.13"),
        (" 12 ", "12.00"),
    ],
)
def test_amount_clean(text, expected):
    assert amount_clean(text) == Decimal(expected)
    assert str(amount_clean(text)) == expected


@pytest.mark.parametrize("text", ["", "abc", "nan", "inf", "1,5"])
def test_amount_clean_rejects_non_numbers(text):
    with pytest.raises(AmountInvalid):
        amount_clean(text)


def test_superstore_prices_keep_sales_as_line_total():
    prices = superstore_prices(sales="907.152", quantity=4, discount_rate="0.2")
    # 907.152 / (4 x 0.8) = 283.485, half-up 283.49.
    assert prices.unit_price == Decimal("283.49")
    assert prices.line_total == Decimal("907.15")
    assert prices.discount_amount == Decimal("226.81")


def test_superstore_prices_without_discount():
    prices = superstore_prices(sales="731.9399999999999", quantity=3, discount_rate="0.0")
    assert prices.unit_price == Decimal("243.98")
    assert prices.discount_amount == Decimal("0.00")
    assert prices.line_total == Decimal("731.94")


def test_superstore_prices_reject_full_discount():
    with pytest.raises(AmountInvalid):
        superstore_prices(sales="10", quantity=1, discount_rate="1.0")


def test_superstore_unit_cost_four_places():
    assert superstore_unit_cost(sales="907.152", profit="-34.0182", quantity=4) == Decimal("235.2926")
    assert superstore_unit_cost(sales="731.9399999999999", profit="219.58199999999997", quantity=3) == Decimal("170.7860")


def test_completejourney_prices_positive_discounts():
    prices = completejourney_prices(sales_value="3.0", retail_disc="0.5", coupon_match_disc="0.0", quantity=2)
    assert prices.unit_price == Decimal("1.75")
    assert prices.discount_amount == Decimal("0.50")
    assert prices.line_total == Decimal("3.00")


def test_completejourney_prices_add_coupon_match():
    prices = completejourney_prices(sales_value="1.9899999999999998", retail_disc="0.0", coupon_match_disc="0.25", quantity=1)
    assert prices.unit_price == Decimal("2.24")
    assert prices.discount_amount == Decimal("0.25")
    assert prices.line_total == Decimal("1.99")


def test_fuel_units_below_a_cent_round_up():
    prices = completejourney_prices(sales_value="75.0", retail_disc="0.0", coupon_match_disc="0.0", quantity=32623)
    assert prices.unit_price == Decimal("0.01")
    assert prices.line_total == Decimal("75.00")
    assert prices.discount_amount == Decimal("251.23")


def test_weighed_item_never_gets_negative_discount():
    # 1.00 for 3 units is 0.333 a unit: half-up 0.33 would make 0.99 < 1.00, so the unit price is 0.34.
    prices = line_prices(gross=Decimal("1.00"), line_total=Decimal("1.00"), quantity=3)
    assert prices.unit_price == Decimal("0.34")
    assert prices.discount_amount == Decimal("0.02")


def test_line_prices_identity_holds():
    for gross, total, quantity in [("10.01", "9.50", 3), ("0.07", "0.07", 7), ("5.00", "4.99", 1), ("100", "1", 6)]:
        prices = line_prices(gross=Decimal(gross), line_total=Decimal(total), quantity=quantity)
        assert prices.unit_price * quantity - prices.discount_amount == prices.line_total
        assert prices.discount_amount >= 0


def test_transactions_read_fixture():
    rows = list(transactions_read(FIXTURES / "completejourney_transactions_sample.csv"))
    assert len(rows) == 7
    first = rows[0]
    assert (first.household_id, first.store_id, first.basket_id, first.product_id, first.quantity) == ("7", "12", "900002", "1001", 2)
    assert first.timestamp == datetime(2017, 1, 2, 10, 0, tzinfo=UTC)
    assert first.line_number == 2
    assert rows[5].quantity == 32623


def test_superstore_read_fixture():
    rows = list(superstore_read(FIXTURES / "superstore_orders.csv"))
    assert [row.row_id for row in rows] == [1, 2, 3, 4, 5]
    assert rows[1].product_name == "Stacking Chairs, Rounded Back"
    assert rows[2].customer_name == "Sean O'Donnell"
    assert rows[2].sales == "907.152"


def test_reader_names_bad_line(tmp_path):
    path = tmp_path / "completejourney_transactions_sample.csv"
    text = (FIXTURES / "completejourney_transactions_sample.csv").read_text()
    path.write_text(text + "9,12,900009,1001,two,1.0,0.0,0.0,0.0,2,2017-01-10 12:00:00\n")
    with pytest.raises(ReplayDataError, match="line 9: quantity 'two' is not a whole number"):
        list(transactions_read(path))


def test_reader_rejects_wrong_header(tmp_path):
    path = tmp_path / "completejourney_transactions_sample.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ReplayDataError, match="has no column household_id"):
        list(transactions_read(path))


def test_reader_reports_missing_file(tmp_path):
    with pytest.raises(ReplayDataError, match="is missing from"):
        list(transactions_read(tmp_path / "completejourney_transactions_sample.csv"))


@pytest.fixture
def fixture_plan():
    return plan_build(data_dir=FIXTURES)


def test_plan_register_sales_in_time_order(fixture_plan):
    assert [order.external_ref for order in fixture_plan.register_sales] == ["900003", "900002", "900004"]
    assert [order.location_code for order in fixture_plan.register_sales] == ["cj-store-34", "cj-store-12", "cj-store-34"]
    assert fixture_plan.register_sales[0].customer_external_id == "cj-household-8"
    assert fixture_plan.store_ids == ["12", "34"]


def test_plan_register_sales_totals(fixture_plan):
    lines = [line for order in fixture_plan.register_sales for line in order.lines]
    assert len(lines) == 5
    assert sum(order.sales for order in fixture_plan.register_sales) == Decimal("86.16")
    assert sum(order.units for order in fixture_plan.register_sales) == 32628


def test_plan_counts_skips(fixture_plan):
    assert fixture_plan.skipped_lines[(POS, SKIP_QUANTITY_ZERO)] == 2
    assert fixture_plan.skipped_lines[(WEB, SKIP_QUANTITY_ZERO)] == 1
    assert fixture_plan.skipped_orders[(POS, SKIP_ORDER_WITHOUT_LINES)] == 2
    assert fixture_plan.missing_product_lines == 1


def test_plan_placeholder_line(fixture_plan):
    assert fixture_plan.placeholder_skus() == {"CJ-9999": "Complete Journey product 9999"}
    placeholder = fixture_plan.register_sales[0].lines[1]
    assert placeholder.placeholder is True
    assert placeholder.prices.line_total == Decimal("4.67")


def test_plan_web_orders(fixture_plan):
    orders = fixture_plan.web_orders
    assert [order.external_ref for order in orders] == ["US-2015-000001", "CA-2016-000002", "CA-2017-000003"]
    assert [order.location_code for order in orders] == ["", "", ""]
    assert [line.location_code for line in orders[0].lines] == ["wh-west"]
    assert [line.location_code for line in orders[1].lines] == ["wh-central", "wh-central"]
    assert orders[0].customer_external_id == "ss-SO-20335"
    assert (orders[0].customer_first_name, orders[0].customer_last_name) == ("Sean", "O'Donnell")
    assert orders[0].placed_at == datetime(2015, 10, 11, 12, 0, tzinfo=UTC)
    assert [line.sku for line in orders[0].lines] == ["SS-FUR-BO-1-2"]
    assert [line.sku for line in orders[1].lines] == ["SS-FUR-BO-1", "SS-FUR-CH-1"]
    assert sum(order.sales for order in orders) == Decimal("2184.54")
    assert orders[0].lines[0].unit_cost == Decimal("235.2926")


def test_plan_units_sold_per_location(fixture_plan):
    units = fixture_plan.units_sold()
    assert units[("CJ-1001", "cj-store-12")] == 2
    assert units[("CJ-1001", "cj-store-34")] == 1
    assert units[("CJ-1004", "cj-store-34")] == 32623
    assert units[("SS-FUR-BO-1-2", "wh-west")] == 5
    assert len(units) == 8


def test_plan_stocks_sku_at_one_warehouse(fixture_plan):
    # Pine Bookcase sells 4 units in the West and 1 in Central: the Central order ships from wh-west.
    central_order = fixture_plan.web_orders[2]
    assert central_order.lines[0].sku == "SS-FUR-BO-1-2"
    assert central_order.lines[0].location_code == "wh-west"


def test_plan_limits(fixture_plan):
    plan = plan_build(data_dir=FIXTURES, limit_baskets=1, limit_orders=1)
    assert [order.external_ref for order in plan.register_sales] == ["900003"]
    assert [order.external_ref for order in plan.web_orders] == ["US-2015-000001"]
    assert plan.beyond_limit == {POS: 2, WEB: 2}
    # Every store of the file is kept, so the locations do not depend on the limit.
    assert plan.store_ids == ["12", "34"]


def test_plan_without_web_orders(fixture_plan):
    plan = plan_build(data_dir=FIXTURES, limit_orders=0)
    assert plan.web_orders == []


def test_store_coordinates_deterministic_in_box():
    first = store_coordinates("367")
    assert store_coordinates("367") == first
    assert store_coordinates("368") != first
    for store_id in ("1", "367", "31782", "32004"):
        latitude, longitude = store_coordinates(store_id)
        assert LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]
        assert LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]
        assert latitude == latitude.quantize(Decimal("0.000001"))
