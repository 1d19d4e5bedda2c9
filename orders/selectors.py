"""Reads for orders: what an order needs before it is written, and order lists and details."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from .models import Order, OrderLine, OrderStatusChange


@dataclass(frozen=True)
class ResolvedVariant:
    """A variant named by an order line, with its price on the order's channel."""

    variant_id: int
    sku: str
    name: str
    unit_cost: Decimal | None
    is_active: bool
    price: Decimal | None
    category_id: int | None = None


@dataclass(frozen=True)
class LocationChoice:
    """The location with the most available units of a variant, among those that ship."""

    variant_id: int
    location_id: int
    location_code: str
    available: int


@dataclass(frozen=True)
class OrderContext:
    """Everything an order needs to know before it is written, read in one query."""

    channel_id: int | None
    channel_code: str
    currency: str
    customer_id: int | None
    variants: list[ResolvedVariant]
    choices: dict[int, LocationChoice]


# The location that serves a line is the one with the most available units of its variant, ties to the
# lowest location id, among active locations that ship (from a warehouse or from a store).
# `{variant_ids}` is an SQL expression for the array of variant ids to choose for.
_BEST_LOCATIONS = """
    SELECT DISTINCT ON (s.variant_id) s.variant_id, s.location_id, l.code, s.available
    FROM inventory_stocklevel s
    JOIN inventory_location l ON l.id = s.location_id
    WHERE s.variant_id = ANY({variant_ids}) AND l.is_active AND (l.ships OR l.ships_from_store)
    ORDER BY s.variant_id, s.available DESC, s.location_id
"""

_ORDER_CONTEXT = f"""
    WITH channel AS (
        SELECT id, currency FROM catalog_channel WHERE code = %(channel)s
    ),
    variant AS (
        SELECT v.id, v.sku, COALESCE(NULLIF(v.name, ''), p.name) AS name, v.unit_cost, v.is_active, vp.amount AS price,
               p.category_id
        FROM catalog_variant v
        JOIN catalog_product p ON p.id = v.product_id
        LEFT JOIN catalog_variantprice vp ON vp.variant_id = v.id AND vp.channel_id = (SELECT id FROM channel)
        WHERE v.sku = ANY(%(skus)s::text[]) OR v.id = ANY(%(variant_ids)s::bigint[])
    ),
    best AS (
        {_BEST_LOCATIONS.format(variant_ids="ARRAY(SELECT id FROM variant WHERE %(choose_locations)s)")}
    )
    SELECT
        (SELECT id FROM channel), (SELECT currency FROM channel),
        (SELECT COALESCE(c.merged_into_id, c.id) FROM customers_customer c WHERE c.id = %(customer_id)s),
        v.id, v.sku, v.name, v.unit_cost, v.is_active, v.price,
        b.location_id, b.code, b.available, v.category_id
    FROM (SELECT 1) AS one
    LEFT JOIN variant v ON true
    LEFT JOIN best b ON b.variant_id = v.id
    ORDER BY v.id
"""


def order_context_read(
    *, channel: str, skus: list[str], variant_ids: list[int], customer_id: int | None, choose_locations: bool
) -> OrderContext:
    """Read the channel, the customer, the variants with their prices and, for web orders, where each
    variant would ship from. One query, so that placing an order costs the same for 1 line as for 10.

    A customer merged into another resolves to the profile it was merged into. `customer_id` is None in
    the result when no such customer exists.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _ORDER_CONTEXT,
            {
                "channel": channel,
                "skus": skus,
                "variant_ids": variant_ids,
                "customer_id": customer_id,
                "choose_locations": choose_locations,
            },
        )
        rows = cursor.fetchall()
    channel_id, currency, found_customer_id = rows[0][0], rows[0][1], rows[0][2]
    variants, choices = [], {}
    for row in rows:
        if row[3] is None:
            continue
        variants.append(ResolvedVariant(
            variant_id=row[3], sku=row[4], name=row[5], unit_cost=row[6], is_active=row[7], price=row[8], category_id=row[12],
        ))
        if row[9] is not None:
            choices[row[3]] = LocationChoice(variant_id=row[3], location_id=row[9], location_code=row[10], available=row[11])
    return OrderContext(
        channel_id=channel_id, channel_code=channel, currency=currency or "", customer_id=found_customer_id,
        variants=variants, choices=choices,
    )


def best_locations_read(*, variant_ids: list[int]) -> dict[int, LocationChoice]:
    """Choose again where each variant ships from, after a concurrent order took the units first."""
    with connection.cursor() as cursor:
        cursor.execute(_BEST_LOCATIONS.format(variant_ids="%(variant_ids)s::bigint[]"), {"variant_ids": variant_ids})
        rows = cursor.fetchall()
    return {row[0]: LocationChoice(variant_id=row[0], location_id=row[1], location_code=row[2], available=row[3]) for row in rows}


def _with_details(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("channel", "location", "customer", "pickup_location").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("location").prefetch_related("discounts", "taxes").order_by("line_number"),
        ),
        "tenders",
        Prefetch("status_changes", queryset=OrderStatusChange.objects.select_related("actor", "api_key").order_by("created_at", "id")),
    )


def orders_visible(*, location_ids: set[int] | None, web_only: bool = False) -> QuerySet:
    """Orders a caller may see: those served by or sold at `location_ids` (None: every location).

    A web order whose lines ship from several locations has no single location of its own, so it is
    visible to the staff of any location one of its lines ships from.
    """
    queryset = Order.objects.all()
    if location_ids is not None:
        ships_from_there = Exists(OrderLine.objects.filter(order=OuterRef("pk"), location_id__in=location_ids))
        queryset = queryset.filter(Q(location_id__in=location_ids) | ships_from_there)
    if web_only:
        queryset = queryset.filter(channel__code="web")
    return queryset


def order_list(*, location_ids: set[int] | None, web_only: bool = False) -> QuerySet:
    return orders_visible(location_ids=location_ids, web_only=web_only).select_related("channel", "location", "pickup_location").order_by("-placed_at", "-id")


def order_number_is_plausible(number: str) -> bool:
    """Tell whether `number` could be an order number: not too long, and free of NUL, which PostgreSQL rejects in text."""
    return 0 < len(number) <= Order._meta.get_field("number").max_length and "\x00" not in number


def order_get(*, number: str, location_ids: set[int] | None, web_only: bool = False) -> Order | None:
    """Return the order with `number`, its lines and status history, or None when the caller may not see it."""
    if not order_number_is_plausible(number):
        return None
    return _with_details(orders_visible(location_ids=location_ids, web_only=web_only)).filter(number=number).first()


def customer_order_list(*, customer_id: int, location_ids: set[int] | None) -> QuerySet:
    """Return a customer's purchase history across every channel, newest first."""
    return order_list(location_ids=location_ids).filter(customer_id=customer_id)
