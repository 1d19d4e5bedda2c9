"""Every change of stock. Each one writes its movement rows in the same statement as the level.

Locks: the statements below lock the stock level rows they touch in primary-key order (a
MATERIALIZED CTE with ORDER BY id FOR UPDATE) before they change them, so two orders that name the
same SKUs in opposite order cannot deadlock. Checks are conditions of the UPDATE itself, never a read
followed by a write in Python. Callers wrap these in their own transaction; every function here also
opens one (a savepoint-free block when nested) so it is safe alone.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.utils import timezone

from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.fields import MAX_QUANTITY

from .models import Location, MovementReason, Reservation, StockLevel, StockMovement


@dataclass(frozen=True)
class StockLine:
    variant_id: int
    location_id: int
    quantity: int


class InsufficientStock(Conflict):
    """Raised when a location has fewer units than a change needs; `shortages` names each one."""

    code = "insufficient_stock"

    def __init__(self, shortages: list[dict]):
        parts = [f"{item['sku']} at {item['location']}: {item['requested']} requested, {item['available']} available" for item in shortages]
        super().__init__(
            "Not enough stock for " + "; ".join(parts) + ". Lower the quantity or choose another location.",
            fields={"lines": parts},
        )
        self.shortages = shortages


def _merge(lines: Iterable[StockLine]) -> list[StockLine]:
    """Add up lines for the same (variant, location) and order them by that key."""
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool):
            raise ValidationFailed(f"Quantity {line.quantity!r} is not a whole number.", code="invalid_quantity")
        if line.quantity <= 0 or line.quantity > MAX_QUANTITY:
            raise ValidationFailed(
                f"Quantity {line.quantity} is out of range: use 1 to {MAX_QUANTITY}.", code="invalid_quantity"
            )
        totals[(line.variant_id, line.location_id)] += line.quantity
    return [StockLine(variant_id, location_id, quantity) for (variant_id, location_id), quantity in sorted(totals.items())]


def _arrays(lines: Sequence[StockLine]) -> tuple[list[int], list[int], list[int]]:
    return [line.variant_id for line in lines], [line.location_id for line in lines], [line.quantity for line in lines]


def _shortages(lines: Sequence[StockLine], *, measure: str) -> list[dict]:
    """Describe which lines lack stock; runs only on the failure path."""
    variant_ids, location_ids, quantities = _arrays(lines)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT w.variant_id, w.location_id, w.qty, COALESCE(s.{measure}, 0), v.sku, l.code
            FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS w(variant_id, location_id, qty)
            JOIN catalog_variant v ON v.id = w.variant_id
            JOIN inventory_location l ON l.id = w.location_id
            LEFT JOIN inventory_stocklevel s ON s.variant_id = w.variant_id AND s.location_id = w.location_id
            ORDER BY w.variant_id, w.location_id
            """,
            [variant_ids, location_ids, quantities],
        )
        rows = cursor.fetchall()
    return [
        {"variant_id": row[0], "location_id": row[1], "requested": row[2], "available": row[3], "sku": row[4], "location": row[5]}
        for row in rows
        if row[3] < row[2] or measure == "on_hand"
    ]


def _check_known(lines: Sequence[StockLine]) -> None:
    """Raise NotFound naming the first unknown variant or location id."""
    variant_ids = sorted({line.variant_id for line in lines})
    location_ids = sorted({line.location_id for line in lines})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array(SELECT x FROM unnest(%s::bigint[]) x EXCEPT SELECT id FROM catalog_variant), "
            "array(SELECT x FROM unnest(%s::bigint[]) x EXCEPT SELECT id FROM inventory_location)",
            [variant_ids, location_ids],
        )
        missing_variants, missing_locations = cursor.fetchone()
    if missing_variants:
        raise NotFound(f"Variant id {sorted(missing_variants)[0]} does not exist.", code="variant_not_found")
    if missing_locations:
        raise NotFound(f"Location id {sorted(missing_locations)[0]} does not exist.", code="location_not_found")


