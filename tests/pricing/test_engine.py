"""The pure engine: prices, promotions, allocation, tax and totals, with no database."""

from decimal import Decimal

import pytest

from commerce.errors import ValidationFailed
from pricing.basket import BasketLine, CouponFacts, PriceOffer
from pricing.engine import allocate, price_basket, select_unit_price

from .builders import AT, CHANNEL_ID, basket, context, promotion, rate, region, variant

D = Decimal


def outcome(priced, promotion_id):
    return next(item for item in priced.promotions if item.promotion_id == promotion_id)


# Discount rounding and allocation.


def test_quarter_off_19_99_is_14_99():
    # 19.99 * 25% = 4.9975, rounded half-up on the discount amount to 5.00, so the line pays 14.99.
    priced = price_basket(
        basket((1, 1)),
        context([variant(1, "19.99")], promotions=[promotion(1, scope="items", value="25", variant_ids=frozenset({1}))]),
    )
    line = priced.lines[0]
    assert line.discount_total == D("5.00")
    assert line.paid_before_tax == D("14.99")
    assert priced.total == D("14.99")


def test_order_discount_allocation_sums_exactly():
    # 0.30 * 33% = 0.099, rounded half-up to 0.10; 0.0333 each floors to 0.03, and the spare cent goes
    # to line 0 because all remainders tie and the lower index wins.
    items = [variant(1, "0.10"), variant(2, "0.10"), variant(3, "0.10")]
    priced = price_basket(basket((1, 1), (2, 1), (3, 1)), context(items, promotions=[promotion(1, value="33")]))
    assert [line.discount_total for line in priced.lines] == [D("0.04"), D("0.03"), D("0.03")]
    assert priced.discount_total == D("0.10")
    assert outcome(priced, 1).discount_total == D("0.10")
    assert priced.total == D("0.20")


def test_allocate_largest_remainder_tie_break():
    assert allocate(D("0.10"), [D("1"), D("1"), D("1")], "USD") == [D("0.04"), D("0.03"), D("0.03")]
    assert allocate(D("1.00"), [D("1"), D("2")], "USD") == [D("0.33"), D("0.67")]
    assert allocate(D("0"), [D("1")], "USD") == [D("0.00")]
    assert allocate(D("5"), [D("1"), D("1")], "JPY") == [D("3"), D("2")]


def test_allocate_respects_capacities():
    shares = allocate(D("0.05"), [D("1"), D("1")], "USD", capacities=[D("0.01"), D("1.00")])
    assert shares == [D("0.01"), D("0.04")]


# Quantity promotions.


def three_for_two():
    return promotion(7, kind="buy_x_get_y", scope="items", buy_quantity=2, get_quantity=1, get_percent=D("100"), variant_ids=frozenset({1, 2}))


def test_three_for_two_gives_cheapest_free():
    items = [variant(1, "5.00"), variant(2, "3.00")]
    priced = price_basket(basket((1, 2), (2, 1)), context(items, promotions=[three_for_two()]))
    assert priced.lines[1].discount_total == D("3.00")
    assert priced.lines[0].discount_total == D("0.00")
    assert priced.total == D("10.00")


def test_three_for_two_disappears_at_two_units():
    items = [variant(1, "5.00"), variant(2, "3.00")]
    priced = price_basket(basket((1, 1), (2, 1)), context(items, promotions=[three_for_two()]))
    assert priced.discount_total == D("0.00")
    assert outcome(priced, 7).applied is False
    assert outcome(priced, 7).reason == "not_enough_units"


def test_three_for_two_counts_groups():
    priced = price_basket(basket((1, 7)), context([variant(1, "2.00")], promotions=[three_for_two()]))
    # 7 units make 2 groups of 3: 2 free units.
    assert priced.discount_total == D("4.00")


def test_cheapest_item_discount_applies_once():
    cheapest = promotion(3, scope="order", value="10", cheapest_unit_only=True)
    items = [variant(1, "8.00"), variant(2, "4.00"), variant(3, "6.00")]
    priced = price_basket(basket((1, 3), (2, 5), (3, 1)), context(items, promotions=[cheapest]))
    assert priced.discount_total == D("0.40")
    assert priced.lines[1].discount_total == D("0.40")
    assert outcome(priced, 3).applied is True


