"""Reads of stock: availability per location and across the network."""

from django.db import connection
from django.db.models import Q, Sum

from .models import CycleCount, Location, StockLevel, StockMovement, Transfer, TransferLine


def availability_for_variants(*, variant_ids: list[int], location_ids: list[int] | None = None, online: bool = False) -> list[dict]:
    """Return one row per (variant, location) with on hand, reserved, safety stock and available.

    `online=True` keeps only active locations that ship or offer pickup; available never goes below
    zero in the result, because nothing below zero can be promised. One query.
    """
    conditions = ["l.is_active"]
    params: dict = {"variant_ids": variant_ids}
    if online:
        conditions.append("(l.ships OR l.ships_from_store OR l.offers_pickup)")
    if location_ids is not None:
        conditions.append("l.id = ANY(%(location_ids)s::bigint[])")
        params["location_ids"] = location_ids
    sql = f"""
        SELECT s.variant_id, s.location_id, l.code, s.on_hand, s.reserved, s.safety_stock, GREATEST(s.available, 0)
        FROM inventory_stocklevel s
        JOIN inventory_location l ON l.id = s.location_id
        WHERE s.variant_id = ANY(%(variant_ids)s::bigint[]) AND {' AND '.join(conditions)}
        ORDER BY s.variant_id, s.location_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        {
            "variant_id": row[0], "location_id": row[1], "location_code": row[2], "on_hand": row[3],
            "reserved": row[4], "safety_stock": row[5], "available": row[6],
        }
        for row in rows
    ]


def location_with_most_available(*, variant_id: int, quantity: int) -> int | None:
    """Return the id of the active shipping location with the most available units of a variant, at least `quantity`.

    Ties go to the lowest location id, so the choice is deterministic.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.location_id FROM inventory_stocklevel s JOIN inventory_location l ON l.id = s.location_id
            WHERE s.variant_id = %s AND l.is_active AND (l.ships OR l.ships_from_store) AND s.available >= %s
            ORDER BY s.available DESC, s.location_id
            LIMIT 1
            """,
            [variant_id, quantity],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def locations_for(*, location_ids: set[int] | None):
    queryset = Location.objects.all()
    if location_ids is not None:
        queryset = queryset.filter(id__in=location_ids)
    return queryset


def availability_for_skus(*, skus: list[str], location_code: str | None = None, online: bool = False) -> dict:
    """Return availability per SKU, per location and in total, from one query.

    The result: {"results": [{"sku", "variant_id", "available", "on_hand", "locations": [...]}],
    "unknown_skus": [...], "location_found": bool}. Locations are the active ones (and, with
    `online`, only those that ship or offer pickup). Per-location `available` is on hand - reserved -
    safety stock, floored at zero when `online`. The SKU total adds only positive per-location
    figures, because a location below zero takes nothing away from another one.
    """
    conditions = ["l.is_active"]
    if online:
        conditions.append("(l.ships OR l.ships_from_store OR l.offers_pickup)")
    if location_code is not None:
        conditions.append("l.code = %(location_code)s")
    available = "GREATEST(s.available, 0)" if online else "s.available"
    # A LEFT JOIN from the requested SKUs keeps unknown SKUs (variant id null) and SKUs without stock
    # rows in the result, so one statement answers both questions. The location check piggybacks on
    # the same statement through a scalar subquery.
    sql = f"""
        SELECT w.sku, v.id, l.code, s.on_hand, s.reserved, s.safety_stock, {available},
               {"EXISTS (SELECT 1 FROM inventory_location WHERE code = %(location_code)s)" if location_code is not None else "true"}
        FROM unnest(%(skus)s::text[]) WITH ORDINALITY AS w(sku, position)
        LEFT JOIN catalog_variant v ON v.sku = w.sku
        LEFT JOIN (inventory_stocklevel s JOIN inventory_location l ON l.id = s.location_id AND {' AND '.join(conditions)})
            ON s.variant_id = v.id
        ORDER BY w.position, l.code
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"skus": skus, "location_code": location_code})
        rows = cursor.fetchall()

    results: dict[str, dict] = {}
    unknown: list[str] = []
    location_found = True
    for sku, variant_id, code, on_hand, reserved, safety_stock, row_available, exists in rows:
        location_found = exists
        if variant_id is None:
            unknown.append(sku)
            continue
        entry = results.setdefault(sku, {"sku": sku, "variant_id": variant_id, "available": 0, "on_hand": 0, "locations": []})
        if code is None:
            continue
        entry["locations"].append(
            {"location": code, "on_hand": on_hand, "reserved": reserved, "safety_stock": safety_stock, "available": row_available}
        )
        entry["on_hand"] += on_hand
        entry["available"] += max(row_available, 0)
    return {"results": list(results.values()), "unknown_skus": unknown, "location_found": location_found}


def stock_levels_list(*, location_ids: set[int] | None):
    """Stock levels with their variant and location, limited to `location_ids` unless it is None."""
    queryset = StockLevel.objects.select_related("variant", "location").order_by("location__code", "variant__sku")
    if location_ids is not None:
        queryset = queryset.filter(location_id__in=location_ids)
    return queryset


def stock_level_movements(*, stock_level_id: int):
    """Return the movements of one stock level, most recent first."""
    return StockMovement.objects.filter(stock_level_id=stock_level_id).select_related("actor").order_by("-created_at", "-id")


def units_in_transit(*, variant_id: int, destination_id: int) -> int:
    """Units of a variant shipped to a location and not yet received there."""
    total = TransferLine.objects.filter(
        variant_id=variant_id, transfer__destination_id=destination_id, transfer__state=Transfer.IN_TRANSIT,
    ).aggregate(total=Sum("quantity"))["total"]
    return total or 0


def transfers_list(*, location_ids: set[int] | None):
    """Transfers with their locations and lines; for location-bound callers, those from or to their locations."""
    queryset = Transfer.objects.select_related("source", "destination").prefetch_related("lines__variant", "events").order_by("-id")
    if location_ids is not None:
        queryset = queryset.filter(Q(source_id__in=location_ids) | Q(destination_id__in=location_ids))
    return queryset


def cycle_counts_list(*, location_ids: set[int] | None):
    queryset = CycleCount.objects.select_related("location").prefetch_related("lines__variant").order_by("-id")
    if location_ids is not None:
        queryset = queryset.filter(location_id__in=location_ids)
    return queryset