def stock_levels_ensure(*, pairs: Iterable[tuple[int, int]]) -> None:
    """Create missing stock level rows (zero units) for (variant_id, location_id) pairs, in one statement."""
    pairs = sorted(set(pairs))
    if not pairs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO inventory_stocklevel (variant_id, location_id, on_hand, reserved, safety_stock, needs_count, updated_at)
            SELECT w.variant_id, w.location_id, 0, 0, 0, false, now()
            FROM unnest(%s::bigint[], %s::bigint[]) AS w(variant_id, location_id)
            ON CONFLICT (variant_id, location_id) DO NOTHING
            """,
            [[pair[0] for pair in pairs], [pair[1] for pair in pairs]],
        )


# The common head of the on-hand statements: the wanted changes, then their rows locked in id order.
_LOCKED_CTE = """
    WITH wanted AS (
        SELECT * FROM unnest(%(variant_ids)s::bigint[], %(location_ids)s::bigint[], %(quantities)s::int[])
            AS w(variant_id, location_id, qty)
    ),
    locked AS MATERIALIZED (
        SELECT s.id FROM inventory_stocklevel s
        JOIN wanted w ON w.variant_id = s.variant_id AND w.location_id = s.location_id
        ORDER BY s.id
        FOR UPDATE OF s
    )
