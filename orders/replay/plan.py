"""The plan of a replay: which orders to place, with which lines and prices, at which locations.

Building the plan reads the files and writes nothing, so a damaged file stops the replay before any
order exists, and the opening stock can be computed from exactly the units the plan sells.

- Complete Journey: every basket is a register sale at its store (`cj-store-<store_id>`), in
  transaction_timestamp order, for the customer with external id `cj-household-<household_id>`.
- Superstore: every order is a web order for the customer with external id `ss-<Customer ID>`,
  placed at 12:00 UTC on its Order Date (the file has dates only). The order service ships each line
  from the location with the most available units, so each SKU is stocked at one warehouse only, its
  home: `wh-west` when the West region buys most of its units, else `wh-central`.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from .money import AmountInvalid, LinePrices, completejourney_prices, superstore_prices, superstore_unit_cost
from .sources import (
    COMPLETEJOURNEY_PRODUCTS,
    COMPLETEJOURNEY_TRANSACTIONS,
    SUPERSTORE_ORDERS,
    ReplayDataError,
    SuperstoreRow,
    TransactionRow,
    product_ids_read,
    superstore_read,
    transactions_read,
)

POS = "pos"
WEB = "web"

STORE_CODE_PREFIX = "cj-store-"
WAREHOUSE_CENTRAL = "wh-central"
WAREHOUSE_WEST = "wh-west"
# Superstore region -> the warehouse that ships its orders.
WAREHOUSE_BY_REGION = {"West": WAREHOUSE_WEST}

HOUSEHOLD_PREFIX = "cj-household-"
SUPERSTORE_CUSTOMER_PREFIX = "ss-"
COMPLETEJOURNEY_SKU_PREFIX = "CJ-"

# Reasons for leaving a line or an order of the files out of the replay. The command prints a count per reason.
SKIP_QUANTITY_ZERO = "line quantity is 0"
SKIP_QUANTITY_NEGATIVE = "line quantity is negative"
SKIP_BAD_AMOUNT = "line amount is not a number"
SKIP_ORDER_WITHOUT_LINES = "order has no line left to replay"


def store_code(store_id: str) -> str:
    return f"{STORE_CODE_PREFIX}{store_id}"


def completejourney_sku(product_id: str) -> str:
    return f"{COMPLETEJOURNEY_SKU_PREFIX}{product_id}"


@dataclass(frozen=True)
class PlannedLine:
    sku: str
    name: str
    quantity: int
    prices: LinePrices
    # The source of the units: the store of a register sale, or the home warehouse of a web order's SKU.
    location_code: str
    unit_cost: Decimal | None = None
    # The product is missing from the product file: the line sells a placeholder flagged needs_review.
    placeholder: bool = False


@dataclass
class PlannedOrder:
    channel: str
    external_ref: str
    customer_external_id: str
    placed_at: datetime
    # The store of a register sale; empty for a web order, whose lines each name their warehouse.
    location_code: str = ""
    lines: list[PlannedLine] = field(default_factory=list)
    customer_first_name: str = ""
    customer_last_name: str = ""

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def sales(self) -> Decimal:
        return sum((line.prices.line_total for line in self.lines), Decimal("0.00"))


@dataclass
class ReplayPlan:
    register_sales: list[PlannedOrder] = field(default_factory=list)
    web_orders: list[PlannedOrder] = field(default_factory=list)
    # Every Complete Journey store of the file, also those whose baskets fall beyond a limit.
    store_ids: list[str] = field(default_factory=list)
    # (channel, reason) -> lines or orders of the files left out.
    skipped_lines: Counter = field(default_factory=Counter)
    skipped_orders: Counter = field(default_factory=Counter)
    # Lines of the transaction file whose product is missing from the product file, replayed or not.
    missing_product_lines: int = 0
    # Orders of the files left out by --limit-baskets and --limit-orders.
    beyond_limit: Counter = field(default_factory=Counter)

    def orders(self) -> Iterable[PlannedOrder]:
        yield from self.register_sales
        yield from self.web_orders

    def units_sold(self) -> Counter:
        """(sku, location code) -> units the plan sells there."""
        units: Counter = Counter()
        for order in self.orders():
            for line in order.lines:
                units[(line.sku, line.location_code)] += line.quantity
        return units

    def placeholder_skus(self) -> dict[str, str]:
        """SKU -> name of every product the plan sells that is missing from the product file."""
        return {line.sku: line.name for order in self.register_sales for line in order.lines if line.placeholder}


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def _line_skip_reason(quantity: int) -> str | None:
    if quantity == 0:
        return SKIP_QUANTITY_ZERO
    if quantity < 0:
        return SKIP_QUANTITY_NEGATIVE
    return None


def completejourney_plan(
    plan: ReplayPlan, *, transactions_path: Path, products_path: Path, limit: int | None = None
) -> None:
    """Add a register sale per basket of the transaction file to `plan`, in timestamp order."""
    known_products = product_ids_read(products_path)
    baskets: dict[str, PlannedOrder] = {}
    stores: set[str] = set()
    for row in transactions_read(transactions_path):
        stores.add(row.store_id)
        order = baskets.get(row.basket_id)
        if order is None:
            order = baskets[row.basket_id] = PlannedOrder(
                channel=POS,
                external_ref=row.basket_id,
                location_code=store_code(row.store_id),
                customer_external_id=f"{HOUSEHOLD_PREFIX}{row.household_id}",
                placed_at=row.timestamp,
            )
        elif order.location_code != store_code(row.store_id):
            raise ReplayDataError(
                f"{transactions_path.name} line {row.line_number}: basket {row.basket_id} is at store {row.store_id} "
                f"but an earlier line puts it at {order.location_code}."
            )
        missing = row.product_id not in known_products
        plan.missing_product_lines += missing
        line = _completejourney_line(plan, row, location_code=order.location_code, placeholder=missing)
        if line is not None:
            order.lines.append(line)

    ordered = sorted(baskets.values(), key=lambda order: (order.placed_at, int(order.external_ref) if order.external_ref.isdigit() else 0, order.external_ref))
    kept = []
    for order in ordered:
        if order.lines:
            kept.append(order)
        else:
            plan.skipped_orders[(POS, SKIP_ORDER_WITHOUT_LINES)] += 1
    if limit is not None:
        plan.beyond_limit[POS] += max(0, len(kept) - limit)
        kept = kept[:limit]
    plan.register_sales.extend(kept)
    plan.store_ids = sorted(stores, key=lambda store_id: (len(store_id), store_id))


def _completejourney_line(plan: ReplayPlan, row: TransactionRow, *, location_code: str, placeholder: bool) -> PlannedLine | None:
    reason = _line_skip_reason(row.quantity)
    if reason is None:
        try:
            prices = completejourney_prices(
                sales_value=row.sales_value, retail_disc=row.retail_disc,
                coupon_match_disc=row.coupon_match_disc, quantity=row.quantity,
            )
        except AmountInvalid:
            reason = SKIP_BAD_AMOUNT
    if reason is not None:
        plan.skipped_lines[(POS, reason)] += 1
        return None
    sku = completejourney_sku(row.product_id)
    name = f"Complete Journey product {row.product_id}" if placeholder else sku
    return PlannedLine(sku=sku, name=name, quantity=row.quantity, prices=prices, location_code=location_code, placeholder=placeholder)


def superstore_plan(
    plan: ReplayPlan, *, orders_path: Path, sku_of: Callable[[SuperstoreRow], str], limit: int | None = None
) -> None:
    """Add a web order per Superstore order to `plan`, by Order Date and then Row ID."""
    orders: dict[str, PlannedOrder] = {}
    first_row: dict[str, int] = {}
    for row in sorted(superstore_read(orders_path), key=lambda row: row.row_id):
        order = orders.get(row.order_id)
        if order is None:
            first_name, _, last_name = row.customer_name.partition(" ")
            order = orders[row.order_id] = PlannedOrder(
                channel=WEB,
                external_ref=row.order_id,
                customer_external_id=f"{SUPERSTORE_CUSTOMER_PREFIX}{row.customer_id}",
                customer_first_name=first_name,
                customer_last_name=last_name,
                placed_at=_noon(row.order_date),
            )
            first_row[row.order_id] = row.row_id
        line = _superstore_line(plan, row, sku=sku_of(row))
        if line is not None:
            order.lines.append(line)

    ordered = sorted(orders.values(), key=lambda order: (order.placed_at, first_row[order.external_ref]))
    kept = []
    for order in ordered:
        if order.lines:
            kept.append(order)
        else:
            plan.skipped_orders[(WEB, SKIP_ORDER_WITHOUT_LINES)] += 1
    if limit is not None:
        plan.beyond_limit[WEB] += max(0, len(kept) - limit)
        kept = kept[:limit]
    _assign_home_warehouses(kept)
    plan.web_orders.extend(kept)


def _assign_home_warehouses(orders: list[PlannedOrder]) -> None:
    """Move each web line from its region's warehouse to its SKU's home: the warehouse that sells the most units of it."""
    units: dict[str, Counter] = defaultdict(Counter)
    for order in orders:
        for line in order.lines:
            units[line.sku][line.location_code] += line.quantity
    # Ties go to wh-central, the first warehouse by name.
    home = {sku: min(counts, key=lambda code: (-counts[code], code)) for sku, counts in units.items()}
    for order in orders:
        order.lines = [replace(line, location_code=home[line.sku]) for line in order.lines]


def _superstore_line(plan: ReplayPlan, row: SuperstoreRow, *, sku: str) -> PlannedLine | None:
    reason = _line_skip_reason(row.quantity)
    if reason is None:
        try:
            prices = superstore_prices(sales=row.sales, quantity=row.quantity, discount_rate=row.discount)
            unit_cost = superstore_unit_cost(sales=row.sales, profit=row.profit, quantity=row.quantity)
        except AmountInvalid:
            reason = SKIP_BAD_AMOUNT
    if reason is not None:
        plan.skipped_lines[(WEB, reason)] += 1
        return None
    return PlannedLine(
        sku=sku, name=row.product_name, quantity=row.quantity, prices=prices, unit_cost=unit_cost,
        location_code=WAREHOUSE_BY_REGION.get(row.region, WAREHOUSE_CENTRAL),
    )


def plan_build(
    *, data_dir: Path, sku_of: Callable[[SuperstoreRow], str] | None = None,
    limit_baskets: int | None = None, limit_orders: int | None = None,
) -> ReplayPlan:
    """Read the files in `data_dir` and return the plan. The Superstore file is optional (the demo sample has none).

    `sku_of` names the SKU of a Superstore row; by default the catalog importer's rule.
    """
    plan = ReplayPlan()
    completejourney_plan(
        plan, transactions_path=data_dir / COMPLETEJOURNEY_TRANSACTIONS,
        products_path=data_dir / COMPLETEJOURNEY_PRODUCTS, limit=limit_baskets,
    )
    orders_path = data_dir / SUPERSTORE_ORDERS
    if orders_path.is_file() and limit_orders != 0:
        if sku_of is None:
            sku_of = superstore_sku_lookup(orders_path)
        superstore_plan(plan, orders_path=orders_path, sku_of=sku_of, limit=limit_orders)
    return plan


def superstore_sku_lookup(orders_path: Path) -> Callable[[SuperstoreRow], str]:
    """Return the SKU rule the catalog importer uses for Superstore rows, as a function of a row."""
    from catalog.importers.superstore import superstore_sku_map

    sku_map = superstore_sku_map(orders_path)

    def sku_of(row: SuperstoreRow) -> str:
        return sku_map[(row.product_id, row.product_name)]

    return sku_of
