"""Run a replay plan: catalog, locations, opening stock, then every order through the order services.

Register sales go through `order_record_register_sale` and web orders through `order_place_web`,
`order_ship` and `order_complete`, the services behind the API, with the prices of the file kept
as historical prices. Running the replay again adds nothing twice: orders are keyed by their
external_ref per channel, and the opening stock receipts by a reference per location.
"""

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Sum

from catalog.models import Channel, Variant, VariantPrice
from catalog.services import variant_get_or_create_placeholder, variant_price_set
from commerce.errors import DomainError
from commerce.fields import MAX_QUANTITY
from customers.services import customer_get_or_create_by_identity
from inventory.models import Location, MovementReason
from inventory.services import StockLine, stock_receive

from ..models import Order, OrderLine, OrderStatus
from ..services import OrderLineInput, order_complete, order_place_web, order_record_register_sale, order_ship
from .locations import locations_ensure
from .plan import POS, WEB, PlannedOrder, ReplayPlan
from .sources import COMPLETEJOURNEY_PRODUCTS, OPENFOODFACTS_BARCODES, SUPERSTORE_ORDERS

logger = logging.getLogger(__name__)

# The `source` of every order the replay writes, which sets them apart from live orders.
REPLAY_SOURCE = "replay"
# Opening stock: each (variant, location) receives the units the replay sells there plus this margin,
# so that no sale runs short and every level ends the replay with OPENING_MARGIN units on hand.
OPENING_MARGIN = 5
OPENING_REFERENCE_TYPE = "replay_opening_stock"
# Orders written per transaction, because fewer commits make the replay faster.
BATCH_SIZE = 250
PLACEHOLDER_SOURCE = "replay"

CHANNEL_NAMES = {WEB: "Online shop", POS: "Registers"}


@dataclass
class ChannelFigures:
    """Figures of the replayed orders of one channel, counted in the database."""

    orders: int = 0
    lines: int = 0
    units: int = 0
    sales: Decimal = Decimal("0.00")
    locations: int = 0


@dataclass
class ReplayResult:
    created: Counter = field(default_factory=Counter)
    already_there: Counter = field(default_factory=Counter)
    # (channel, error code) -> orders the order services rejected.
    rejected: Counter = field(default_factory=Counter)
    figures: dict[str, ChannelFigures] = field(default_factory=dict)
    placeholder_variants: int = 0
    placeholder_lines: int = 0
    opening_units_received: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def catalog_import(*, data_dir: Path, stdout=None) -> None:
    """Import the catalog files found in `data_dir` with `import_catalog`; importing them again changes nothing."""
    names = (COMPLETEJOURNEY_PRODUCTS, OPENFOODFACTS_BARCODES, SUPERSTORE_ORDERS)
    files = [str(data_dir / name) for name in names if (data_dir / name).is_file()]
    if files:
        call_command("import_catalog", *files, "--no-progress", stdout=stdout)


def channels_ensure() -> dict[str, Channel]:
    """Return the web and register channels, creating them in the default currency when missing."""
    from django.conf import settings

    # NOTE: catalog.services has no service for channels yet, so they are created here directly.
    channels = {}
    for code in (WEB, POS):
        channels[code], _created = Channel.objects.get_or_create(
            code=code, defaults={"name": CHANNEL_NAMES[code], "currency": settings.DEFAULT_CURRENCY}
        )
    return channels


def variants_resolve(plan: ReplayPlan, result: ReplayResult) -> dict[str, int]:
    """Return SKU -> variant id for every SKU of the plan, making needs_review placeholders for missing ones.

    A SKU is missing when its product is not in the product file, or when the catalog import
    rejected its row. Either way the line sells the placeholder and is not dropped.
    """
    names = {line.sku: line.name for order in plan.orders() for line in order.lines}
    variant_ids = dict(Variant.objects.filter(sku__in=list(names)).values_list("sku", "id"))
    for sku in sorted(set(names) - set(variant_ids)):
        variant, created = variant_get_or_create_placeholder(sku=sku, name=names[sku], source=PLACEHOLDER_SOURCE)
        variant_ids[sku] = variant.pk
        result.placeholder_variants += created
    return variant_ids


def customers_resolve(orders: Iterable[PlannedOrder]) -> dict[str, int]:
    """Return external id -> customer id for the customers of `orders`, creating the missing ones."""
    names: dict[str, tuple[str, str]] = {}
    for order in orders:
        names.setdefault(order.customer_external_id, (order.customer_first_name, order.customer_last_name))
    customer_ids: dict[str, int] = {}
    pending = list(names.items())
    for start in range(0, len(pending), BATCH_SIZE):
        with transaction.atomic():
            for external_id, (first_name, last_name) in pending[start : start + BATCH_SIZE]:
                customer, _created = customer_get_or_create_by_identity(
                    external_id=external_id, first_name=first_name, last_name=last_name
                )
                customer_ids[external_id] = customer.merged_into_id or customer.pk
    return customer_ids