"""


def _change_on_hand(
    lines: Sequence[StockLine],
    *,
    sign: int,
    reason: str,
    condition: str,
    reference_type: str,
    reference_id: str,
    actor_id: int | None,
    note: str,
    flag_below_zero: bool = False,
) -> int:
    """Add `sign * quantity` to on hand for each line where `condition` holds; return the rows changed."""
    variant_ids, location_ids, quantities = _arrays(lines)
    needs_count = "s.needs_count OR (s.on_hand - w.qty < 0)" if flag_below_zero else "s.needs_count"
    sql = (
        _LOCKED_CTE
        + f"""
    , changed AS (
        UPDATE inventory_stocklevel s
        SET on_hand = s.on_hand + %(sign)s * w.qty, needs_count = {needs_count}, updated_at = now()
        FROM wanted w, locked k, inventory_location loc
        WHERE s.id = k.id AND w.variant_id = s.variant_id AND w.location_id = s.location_id
          AND loc.id = s.location_id AND ({condition})
        RETURNING s.id, w.qty
    )
    INSERT INTO inventory_stockmovement (stock_level_id, quantity, reason, reference_type, reference_id, note, actor_id, created_at)
    SELECT c.id, %(sign)s * c.qty, %(reason)s, %(reference_type)s, %(reference_id)s, %(note)s, %(actor_id)s, now()
    FROM changed c
    """
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "variant_ids": variant_ids,
                "location_ids": location_ids,
                "quantities": quantities,
                "sign": sign,
                "reason": reason,
                "reference_type": reference_type,
                "reference_id": str(reference_id),
                "note": note,
                "actor_id": actor_id,
            },
        )
        return cursor.rowcount


def stock_receive(
    *, lines: Iterable[StockLine], reference_type: str, reference_id: str, actor_id: int | None = None, note: str = "",
    reason: str = MovementReason.RECEIPT,
) -> None:
    """Add units to on hand (a receipt, a return to stock, a transfer in)."""
    merged = _merge(lines)
    if not merged:
        return
    with transaction.atomic(savepoint=False):
        stock_levels_ensure(pairs=[(line.variant_id, line.location_id) for line in merged])
        changed = _change_on_hand(
            merged, sign=1, reason=reason, condition="true", reference_type=reference_type,
            reference_id=reference_id, actor_id=actor_id, note=note,
        )
        if changed != len(merged):
            _check_known(merged)
            raise Conflict("Stock levels changed while receiving; try again.", code="stock_conflict")


def stock_sell(
    *, lines: Iterable[StockLine], reference_type: str, reference_id: str, actor_id: int | None = None, note: str = "",
) -> None:
    """Take units sold at a register off on hand at once.

    A sale may take on hand below zero only where the location allows it; the stock level is then
    flagged for a count. Elsewhere raises InsufficientStock and changes nothing.
    """
    merged = _merge(lines)
    if not merged:
        return
    with transaction.atomic(savepoint=False):
        stock_levels_ensure(pairs=[(line.variant_id, line.location_id) for line in merged])
        changed = _change_on_hand(
            merged, sign=-1, reason=MovementReason.SALE,
            condition="s.on_hand >= w.qty OR loc.allow_negative_stock",
            reference_type=reference_type, reference_id=reference_id, actor_id=actor_id, note=note,
            flag_below_zero=True,
        )
        if changed != len(merged):
            _check_known(merged)
            raise InsufficientStock(_shortages(merged, measure="on_hand"))


def stock_remove(
    *, lines: Iterable[StockLine], reason: str, reference_type: str, reference_id: str, actor_id: int | None = None, note: str = "",
) -> None:
    """Take units off on hand (damage, a negative adjustment, a transfer out) without touching reserved units.

    Raises InsufficientStock unless every location keeps at least its reserved units on hand.
    """
    merged = _merge(lines)
    if not merged:
        return
    with transaction.atomic(savepoint=False):
        changed = _change_on_hand(
            merged, sign=-1, reason=reason, condition="s.on_hand - s.reserved >= w.qty",
            reference_type=reference_type, reference_id=reference_id, actor_id=actor_id, note=note,
        )
        if changed != len(merged):
            _check_known(merged)
            raise InsufficientStock(_shortages(merged, measure="on_hand"))


def stock_reserve(*, lines: Iterable[StockLine], reference_type: str, reference_id: str) -> int:
    """Promise units to an order: reserved goes up where available (on hand - reserved - safety stock) allows.

    One statement locks the rows in id order, checks and raises reserved, and writes the Reservation
    rows. Raises InsufficientStock when any line lacks units; the lines already raised are undone only
    by rolling back, so a caller that wants to try again (another location) wraps the call in its own
    `transaction.atomic()` savepoint. Returns the number of reservations written.
    """
    merged = _merge(lines)
    if not merged:
        return 0
    variant_ids, location_ids, quantities = _arrays(merged)
    sql = (
        _LOCKED_CTE
        + """
    , changed AS (
        UPDATE inventory_stocklevel s
        SET reserved = s.reserved + w.qty, updated_at = now()
        FROM wanted w, locked k
        WHERE s.id = k.id AND w.variant_id = s.variant_id AND w.location_id = s.location_id
          AND s.on_hand - s.reserved - s.safety_stock >= w.qty
        RETURNING s.id, w.qty
    )
    INSERT INTO inventory_reservation (stock_level_id, quantity, state, reference_type, reference_id, created_at)
    SELECT c.id, c.qty, 'active', %(reference_type)s, %(reference_id)s, now() FROM changed c
    """
    )
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "variant_ids": variant_ids,
                    "location_ids": location_ids,
                    "quantities": quantities,
                    "reference_type": reference_type,
                    "reference_id": str(reference_id),
                },
            )
            written = cursor.rowcount
        if written != len(merged):
            _check_known(merged)
            # Raising rolls back the lines that did get reserved: the caller's transaction is aborted.
            raise InsufficientStock(_shortages(merged, measure="available"))
    return written


def _close_reservations(*, reference_type: str, reference_id: str, state: str) -> list[tuple[int, int]]:
    """Close the active reservations of a reference; return (stock_level_id, quantity) per level."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH closed AS (
                UPDATE inventory_reservation SET state = %s, closed_at = now()
                WHERE reference_type = %s AND reference_id = %s AND state = 'active'
                RETURNING stock_level_id, quantity
            )
            SELECT stock_level_id, sum(quantity)::int FROM closed GROUP BY stock_level_id ORDER BY stock_level_id
            """,
            [state, reference_type, str(reference_id)],
        )
        return cursor.fetchall()


def stock_release(*, reference_type: str, reference_id: str) -> int:
    """Give back the units reserved for a reference (an order that is cancelled). Safe to call twice."""
    with transaction.atomic(savepoint=False):
        released = _close_reservations(reference_type=reference_type, reference_id=reference_id, state=Reservation.RELEASED)
        if not released:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE inventory_stocklevel s SET reserved = s.reserved - r.qty, updated_at = now()
                FROM (SELECT * FROM unnest(%s::bigint[], %s::int[]) AS r(id, qty)) r
                WHERE s.id = r.id
                """,
                [[row[0] for row in released], [row[1] for row in released]],
            )
        return sum(row[1] for row in released)