def test_min_quantity_and_spend_thresholds():
    quantity_rule = promotion(1, value="10", min_quantity=3)
    spend_rule = promotion(2, kind="fixed_amount", value="5", min_subtotal=D("50.00"))
    priced = price_basket(basket((1, 2)), context([variant(1, "20.00")], promotions=[quantity_rule, spend_rule]))
    assert outcome(priced, 1).reason == "below_min_quantity"
    assert outcome(priced, 2).reason == "below_min_subtotal"
    assert priced.total == D("40.00")

    priced = price_basket(basket((1, 3)), context([variant(1, "20.00")], promotions=[quantity_rule, spend_rule]))
    # 10% of 60.00 first (priority ties, lower id first), then 5.00 off the remaining 54.00.
    assert priced.discount_total == D("11.00")
    assert priced.total == D("49.00")


# Scopes and stacking.


def test_category_promotion_covers_subtree():
    promo = promotion(1, scope="categories", value="50", category_paths=("Food",))
    items = [variant(1, "4.00", category="Food > Dairy > Milk"), variant(2, "4.00", category="Foodstuffs"), variant(3, "4.00", category="Food")]
    priced = price_basket(basket((1, 1), (2, 1), (3, 1)), context(items, promotions=[promo]))
    assert [line.discount_total for line in priced.lines] == [D("2.00"), D("0.00"), D("2.00")]


def test_item_level_before_order_level():
    order_fixed = promotion(1, scope="order", kind="fixed_amount", value="10", priority=100)
    item_percent = promotion(2, scope="items", value="50", variant_ids=frozenset({1}), priority=0)
    priced = price_basket(basket((1, 1), (2, 1)), context([variant(1, "20.00"), variant(2, "10.00")], promotions=[order_fixed, item_percent]))
    # Item phase: 10.00 off line 0. Order phase: 10.00 over the remaining 10.00 + 10.00, 5.00 each.
    assert [line.discount_total for line in priced.lines] == [D("15.00"), D("5.00")]
    assert [item.promotion_id for item in priced.promotions] == [2, 1]


def test_exclusive_promotion_blocks_others():
    small = promotion(1, value="5", priority=10)
    exclusive = promotion(2, value="20", exclusive=True, priority=0)
    priced = price_basket(basket((1, 1)), context([variant(1, "100.00")], promotions=[small, exclusive]))
    assert priced.discount_total == D("20.00")
    assert outcome(priced, 1).reason == "blocked_by_exclusive"
    assert outcome(priced, 2).applied is True


def test_exclusive_not_qualifying_lets_others_stack():
    small = promotion(1, value="5")
    exclusive = promotion(2, value="20", exclusive=True, min_quantity=5)
    priced = price_basket(basket((1, 1)), context([variant(1, "100.00")], promotions=[small, exclusive]))
    assert priced.discount_total == D("5.00")
    assert outcome(priced, 2).reason == "below_min_quantity"


def test_stacked_discounts_never_exceed_line():
    promos = [promotion(1, kind="fixed_amount", value="8"), promotion(2, kind="fixed_amount", value="8")]
    priced = price_basket(basket((1, 1)), context([variant(1, "10.00")], promotions=promos))
    assert priced.discount_total == D("10.00")
    assert priced.total == D("0.00")


def test_channel_and_store_restrictions_reported():
    promos = [promotion(1, value="10", channel_ids=frozenset({99})), promotion(2, value="10", location_ids=frozenset({5}))]
    priced = price_basket(basket((1, 1)), context([variant(1, "10.00")], promotions=promos, store_id=6))
    assert outcome(priced, 1).reason == "not_for_channel"
    assert outcome(priced, 2).reason == "not_for_store"


# Price lists.