@contextmanager
def commits_without_flush_wait() -> Iterator[None]:
    """Let this connection's commits return before their WAL reaches the disk (synchronous_commit off).

    A replay commits once per batch and once per outbox event delivered in-process, and waiting for
    the disk on each commit would take most of its time. A crash may lose the last few commits but
    never leaves a half-written one, and running the replay again restores what was lost.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def opening_stock_receive(plan: ReplayPlan, *, variant_ids: dict[str, int], locations: dict[str, Location], margin: int) -> int:
    """Receive the opening stock: per (variant, location), the units the plan sells there plus `margin`.

    Receipts carry reference OPENING_REFERENCE_TYPE and the location code. Units already received
    under that reference count, so a second run receives only what a larger plan needs on top.
    This assumes that the plan of each run includes the orders of the runs before it, as the limits
    only cut orders off the end. Returns the units received now.
    """
    required = {
        (variant_ids[sku], locations[code].pk): units + margin for (sku, code), units in plan.units_sold().items()
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.variant_id, s.location_id, sum(m.quantity)
            FROM inventory_stockmovement m JOIN inventory_stocklevel s ON s.id = m.stock_level_id
            WHERE m.reference_type = %s
            GROUP BY s.variant_id, s.location_id
            """,
            [OPENING_REFERENCE_TYPE],
        )
        received = {(row[0], row[1]): row[2] for row in cursor.fetchall()}

    by_location: dict[int, list[StockLine]] = defaultdict(list)
    total = 0
    for (variant_id, location_id), units in sorted(required.items()):
        missing = units - received.get((variant_id, location_id), 0)
        total += max(missing, 0)
        # A receipt line may carry at most MAX_QUANTITY units (in the files, fuel at one store reaches 453,740).
        while missing > 0:
            chunk = min(missing, MAX_QUANTITY)
            by_location[location_id].append(StockLine(variant_id, location_id, chunk))
            missing -= chunk
    codes = {location.pk: code for code, location in locations.items()}
    for location_id, lines in sorted(by_location.items()):
        stock_receive(
            lines=lines, reference_type=OPENING_REFERENCE_TYPE, reference_id=codes[location_id],
            reason=MovementReason.RECEIPT, note="Opening stock for the replay of the public retail data",
        )
    return total


def _line_inputs(order: PlannedOrder, variant_ids: dict[str, int]) -> list[OrderLineInput]:
    return [
        OrderLineInput(
            quantity=line.quantity,
            variant_id=variant_ids[line.sku],
            unit_price=line.prices.unit_price,
            discount_amount=line.prices.discount_amount,
            line_total=line.prices.line_total,
            unit_cost=line.unit_cost,
        )
        for line in order.lines
    ]


def _existing_orders(channel: Channel) -> dict[str, str]:
    """Return external_ref -> status of the orders the channel already has."""
    return dict(Order.objects.filter(channel=channel).exclude(external_ref="").values_list("external_ref", "status"))


def _web_order_finish(number: str, status: str) -> None:
    """Ship and complete a web order, from whichever of those steps it has reached."""
    if status == OrderStatus.PLACED:
        order_ship(number=number, reason="replayed: shipped as in the file")
        status = OrderStatus.SHIPPED
    if status == OrderStatus.SHIPPED:
        order_complete(number=number, reason="replayed: delivered")


def _replay_register_sale(order: PlannedOrder, *, variant_ids, customer_ids, locations) -> bool:
    _sale, created = order_record_register_sale(
        location_id=locations[order.location_code].pk,
        lines=_line_inputs(order, variant_ids),
        customer_id=customer_ids[order.customer_external_id],
        placed_at=order.placed_at,
        external_ref=order.external_ref,
        source=REPLAY_SOURCE,
    )
    return created


def _replay_web_order(order: PlannedOrder, *, variant_ids, customer_ids, locations) -> bool:
    placed, created = order_place_web(
        lines=_line_inputs(order, variant_ids),
        customer_id=customer_ids[order.customer_external_id],
        placed_at=order.placed_at,
        external_ref=order.external_ref,
        source=REPLAY_SOURCE,
    )
    _web_order_finish(placed.number, placed.status)
    return created


