"""The locations of the replay and the demo: a store per Complete Journey store id, and two warehouses.

The Complete Journey data names its stores by number only. Their coordinates here are SYNTHETIC:
made from a hash of the store id, spread over a box around Cincinnati, Ohio, and flagged
`coordinates_synthetic`, so that store pickers and routing have places to work with. They do not
show where the real stores are. The warehouses' coordinates are made up too.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from inventory.models import Location
from inventory.services import location_upsert

from .plan import WAREHOUSE_CENTRAL, WAREHOUSE_WEST, store_code

STORE_TIME_ZONE = "America/New_York"

# The box the synthetic store coordinates fall in, around Cincinnati, Ohio (about 60 by 70 km).
LATITUDE_RANGE = (Decimal("38.85"), Decimal("39.40"))
LONGITUDE_RANGE = (Decimal("-84.90"), Decimal("-84.10"))
COORDINATE_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class WarehouseSpec:
    code: str
    name: str
    city: str
    region: str
    latitude: Decimal
    longitude: Decimal
    time_zone: str


WAREHOUSES = (
    WarehouseSpec(WAREHOUSE_CENTRAL, "Central warehouse", "Columbus", "OH", Decimal("39.961200"), Decimal("-82.998800"), "America/New_York"),
    WarehouseSpec(WAREHOUSE_WEST, "West warehouse", "Reno", "NV", Decimal("39.529600"), Decimal("-119.813800"), "America/Los_Angeles"),
)


def store_coordinates(store_id: str) -> tuple[Decimal, Decimal]:
    """Return synthetic (latitude, longitude) for a store id: the same id always gives the same point."""
    digest = hashlib.sha256(f"completejourney-store:{store_id}".encode()).digest()
    fractions = (int.from_bytes(digest[0:8], "big") / 2**64, int.from_bytes(digest[8:16], "big") / 2**64)
    points = []
    for fraction, (low, high) in zip(fractions, (LATITUDE_RANGE, LONGITUDE_RANGE), strict=True):
        points.append((low + (high - low) * Decimal(repr(fraction))).quantize(COORDINATE_PLACES))
    return points[0], points[1]


def store_ensure(store_id: str) -> Location:
    latitude, longitude = store_coordinates(store_id)
    return location_upsert(
        code=store_code(store_id),
        name=f"Store {store_id}",
        kind=Location.STORE,
        region="OH",
        latitude=latitude,
        longitude=longitude,
        coordinates_synthetic=True,
        time_zone=STORE_TIME_ZONE,
        sells_in_store=True,
        offers_pickup=True,
        ships_from_store=True,
        ships=True,
        allow_negative_stock=False,
    )


def warehouses_ensure() -> list[Location]:
    return [
        location_upsert(
            code=spec.code,
            name=spec.name,
            kind=Location.WAREHOUSE,
            city=spec.city,
            region=spec.region,
            latitude=spec.latitude,
            longitude=spec.longitude,
            coordinates_synthetic=True,
            time_zone=spec.time_zone,
            sells_in_store=False,
            offers_pickup=False,
            ships_from_store=False,
            ships=True,
            allow_negative_stock=False,
        )
        for spec in WAREHOUSES
    ]


def locations_ensure(store_ids: list[str]) -> dict[str, Location]:
    """Create or update the stores and the warehouses; return them by code. Safe to run again."""
    locations = {location.code: location for location in warehouses_ensure()}
    for store_id in store_ids:
        location = store_ensure(store_id)
        locations[location.code] = location
    return locations