def test_most_specific_price_list_wins():
    offers = (
        PriceOffer(1, "Store", 2, 50, D("8.00")),
        PriceOffer(2, "Members", 3, 0, D("9.00")),
        PriceOffer(3, "Summer", 1, 99, D("7.00")),
    )
    assert select_unit_price(offers).price_list_name == "Members"


def test_equal_specificity_priority_then_lower_price():
    assert select_unit_price((PriceOffer(1, "A", 2, 1, D("5.00")), PriceOffer(2, "B", 2, 2, D("6.00")))).price_list_id == 2
    assert select_unit_price((PriceOffer(1, "A", 2, 1, D("5.00")), PriceOffer(2, "B", 2, 1, D("4.00")))).price_list_id == 2
    assert select_unit_price(()) is None


def test_line_reports_price_source():
    offers = {1: (PriceOffer(4, "Store 5", 2, 0, D("7.50")),)}
    line = BasketLine(variant_id=2, quantity=1, unit_price=D("3.10"))
    priced = price_basket(basket((1, 2), (3, 1), line), context([variant(1, "10.00"), variant(2, "9.00"), variant(3, "1.00")], offers=offers))
    assert [(line.price_source, line.unit_price, line.price_list_id) for line in priced.lines] == [
        ("price_list", D("7.50"), 4),
        ("base", D("1.00"), None),
        ("override", D("3.10"), None),
    ]
    assert priced.subtotal == D("19.10")


# Tax.


def test_three_at_0_99_with_23_percent_tax():
    # 2.97 * 23% = 0.6831 -> 0.68 whether rounded per line or per document.
    for rounding in ("per_line", "per_document"):
        priced = price_basket(basket((1, 3)), context([variant(1, "0.99")], tax_region=region(rounding), tax_rates=[rate(1, "23")]))
        assert priced.subtotal == D("2.97")
        assert priced.tax_total == D("0.68")
        assert priced.total == D("3.65")


def test_per_line_and_per_document_rounding_differ():
    # Three separate lines of 0.99: per line 0.2277 -> 0.23 three times = 0.69; per document 0.6831 -> 0.68.
    items = [variant(1, "0.99"), variant(2, "0.99"), variant(3, "0.99")]
    per_line = price_basket(basket((1, 1), (2, 1), (3, 1)), context(items, tax_region=region("per_line"), tax_rates=[rate(1, "23")]))
    per_document = price_basket(basket((1, 1), (2, 1), (3, 1)), context(items, tax_region=region("per_document"), tax_rates=[rate(1, "23")]))
    assert per_line.tax_total == D("0.69")
    assert per_document.tax_total == D("0.68")
    assert [line.tax_total for line in per_document.lines] == [D("0.23"), D("0.23"), D("0.22")]
    for priced in (per_line, per_document):
        assert priced.total == sum((line.total for line in priced.lines), D(0)) + priced.shipping
        assert priced.tax_total == sum((line.tax_total for line in priced.lines), D(0))
        assert priced.total == priced.subtotal - priced.discount_total + priced.shipping + priced.tax_total
    assert per_line.total == D("3.66")
    assert per_document.total == D("3.65")


def test_tax_on_discounted_amount_with_two_rates():
    rates = [rate(1, "6.25", name="State"), rate(2, "2", name="City")]
    priced = price_basket(
        basket((1, 1), shipping="4.99"),
        context([variant(1, "100.00")], promotions=[promotion(1, value="10")], tax_region=region(), tax_rates=rates),
    )
    line = priced.lines[0]
    assert [(tax.name, tax.amount) for tax in line.taxes] == [("State", D("5.63")), ("City", D("1.80"))]
    assert priced.tax_total == D("7.43")
    assert priced.total == D("100.00") - D("10.00") + D("4.99") + D("7.43")
    assert [(tax.rate_id, tax.amount) for tax in priced.taxes] == [(1, D("5.63")), (2, D("1.80"))]


def test_inclusive_prices_extract_tax():
    priced = price_basket(basket((1, 1)), context([variant(1, "12.30")], include_tax=True, tax_region=region(), tax_rates=[rate(1, "23")]))
    line = priced.lines[0]
    assert line.tax_total == D("2.30")
    assert line.paid_before_tax == D("10.00")
    assert priced.total == D("12.30")


