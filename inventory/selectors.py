"""Reads of stock: availability per location and across the network."""

from django.db import connection

from .models import Location


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
    """The id of the active shipping location with the most available units of a variant, at least `quantity`.

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
