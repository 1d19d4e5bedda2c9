"""Every change of stock. Each one writes its movement rows in the same statement as the level.

Locks: the statements below lock the stock level rows they touch in primary-key order (a
MATERIALIZED CTE with ORDER BY id FOR UPDATE) before they change them, so two orders that name the
same SKUs in opposite order cannot deadlock (tests/concurrency/test_stock_races.py runs that race with
no retry). Checks are conditions of the UPDATE itself. The one exception is stock_count, which reads
the level under its row lock to compute the count movement. Callers wrap these in their own
transaction. Every function here also opens one (a savepoint-free block when nested), so it is safe alone.
"""

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.utils import timezone

from commerce.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from commerce.fields import MAX_QUANTITY

from .models import (
    CycleCount,
    CycleCountLine,
    Location,
    MovementReason,
    Reservation,
    StockLevel,
    StockMovement,
    Transfer,
    TransferEvent,
    TransferLine,
)


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
    rows. Raises InsufficientStock when any line lacks units. The lines already raised are undone only
    by rolling back, so a caller that tries again (at another location) wraps the call in its own
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


# Adjustments -------------------------------------------------------------------------------------------

ADJUSTMENT_REASONS = (MovementReason.ADJUSTMENT, MovementReason.DAMAGE)
MAX_NOTE_LENGTH = 500