def orders_replay(
    orders: list[PlannedOrder],
    *,
    channel: Channel,
    variant_ids: dict[str, int],
    customer_ids: dict[str, int],
    locations: dict[str, Location],
    result: ReplayResult,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Place every order not yet on the channel, BATCH_SIZE per transaction.

    An order a service rejects is left out alone, counted under its error code and logged, and the
    replay goes on. Web orders already placed or shipped by an interrupted run are finished.
    """
    replay_one = _replay_web_order if channel.code == Channel.WEB else _replay_register_sale
    existing = _existing_orders(channel)
    pending = []
    for order in orders:
        status = existing.get(order.external_ref)
        if status is None:
            pending.append(order)
            continue
        result.already_there[channel.code] += 1
        if channel.code == Channel.WEB and status in (OrderStatus.PLACED, OrderStatus.SHIPPED):
            number = Order.objects.filter(channel=channel, external_ref=order.external_ref).values_list("number", flat=True).get()
            _web_order_finish(number, status)
    if progress is not None and len(pending) < len(orders):
        progress(len(orders) - len(pending))

    for start in range(0, len(pending), BATCH_SIZE):
        batch = pending[start : start + BATCH_SIZE]
        _batch_replay(
            batch, replay_one=replay_one, channel_code=channel.code, result=result,
            variant_ids=variant_ids, customer_ids=customer_ids, locations=locations,
        )
        if progress is not None:
            progress(len(batch))


def _batch_replay(batch: list[PlannedOrder], *, replay_one, channel_code: str, result: ReplayResult, **context) -> None:
    """Replay a batch in one transaction; when an order is rejected, replay the batch again order by order.

    The first attempt uses no savepoints, which saves two statements per order. A rejection rolls
    the whole batch back, and the second attempt gives each order its own savepoint, so that only
    the rejected orders are left out.
    """
    try:
        with transaction.atomic():
            created = [replay_one(order, **context) for order in batch]
    except DomainError:
        created = None
    if created is not None:
        result.created[channel_code] += sum(created)
        result.already_there[channel_code] += len(created) - sum(created)
        return

    with transaction.atomic():
        for order in batch:
            try:
                with transaction.atomic():
                    was_created = replay_one(order, **context)
            except DomainError as error:
                result.rejected[(channel_code, error.code)] += 1
                logger.warning("Replay of %s order %s rejected (%s): %s", channel_code, order.external_ref, error.code, error.message)
                continue
            if was_created:
                result.created[channel_code] += 1
            else:
                result.already_there[channel_code] += 1


def shelf_prices_fill(plan: ReplayPlan, *, channels: Iterable[Channel]) -> int:
    """Give each register-sale SKU of the plan without a base price the shelf price of its latest replayed line.

    The Complete Journey products have no price list, so this lets the demo's registers and shop sell
    them. Prices already set are kept. Returns the prices written.
    """
    latest: dict[str, tuple] = {}
    for order in plan.register_sales:
        for line in order.lines:
            if line.prices.unit_price > 0:
                latest[line.sku] = (order.placed_at, line.prices.unit_price)
    variants = {variant.sku: variant for variant in Variant.objects.filter(sku__in=list(latest))}
    written = 0
    with transaction.atomic():
        for channel in channels:
            priced = set(VariantPrice.objects.filter(channel=channel, variant__sku__in=list(latest)).values_list("variant__sku", flat=True))
            for sku in sorted(set(variants) - priced):
                # NOTE: weighed items (produce, meat) carry the price of one counted unit, not a price per pound.
                variant_price_set(variant=variants[sku], channel=channel, amount=latest[sku][1])
                written += 1
    return written


def channel_figures(channel: Channel) -> ChannelFigures:
    """Count the replayed orders of a channel, their lines, units, sales and locations."""
    orders = Order.objects.filter(channel=channel, source=REPLAY_SOURCE)
    lines = OrderLine.objects.filter(order__channel=channel, order__source=REPLAY_SOURCE).aggregate(
        lines=Count("id"), units=Sum("quantity"), sales=Sum("line_total"), locations=Count("location", distinct=True)
    )
    return ChannelFigures(
        orders=orders.count(),
        lines=lines["lines"],
        units=lines["units"] or 0,
        sales=lines["sales"] or Decimal("0.00"),
        locations=lines["locations"],
    )


def placeholder_lines_count() -> int:
    """Count the replayed order lines that sell a variant flagged needs_review."""
    return OrderLine.objects.filter(order__source=REPLAY_SOURCE, variant__needs_review=True).count()


def replay_run(
    plan: ReplayPlan,
    *,
    margin: int = OPENING_MARGIN,
    progress_factory: Callable[[int, str], object] | None = None,
) -> ReplayResult:
    """Create the locations and channels, receive the opening stock, then replay every order of the plan.

    The catalog import comes before this (see `catalog_import`). `progress_factory(total, label)`
    returns a progress bar with `update(n)` and `close()`, or is None for no bar.
    """
    with commits_without_flush_wait():
        return _replay_run(plan, margin=margin, progress_factory=progress_factory)


def _replay_run(plan: ReplayPlan, *, margin: int, progress_factory) -> ReplayResult:
    result = ReplayResult()
    started = time.monotonic()
    channels = channels_ensure()
    locations = locations_ensure(plan.store_ids)
    variant_ids = variants_resolve(plan, result)
    customer_ids = customers_resolve(plan.orders())
    result.opening_units_received = opening_stock_receive(plan, variant_ids=variant_ids, locations=locations, margin=margin)
    result.seconds["set-up"] = time.monotonic() - started

    for code, orders, label in ((POS, plan.register_sales, "register sales"), (WEB, plan.web_orders, "web orders")):
        started = time.monotonic()
        bar = progress_factory(len(orders), label) if progress_factory and orders else None
        orders_replay(
            orders, channel=channels[code], variant_ids=variant_ids, customer_ids=customer_ids, locations=locations,
            result=result, progress=bar.update if bar else None,
        )
        if bar is not None:
            bar.close()
        result.seconds[label] = time.monotonic() - started

    result.figures = {code: channel_figures(channel) for code, channel in channels.items()}
    result.placeholder_lines = placeholder_lines_count()
    return result