def stock_fulfil(*, reference_type: str, reference_id: str, actor_id: int | None = None, note: str = "") -> int:
    """Ship reserved units: each active reservation of the reference leaves on hand and reserved as a sale.

    Safe to call twice: the second call finds no active reservation. Returns the units fulfilled.
    """
    with transaction.atomic(savepoint=False):
        consumed = _close_reservations(reference_type=reference_type, reference_id=reference_id, state=Reservation.CONSUMED)
        if not consumed:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH changed AS (
                    UPDATE inventory_stocklevel s
                    SET on_hand = s.on_hand - r.qty, reserved = s.reserved - r.qty, updated_at = now()
                    FROM (SELECT * FROM unnest(%s::bigint[], %s::int[]) AS r(id, qty)) r
                    WHERE s.id = r.id
                    RETURNING s.id, r.qty
                )
                INSERT INTO inventory_stockmovement (stock_level_id, quantity, reason, reference_type, reference_id, note, actor_id, created_at)
                SELECT c.id, -c.qty, 'sale', %s, %s, %s, %s, now() FROM changed c
                """,
                [[row[0] for row in consumed], [row[1] for row in consumed], reference_type, str(reference_id), note, actor_id],
            )
        return sum(row[1] for row in consumed)


def stock_count(*, variant_id: int, location_id: int, counted: int, reference_type: str = "count", reference_id: str = "",
                actor_id: int | None = None, note: str = "") -> StockLevel:
    """Set on hand to a counted number of units through a count movement, and clear the count flag."""
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0 or counted > MAX_QUANTITY:
        raise ValidationFailed(f"Counted quantity {counted!r} is invalid: use a whole number from 0 to {MAX_QUANTITY}.", code="invalid_quantity")
    with transaction.atomic(savepoint=False):
        stock_levels_ensure(pairs=[(variant_id, location_id)])
        level = StockLevel.objects.select_for_update().get(variant_id=variant_id, location_id=location_id)
        difference = counted - level.on_hand
        if difference != 0:
            StockMovement.objects.create(
                stock_level=level, quantity=difference, reason=MovementReason.COUNT, reference_type=reference_type,
                reference_id=str(reference_id), actor_id=actor_id, note=note,
            )
        StockLevel.objects.filter(pk=level.pk).update(on_hand=counted, needs_count=False, updated_at=timezone.now())
        level.refresh_from_db()
        return level


def stock_set_safety_stock(*, variant_id: int, location_id: int, safety_stock: int) -> StockLevel:
    if not isinstance(safety_stock, int) or isinstance(safety_stock, bool) or safety_stock < 0 or safety_stock > MAX_QUANTITY:
        raise ValidationFailed(f"Safety stock {safety_stock!r} is invalid: use a whole number from 0 to {MAX_QUANTITY}.", code="invalid_quantity")
    with transaction.atomic(savepoint=False):
        stock_levels_ensure(pairs=[(variant_id, location_id)])
        StockLevel.objects.filter(variant_id=variant_id, location_id=location_id).update(safety_stock=safety_stock, updated_at=timezone.now())
        return StockLevel.objects.get(variant_id=variant_id, location_id=location_id)


def location_get(*, location_id: int) -> Location:
    try:
        return Location.objects.get(pk=location_id)
    except Location.DoesNotExist:
        raise NotFound(f"Location id {location_id} does not exist.", code="location_not_found") from None


# Channels a location serves unless the caller says otherwise: stores sell at the register and hand
# out pickups, warehouses ship.
_CODE_PATTERN = re.compile(r"[-a-zA-Z0-9_]+")

_KIND_DEFAULTS = {
    Location.STORE: {"sells_in_store": True, "ships": False, "offers_pickup": True, "ships_from_store": False},
    Location.WAREHOUSE: {"sells_in_store": False, "ships": True, "offers_pickup": False, "ships_from_store": False},
}


def _coordinate(value, *, name: str, limit: int) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailed(f"{name.capitalize()} {value!r} is not a number.", code="invalid_coordinates", fields={name: ["Not a number."]})
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed(
            f"{name.capitalize()} {value!r} is not a number: send decimal degrees such as 41.878113.",
            code="invalid_coordinates", fields={name: ["Not a number."]},
        ) from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise ValidationFailed(
            f"{name.capitalize()} {value} is out of range: use -{limit} to {limit} decimal degrees.",
            code="invalid_coordinates", fields={name: [f"Use -{limit} to {limit}."]},
        )
    return number.quantize(Decimal("0.000001"))


def location_validate(*, code: str, kind: str, time_zone: str, latitude=None, longitude=None, country: str = "US") -> tuple:
    """Check a location's code, kind, time zone, country and coordinates; return (latitude, longitude) as Decimals.

    Raises ValidationFailed naming the bad value.
    """
    if not code or not _CODE_PATTERN.fullmatch(code) or len(code) > 50:
        raise ValidationFailed(
            f"Location code {code!r} is invalid: use 1 to 50 letters, digits, hyphens or underscores.",
            code="invalid_location_code", fields={"code": ["Letters, digits, hyphens or underscores."]},
        )
    kinds = [value for value, _label in Location.KINDS]
    if kind not in kinds:
        raise ValidationFailed(
            f"Location kind {kind!r} is unknown: use one of {', '.join(kinds)}.",
            code="invalid_location_kind", fields={"kind": [f"Use one of {', '.join(kinds)}."]},
        )
    if not isinstance(time_zone, str) or not time_zone:
        raise ValidationFailed("The time zone is missing: send an IANA name such as America/Chicago.", code="invalid_time_zone", fields={"time_zone": ["Required."]})
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Time zone {time_zone!r} is unknown: use an IANA name such as America/Chicago.",
            code="invalid_time_zone", fields={"time_zone": ["Unknown IANA time zone."]},
        ) from None
    if not isinstance(country, str) or len(country) != 2 or not country.isalpha() or not country.isupper():
        raise ValidationFailed(
            f"Country {country!r} is invalid: use a two-letter upper-case ISO 3166 code such as US.",
            code="invalid_country", fields={"country": ["Two upper-case letters."]},
        )
    latitude = _coordinate(latitude, name="latitude", limit=90)
    longitude = _coordinate(longitude, name="longitude", limit=180)
    if (latitude is None) != (longitude is None):
        raise ValidationFailed(
            "Send both latitude and longitude, or neither.", code="invalid_coordinates",
            fields={"latitude" if latitude is None else "longitude": ["Required with the other coordinate."]},
        )
    return latitude, longitude


def location_upsert(
    *, code: str, name: str, kind: str, address_line1: str = "", city: str = "", region: str = "", postal_code: str = "",
    country: str = "US", latitude=None, longitude=None, coordinates_synthetic: bool = False, time_zone: str = "UTC",
    sells_in_store: bool | None = None, ships: bool | None = None, offers_pickup: bool | None = None,
    ships_from_store: bool | None = None, allow_negative_stock: bool = False, is_active: bool = True,
) -> Location:
    """Create the location with `code`, or bring the existing one to these values.

    A channel flag left as None takes the default for the kind (stores sell in store and offer pickup,
    warehouses ship). Idempotent: when every value already matches, nothing is written. Locks the
    existing row only when it changes. Raises ValidationFailed for a bad code, kind, time zone or coordinates.
    """
    latitude, longitude = location_validate(
        code=code, kind=kind, time_zone=time_zone, latitude=latitude, longitude=longitude, country=country,
    )
    if not name or not name.strip():
        raise ValidationFailed(f"Location {code} needs a name.", code="invalid_location_name", fields={"name": ["Required."]})
    flags = {"sells_in_store": sells_in_store, "ships": ships, "offers_pickup": offers_pickup, "ships_from_store": ships_from_store}
    values = {
        "name": name.strip(), "kind": kind, "address_line1": address_line1, "city": city, "region": region,
        "postal_code": postal_code, "country": country, "latitude": latitude, "longitude": longitude,
        "coordinates_synthetic": bool(coordinates_synthetic), "time_zone": time_zone,
        "allow_negative_stock": bool(allow_negative_stock), "is_active": bool(is_active),
    }
    for flag, value in flags.items():
        values[flag] = _KIND_DEFAULTS[kind][flag] if value is None else bool(value)
    for field in ("address_line1", "city", "region", "postal_code"):
        limit = Location._meta.get_field(field).max_length
        if len(values[field]) > limit:
            raise ValidationFailed(f"{field} of location {code} is longer than {limit} characters.", code="invalid", fields={field: [f"At most {limit} characters."]})

    current = Location.objects.filter(code=code).first()
    if current is not None and all(getattr(current, field) == value for field, value in values.items()):
        return current
    with transaction.atomic():
        location = Location.objects.select_for_update().filter(code=code).first()
        if location is None:
            # ON CONFLICT makes two concurrent creations of the same code end with one row.
            Location.objects.bulk_create([Location(code=code, **values)], ignore_conflicts=True)
            location = Location.objects.select_for_update().get(code=code)
        changed = [field for field, value in values.items() if getattr(location, field) != value]
        if changed:
            for field in changed:
                setattr(location, field, values[field])
            location.save(update_fields=changed)
        return location