def _check_whole_number(value, *, label: str, minimum: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise ValidationFailed(
            f"{label} {value!r} is invalid: use a whole number from {minimum} to {maximum}.",
            code="invalid_quantity", fields={"quantity": [f"Use {minimum} to {maximum}."]},
        )
    return value


def _check_note(note: str) -> str:
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationFailed(f"The note is {len(note)} characters long: use at most {MAX_NOTE_LENGTH}.", code="invalid", fields={"note": ["Too long."]})
    return note


def stock_adjust(
    *, variant_id: int, location_id: int, quantity: int, reason: str = MovementReason.ADJUSTMENT, note: str = "",
    actor_id: int | None = None, reference_id: str = "",
) -> StockMovement:
    """Add (positive `quantity`) or take off (negative) units by hand, with a reason and a note.

    `reason` is adjustment or damage; damage only takes units off. A negative change follows
    stock_remove: it raises InsufficientStock rather than touch reserved units. Returns the movement.
    """
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationFailed(
            f"Adjustment reason {reason!r} is invalid: use adjustment or damage.", code="invalid_reason",
            fields={"reason": ["Use adjustment or damage."]},
        )
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity == 0 or abs(quantity) > MAX_QUANTITY:
        raise ValidationFailed(
            f"Adjustment quantity {quantity!r} is invalid: use a whole number from -{MAX_QUANTITY} to {MAX_QUANTITY}, not 0.",
            code="invalid_quantity", fields={"quantity": ["A signed whole number, not 0."]},
        )
    if reason == MovementReason.DAMAGE and quantity > 0:
        raise ValidationFailed(
            f"Damage takes units off: send -{quantity}, or use the reason adjustment to add {quantity} units.",
            code="invalid_quantity", fields={"quantity": ["Negative for damage."]},
        )
    _check_note(note)
    reference_id = reference_id or uuid.uuid4().hex
    line = StockLine(variant_id, location_id, abs(quantity))
    with transaction.atomic(savepoint=False):
        if quantity > 0:
            stock_receive(lines=[line], reason=reason, reference_type="adjustment", reference_id=reference_id, actor_id=actor_id, note=note)
        else:
            stock_remove(lines=[line], reason=reason, reference_type="adjustment", reference_id=reference_id, actor_id=actor_id, note=note)
        return StockMovement.objects.select_related("stock_level").get(reference_type="adjustment", reference_id=reference_id)


# Transfers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferItem:
    variant_id: int
    quantity: int


@dataclass(frozen=True)
class TransferReceiptLine:
    """Receipt of one transfer line. Units neither received nor damaged are short; damaged or short units need a reason."""

    variant_id: int
    received: int
    damaged: int = 0
    reason: str = ""
    note: str = ""


def _transfer_lock(transfer_id: int) -> Transfer:
    """Lock the transfer row; taken before any stock level row so that every transfer path locks in one order."""
    try:
        return Transfer.objects.select_for_update().get(pk=transfer_id)
    except Transfer.DoesNotExist:
        raise NotFound(f"Transfer {transfer_id} does not exist.", code="transfer_not_found") from None


def _transfer_check(transfer: Transfer, *, to_state: str) -> None:
    """Raise InvalidTransition unless the state machine allows `transfer` to move to `to_state`."""
    if to_state not in Transfer.TRANSITIONS[transfer.state]:
        allowed = ", ".join(sorted(Transfer.TRANSITIONS[transfer.state])) or "none, because it is final"
        raise InvalidTransition(
            f"Transfer {transfer.pk} is {transfer.state} and cannot become {to_state}: the allowed next states are {allowed}.",
        )


def _transfer_move(transfer: Transfer, *, to_state: str, actor_id: int | None, note: str, **stamps) -> Transfer:
    """Move a locked transfer along the state machine and record the event. Raises InvalidTransition."""
    _transfer_check(transfer, to_state=to_state)
    from_state = transfer.state
    transfer.state = to_state
    for field, value in stamps.items():
        setattr(transfer, field, value)
    transfer.save(update_fields=["state", *stamps])
    TransferEvent.objects.create(transfer=transfer, from_state=from_state, to_state=to_state, actor_id=actor_id, note=note)
    return transfer


def transfer_create(
    *, source_id: int, destination_id: int, items: Iterable[TransferItem], note: str = "", actor_id: int | None = None,
) -> Transfer:
    """Write a draft transfer. Items of the same variant are added up. Stock is checked only when it ships.

    Raises ValidationFailed for bad quantities or a transfer to the source itself, NotFound for an
    unknown location or variant, Conflict for an inactive location.
    """
    _check_note(note)
    totals: dict[int, int] = defaultdict(int)
    for item in items:
        totals[item.variant_id] += _check_whole_number(item.quantity, label="Transfer quantity", minimum=1, maximum=MAX_QUANTITY)
    if not totals:
        raise ValidationFailed("A transfer needs at least one line.", code="invalid", fields={"lines": ["Required."]})
    for variant_id, quantity in totals.items():
        _check_whole_number(quantity, label=f"Total quantity of variant {variant_id}", minimum=1, maximum=MAX_QUANTITY)
    if source_id == destination_id:
        raise ValidationFailed("A transfer needs a destination other than its source.", code="invalid_destination", fields={"destination": ["Same as the source."]})
    _check_known([StockLine(variant_id, location_id, 1) for variant_id in totals for location_id in (source_id, destination_id)])
    inactive = list(Location.objects.filter(pk__in=[source_id, destination_id], is_active=False).values_list("code", flat=True))
    if inactive:
        raise Conflict(f"Location {inactive[0]} is inactive: activate it before transferring stock.", code="location_inactive")

    with transaction.atomic(savepoint=False):
        transfer = Transfer.objects.create(source_id=source_id, destination_id=destination_id, note=note, created_by_id=actor_id)
        TransferLine.objects.bulk_create(
            [TransferLine(transfer=transfer, variant_id=variant_id, quantity=quantity) for variant_id, quantity in sorted(totals.items())]
        )
        TransferEvent.objects.create(transfer=transfer, from_state="", to_state=Transfer.DRAFT, actor_id=actor_id, note=note)
        return transfer


def transfer_ship(*, transfer_id: int, actor_id: int | None = None, note: str = "") -> Transfer:
    """Send a draft transfer: take its units off on hand at the source as transfer_out movements.

    Locks the transfer, then the source stock levels in id order. Raises InvalidTransition unless
    the transfer is a draft, and InsufficientStock (changing nothing) when the source lacks units
    beyond those reserved.
    """
    _check_note(note)
    with transaction.atomic(savepoint=False):
        transfer = _transfer_lock(transfer_id)
        _transfer_check(transfer, to_state=Transfer.IN_TRANSIT)
        lines = [StockLine(line.variant_id, transfer.source_id, line.quantity) for line in transfer.lines.all()]
        stock_remove(
            lines=lines, reason=MovementReason.TRANSFER_OUT, reference_type="transfer", reference_id=str(transfer.pk),
            actor_id=actor_id, note=note,
        )
        return _transfer_move(transfer, to_state=Transfer.IN_TRANSIT, actor_id=actor_id, note=note, shipped_at=timezone.now())


def transfer_receive(
    *, transfer_id: int, receipts: Iterable[TransferReceiptLine] = (), actor_id: int | None = None, note: str = "",
) -> Transfer:
    """Receive a shipped transfer at its destination as transfer_in movements, and close it.

    A line without a receipt arrived in full. A receipt may count fewer units: those marked damaged
    and the rest (short) leave the network, and need a reason. Locks the transfer, then the
    destination stock levels in id order. Raises InvalidTransition unless the transfer is in transit.
    """
    _check_note(note)
    reasons = [value for value, _label in TransferLine.SHORT_REASONS]
    with transaction.atomic(savepoint=False):
        transfer = _transfer_lock(transfer_id)
        _transfer_check(transfer, to_state=Transfer.RECEIVED)
        lines = {line.variant_id: line for line in transfer.lines.select_related("variant")}
        by_variant: dict[int, TransferReceiptLine] = {}
        for receipt in receipts:
            if receipt.variant_id not in lines:
                raise ValidationFailed(
                    f"Variant {receipt.variant_id} is not on transfer {transfer.pk}: receive only the lines it shipped.",
                    code="not_on_transfer", fields={"lines": [f"Variant {receipt.variant_id} is not on the transfer."]},
                )
            if receipt.variant_id in by_variant:
                raise ValidationFailed(
                    f"{lines[receipt.variant_id].variant.sku} is listed twice: send one receipt per line.",
                    code="duplicate_line", fields={"lines": ["One receipt per line."]},
                )
            by_variant[receipt.variant_id] = receipt

        for variant_id, line in sorted(lines.items()):
            receipt = by_variant.get(variant_id, TransferReceiptLine(variant_id, line.quantity))
            sku = line.variant.sku
            _check_whole_number(receipt.received, label=f"Received quantity of {sku}", minimum=0, maximum=line.quantity)
            _check_whole_number(receipt.damaged, label=f"Damaged quantity of {sku}", minimum=0, maximum=line.quantity - receipt.received)
            line.received_quantity = receipt.received
            line.damaged_quantity = receipt.damaged
            line.short_quantity = line.quantity - receipt.received - receipt.damaged
            if line.damaged_quantity or line.short_quantity:
                if receipt.reason not in reasons:
                    raise ValidationFailed(
                        f"{sku}: {line.quantity - receipt.received} of {line.quantity} units did not arrive in good order, "
                        f"so a reason is needed: use one of {', '.join(reasons)}.",
                        code="discrepancy_reason_missing", fields={"reason": [f"Use one of {', '.join(reasons)}."]},
                    )
                line.discrepancy_reason = receipt.reason
                line.discrepancy_note = _check_note(receipt.note)

        arrived = [StockLine(variant_id, transfer.destination_id, line.received_quantity) for variant_id, line in lines.items() if line.received_quantity]
        stock_receive(
            lines=arrived, reason=MovementReason.TRANSFER_IN, reference_type="transfer", reference_id=str(transfer.pk),
            actor_id=actor_id, note=note,
        )
        TransferLine.objects.bulk_update(
            list(lines.values()), ["received_quantity", "damaged_quantity", "short_quantity", "discrepancy_reason", "discrepancy_note"],
        )
        return _transfer_move(transfer, to_state=Transfer.RECEIVED, actor_id=actor_id, note=note, received_at=timezone.now())


def transfer_cancel(*, transfer_id: int, actor_id: int | None = None, note: str = "") -> Transfer:
    """Cancel a draft transfer. Raises InvalidTransition once it has shipped."""
    _check_note(note)
    with transaction.atomic(savepoint=False):
        transfer = _transfer_lock(transfer_id)
        return _transfer_move(transfer, to_state=Transfer.CANCELLED, actor_id=actor_id, note=note, cancelled_at=timezone.now())


# Cycle counts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountedItem:
    variant_id: int
    counted: int


def cycle_count_record(*, location_id: int, items: Iterable[CountedItem], note: str = "", actor_id: int | None = None) -> CycleCount:
    """Record a count of several variants at one location and set each on hand through stock_count.

    Locks the location's stock levels of those variants in id order before reading what was expected.
    Raises ValidationFailed for a bad or twice-listed count, NotFound for an unknown variant or location.
    """
    _check_note(note)
    counts: dict[int, int] = {}
    for item in items:
        _check_whole_number(item.counted, label="Counted quantity", minimum=0, maximum=MAX_QUANTITY)
        if item.variant_id in counts:
            raise ValidationFailed(
                f"Variant {item.variant_id} is counted twice: send one line per SKU with its total.",
                code="duplicate_line", fields={"lines": ["One line per SKU."]},
            )
        counts[item.variant_id] = item.counted
    if not counts:
        raise ValidationFailed("A count needs at least one line.", code="invalid", fields={"lines": ["Required."]})
    _check_known([StockLine(variant_id, location_id, 1) for variant_id in counts])

    with transaction.atomic(savepoint=False):
        stock_levels_ensure(pairs=[(variant_id, location_id) for variant_id in counts])
        levels = list(
            StockLevel.objects.select_for_update().filter(location_id=location_id, variant_id__in=counts).order_by("id")
        )
        cycle_count = CycleCount.objects.create(location_id=location_id, note=note, counted_by_id=actor_id)
        lines = []
        for level in levels:
            lines.append(CycleCountLine(cycle_count=cycle_count, variant_id=level.variant_id, expected=level.on_hand, counted=counts[level.variant_id]))
            stock_count(
                variant_id=level.variant_id, location_id=location_id, counted=counts[level.variant_id],
                reference_type="cycle_count", reference_id=str(cycle_count.pk), actor_id=actor_id, note=note,
            )
        CycleCountLine.objects.bulk_create(lines)
        return cycle_count