def test_exempt_customer_pays_no_tax():
    priced = price_basket(basket((1, 1)), context([variant(1, "10.00")], tax_region=region(), tax_rates=[rate(1, "23")], exemption="EX-123"))
    assert priced.tax_total == D("0.00")
    assert priced.tax_exemption_reference == "EX-123"
    assert priced.total == D("10.00")


def test_other_tax_class_untaxed_without_rate():
    priced = price_basket(basket((1, 1)), context([variant(1, "10.00", tax_class=11)], tax_region=region(), tax_rates=[rate(1, "23")]))
    assert priced.tax_total == D("0")


# Coupons.


def coupon(code="SAVE10", **fields):
    values = dict(
        id=1, code=code, promotion_id=1, is_active=True, promotion_is_active=True, starts_at=None, ends_at=None,
        usage_limit=None, per_customer_limit=None, times_used=0, customer_uses=0,
    )
    values.update(fields)
    return CouponFacts(**values)


def test_coupon_unlocks_its_promotion():
    promo = promotion(1, value="10", requires_coupon=True)
    without = price_basket(basket((1, 1)), context([variant(1, "10.00")], promotions=[promo]))
    assert outcome(without, 1).reason == "coupon_required"
    priced = price_basket(basket((1, 1), coupons=["save10"]), context([variant(1, "10.00")], promotions=[promo], coupons={"SAVE10": coupon()}))
    assert priced.discount_total == D("1.00")
    assert priced.lines[0].discounts[0].coupon_code == "SAVE10"
    assert priced.coupon_codes == ("SAVE10",)


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        ({"is_active": False}, "coupon_inactive"),
        ({"ends_at": AT}, "coupon_expired"),
        ({"channel_ids": frozenset({CHANNEL_ID + 1})}, "coupon_wrong_channel"),
        ({"usage_limit": 1, "times_used": 1}, "coupon_used_up"),
        ({"per_customer_limit": 1}, "coupon_needs_customer"),
    ],
)
def test_bad_coupon_rejected(facts, code):
    with pytest.raises(ValidationFailed) as error:
        price_basket(basket((1, 1), coupons=["SAVE10"]), context([variant(1, "10.00")], coupons={"SAVE10": coupon(**facts)}))
    assert error.value.code == code
    assert "SAVE10" in error.value.message


def test_unknown_coupon_named():
    with pytest.raises(ValidationFailed) as error:
        price_basket(basket((1, 1), coupons=["NOPE"]), context([variant(1, "10.00")]))
    assert error.value.code == "coupon_not_found"
    assert "NOPE" in error.value.message


# Bad lines.


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001, True])
def test_bad_quantity_rejected(quantity):
    with pytest.raises(ValidationFailed) as error:
        price_basket(basket((1, quantity)), context([variant(1, "1.00")]))
    assert error.value.code == "invalid_quantity"


def test_unknown_and_inactive_and_unpriced_variants():
    items = [variant(1, "1.00", active=False), variant(2, None)]
    for line, code in ((BasketLine(sku="SKU-404", quantity=1), "unknown_sku"), ((1, 1), "variant_inactive"), ((2, 1), "price_missing")):
        with pytest.raises(ValidationFailed) as error:
            price_basket(basket(line), context(items))
        assert error.value.code == code


@pytest.mark.parametrize(("price", "code"), [("-1.00", "negative_amount"), ("1.999", "too_many_decimals"), ("1000000000.00", "amount_too_large")])
def test_bad_unit_price_override(price, code):
    with pytest.raises(ValidationFailed) as error:
        price_basket(basket(BasketLine(variant_id=1, quantity=1, unit_price=D(price))), context([variant(1, "1.00")]))
    assert error.value.code == code


def test_empty_basket_totals_zero():
    priced = price_basket(basket(shipping="5.00"), context([]))
    assert priced.subtotal == D("0")
    assert priced.total == D("5.00")
