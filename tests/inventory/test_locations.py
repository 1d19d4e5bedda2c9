from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commerce.errors import ValidationFailed
from inventory.models import Location
from inventory.services import location_upsert

pytestmark = pytest.mark.django_db


def test_upsert_creates_store_with_kind_defaults():
    location = location_upsert(
        code="chi-loop", name="Chicago Loop", kind=Location.STORE, city="Chicago", region="IL",
        latitude="41.878113", longitude=-87.629799, time_zone="America/Chicago",
    )
    assert Location.objects.count() == 1
    assert location.latitude == Decimal("41.878113")
    assert location.longitude == Decimal("-87.629799")
    assert (location.sells_in_store, location.offers_pickup, location.ships, location.ships_from_store) == (True, True, False, False)


def test_upsert_warehouse_ships_by_default():
    location = location_upsert(code="dc-east", name="East DC", kind=Location.WAREHOUSE)
    assert (location.ships, location.sells_in_store, location.offers_pickup) == (True, False, False)
    assert location.time_zone == "UTC"


def test_upsert_same_values_writes_nothing():
    arguments = {"code": "chi-loop", "name": "Chicago Loop", "kind": Location.STORE, "latitude": 41.878113, "longitude": -87.629799}
    first = location_upsert(**arguments)
    with CaptureQueriesContext(connection) as queries:
        second = location_upsert(**arguments)
    assert second.pk == first.pk
    writes = [query["sql"] for query in queries.captured_queries if not query["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert len(queries.captured_queries) == 1


def test_upsert_changes_only_differing_fields():
    location = location_upsert(code="chi-loop", name="Chicago Loop", kind=Location.STORE)
    updated = location_upsert(code="chi-loop", name="Chicago Loop Flagship", kind=Location.STORE, ships_from_store=True)
    assert updated.pk == location.pk
    assert Location.objects.get(code="chi-loop").name == "Chicago Loop Flagship"
    assert Location.objects.get(code="chi-loop").ships_from_store is True
    assert Location.objects.count() == 1


@pytest.mark.parametrize(
    ("arguments", "code", "named"),
    [
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone", "Mars/Olympus"),
        ({"time_zone": ""}, "invalid_time_zone", "time zone"),
        ({"kind": "kiosk"}, "invalid_location_kind", "kiosk"),
        ({"latitude": 91, "longitude": 0}, "invalid_coordinates", "91"),
        ({"latitude": 0, "longitude": -180.5}, "invalid_coordinates", "-180.5"),
        ({"latitude": "north", "longitude": 1}, "invalid_coordinates", "north"),
        ({"latitude": 10}, "invalid_coordinates", "longitude"),
        ({"code": "bad code!"}, "invalid_location_code", "bad code!"),
        ({"country": "usa"}, "invalid_country", "usa"),
        ({"name": " "}, "invalid_location_name", "name"),
    ],
)
def test_upsert_rejects_bad_values(arguments, code, named):
    values = {"code": "chi-loop", "name": "Chicago Loop", "kind": Location.STORE, **arguments}
    with pytest.raises(ValidationFailed) as error:
        location_upsert(**values)
    assert error.value.code == code
    assert named in error.value.message
    assert Location.objects.count() == 0
