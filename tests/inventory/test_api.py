"""The inventory API: values, bad input and the query budget. Permissions are in test_api_access.py."""

import uuid

import pytest
from django.db.models import Sum

from commerce.models import IdempotencyKey, Role, Scope
from inventory.models import CycleCount, Location, StockLevel, StockMovement, Transfer
from inventory.services import StockLine, stock_receive, stock_reserve, stock_sell
from tests.factories import LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def post(client, url, body, key=None):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def level(variant, location) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


def by_location(result) -> dict:
    return {row["location"]: row for row in result["locations"]}


# Availability


def test_availability_staff_sees_every_active_location(network, admin_client_api):
    response = admin_client_api.get("/api/v1/availability/?sku=SKU-A&sku=SKU-B")
    assert response.status_code == 200
    body = response.json()
    assert body["online"] is False
    first, second = body["results"]
    assert first["sku"] == "SKU-A"
    assert first["on_hand"] == 41
    assert first["available"] == 38
    assert by_location(first)["north"] == {"location": "north", "on_hand": 10, "reserved": 0, "safety_stock": 3, "available": 7}
    assert sorted(by_location(first)) == ["dc", "kiosk", "north", "south"]
    assert (second["sku"], second["available"], list(by_location(second))) == ("SKU-B", 2, ["north"])


def test_availability_online_respects_safety_and_channels(network, admin_client_api):
    stock_reserve(lines=[StockLine(network["A"].pk, network["south"].pk, 4)], reference_type="order", reference_id="1")
    response = admin_client_api.get("/api/v1/availability/?sku=SKU-A&online=true")
    result = response.json()["results"][0]
    assert sorted(by_location(result)) == ["dc", "north", "south"]
    assert by_location(result)["north"]["available"] == 7
    assert by_location(result)["south"]["available"] == 0
    assert result["available"] == 27


def test_availability_online_never_below_zero(network, admin_client_api):
    lenient = LocationFactory(code="lenient", allow_negative_stock=True)
    stock_sell(lines=[StockLine(network["B"].pk, lenient.pk, 3)], reference_type="order", reference_id="2")
    staff = admin_client_api.get("/api/v1/availability/?sku=SKU-B&location=lenient").json()["results"][0]
    assert by_location(staff)["lenient"]["available"] == -3
    assert staff["available"] == 0
    online = admin_client_api.get("/api/v1/availability/?sku=SKU-B&location=lenient&online=true").json()["results"][0]
    assert by_location(online)["lenient"]["available"] == 0


def test_availability_api_key_is_always_online(network, key_client):
    client = key_client([Scope.INVENTORY_READ])
    body = client.get("/api/v1/availability/?sku=SKU-A&online=false").json()
    assert body["online"] is True
    assert "kiosk" not in by_location(body["results"][0])
    assert body["results"][0]["available"] == 31


def test_availability_one_location_and_empty_sku(network, admin_client_api):
    body = admin_client_api.get("/api/v1/availability/?sku=SKU-A,SKU-C&location=south").json()
    assert [row["location"] for row in body["results"][0]["locations"]] == ["south"]
    assert body["results"][0]["available"] == 4
    assert body["results"][1] == {"sku": "SKU-C", "variant_id": network["C"].pk, "on_hand": 0, "available": 0, "locations": []}


def test_availability_basket_post(network, admin_client_api):
    response = admin_client_api.post("/api/v1/availability/", {"skus": ["SKU-B", "SKU-A", "SKU-B"], "online": True}, format="json")
    assert response.status_code == 200
    assert [row["sku"] for row in response.json()["results"]] == ["SKU-B", "SKU-A"]
    assert StockMovement.objects.count() == 5


def test_availability_unknown_skus_listed(network, admin_client_api):
    response = admin_client_api.post("/api/v1/availability/", {"skus": ["SKU-A", "NOPE-1", "NOPE-2"]}, format="json")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "unknown_sku"
    assert body["fields"]["skus"] == ["NOPE-1", "NOPE-2"]
    assert "NOPE-1, NOPE-2" in body["message"]


def test_availability_unknown_location(network, admin_client_api):
    response = admin_client_api.get("/api/v1/availability/?sku=SKU-A&location=atlantis")
    assert response.status_code == 404
    assert "atlantis" in response.json()["message"]


@pytest.mark.parametrize(
    ("query", "named"),
    [("", "skus"), ("?sku=SKU-A&online=maybe", "online"), ("?sku=" + ",".join(f"S{n}" for n in range(101)), "100")],
)
def test_availability_bad_query(network, admin_client_api, query, named):
    response = admin_client_api.get("/api/v1/availability/" + query)
    assert response.status_code == 400
    assert named in response.json()["message"]


def test_availability_twenty_skus_two_queries(network, key_client, django_assert_max_num_queries):
    variants = [VariantFactory(sku=f"BASKET-{n:02d}") for n in range(20)]
    locations = [network[code] for code in ("north", "south", "dc", "kiosk")]
    stock_receive(
        lines=[StockLine(variant.pk, location.pk, 5) for variant in variants for location in locations],
        reference_type="receipt", reference_id="PO-2",
    )
    client = key_client([Scope.INVENTORY_READ])
    client.get("/api/v1/availability/?sku=SKU-A")  # the first use of a key stamps last_used_at
    basket = {"skus": [variant.sku for variant in variants]}
    # One query authenticates the API key, one reads every SKU at every location.
    with django_assert_max_num_queries(2):
        response = client.post("/api/v1/availability/", basket, format="json")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 20
    assert all(result["available"] == 15 for result in response.json()["results"])


# Stock levels


def test_stock_levels_filters(network, admin_client_api):
    stock_reserve(lines=[StockLine(network["A"].pk, network["north"].pk, 6)], reference_type="order", reference_id="3")
    rows = admin_client_api.get("/api/v1/stock-levels/?location=north").json()["results"]
    assert [(row["sku"], row["on_hand"], row["reserved"], row["available"]) for row in rows] == [("SKU-A", 10, 6, 1), ("SKU-B", 2, 0, 2)]
    assert [row["sku"] for row in admin_client_api.get("/api/v1/stock-levels/?available_lte=2").json()["results"]] == ["SKU-A", "SKU-B"]
    assert admin_client_api.get("/api/v1/stock-levels/?sku=SKU-A").json()["count"] == 4
    assert admin_client_api.get("/api/v1/stock-levels/?below_safety_stock=true").json()["count"] == 0
    stock_reserve(lines=[StockLine(network["A"].pk, network["north"].pk, 1)], reference_type="order", reference_id="4")
    StockLevel.objects.filter(variant=network["A"], location=network["north"]).update(safety_stock=5)
    below = admin_client_api.get("/api/v1/stock-levels/?below_safety_stock=true").json()["results"]
    assert [(row["location"], row["available"]) for row in below] == [("north", -2)]


def test_stock_levels_needs_count_and_pagination(network, admin_client_api):
    lenient = LocationFactory(code="lenient", allow_negative_stock=True)
    stock_sell(lines=[StockLine(network["C"].pk, lenient.pk, 1)], reference_type="order", reference_id="5")
    flagged = admin_client_api.get("/api/v1/stock-levels/?needs_count=true").json()
    assert [(row["sku"], row["location"]) for row in flagged["results"]] == [("SKU-C", "lenient")]
    page = admin_client_api.get("/api/v1/stock-levels/?page_size=2&page=2").json()
    assert page["count"] == 6
    assert len(page["results"]) == 2


def test_stock_levels_bound_staff_see_own_location(network, staff_client):
    client = staff_client(Role.CASHIER, network["south"])
    rows = client.get("/api/v1/stock-levels/").json()["results"]
    assert [(row["location"], row["sku"]) for row in rows] == [("south", "SKU-A")]


def test_stock_levels_bad_filter(network, admin_client_api):
    assert admin_client_api.get("/api/v1/stock-levels/?available_lte=abc").status_code == 400
    response = admin_client_api.get("/api/v1/stock-levels/?location=atlantis")
    assert response.status_code == 404
    assert "atlantis" in response.json()["message"]


def test_stock_level_detail_movements_newest_first(network, admin_client_api):
    stock_level = level(network["A"], network["north"])
    stock_sell(lines=[StockLine(network["A"].pk, network["north"].pk, 1)], reference_type="order", reference_id="6")
    body = admin_client_api.get(f"/api/v1/stock-levels/{stock_level.pk}/?page_size=1").json()
    assert (body["sku"], body["on_hand"], body["in_transit"]) == ("SKU-A", 9, 0)
    assert body["movements"]["count"] == 2
    assert [(row["quantity"], row["reason"]) for row in body["movements"]["results"]] == [(-1, "sale")]
    older = admin_client_api.get(f"/api/v1/stock-levels/{stock_level.pk}/?page_size=1&page=2").json()
    assert [(row["quantity"], row["reason"]) for row in older["movements"]["results"]] == [(10, "receipt")]


def test_stock_level_detail_unknown(admin_client_api):
    assert admin_client_api.get("/api/v1/stock-levels/999999/").status_code == 404


# Adjustments


def test_adjustment_damage_by_associate(network, staff_client):
    client = staff_client(Role.FULFILLMENT_ASSOCIATE, network["north"])
    response = post(client, "/api/v1/adjustments/", {"sku": "SKU-A", "location": "north", "quantity": -2, "reason": "damage", "note": "dropped"})
    assert response.status_code == 201
    body = response.json()
    assert (body["movement"]["quantity"], body["movement"]["reason"], body["movement"]["note"]) == (-2, "damage", "dropped")
    assert (body["stock_level"]["on_hand"], body["stock_level"]["available"]) == (8, 5)
    assert body["movement"]["actor"] == client.user.username


def test_adjustment_associate_may_not_add(network, staff_client):
    client = staff_client(Role.FULFILLMENT_ASSOCIATE, network["north"])
    response = post(client, "/api/v1/adjustments/", {"sku": "SKU-A", "location": "north", "quantity": 5, "note": "found"})
    assert response.status_code == 403
    assert level(network["A"], network["north"]).on_hand == 10


def test_adjustment_replay_moves_stock_once(network, admin_client_api):
    body = {"sku": "SKU-A", "location": "north", "quantity": 5, "note": "found"}
    first = post(admin_client_api, "/api/v1/adjustments/", body, key="adjust-1")
    second = post(admin_client_api, "/api/v1/adjustments/", body, key="adjust-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert level(network["A"], network["north"]).on_hand == 15
    reused = post(admin_client_api, "/api/v1/adjustments/", {**body, "quantity": 6}, key="adjust-1")
    assert reused.status_code == 409


def test_adjustment_needs_idempotency_key(network, admin_client_api):
    response = admin_client_api.post("/api/v1/adjustments/", {"sku": "SKU-A", "location": "north", "quantity": 1, "note": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"


@pytest.mark.parametrize(
    ("quantity", "named"),
    [(0, "0 changes nothing"), (10**12, "1000000000000"), ("abc", "abc"), (1.5, "1.5"), (None, "quantity")],
)
def test_adjustment_bad_quantity(network, admin_client_api, quantity, named):
    response = post(admin_client_api, "/api/v1/adjustments/", {"sku": "SKU-A", "location": "north", "quantity": quantity, "note": "x"})
    assert response.status_code == 400
    assert named in response.json()["message"]
    assert StockMovement.objects.count() == 5
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"sku": "NOPE", "location": "north"}, 404, "NOPE"),
        ({"sku": "SKU-A", "location": "atlantis"}, 404, "atlantis"),
        ({"reason": "theft"}, 400, "theft"),
        ({"quantity": 3, "reason": "damage"}, 400, "-3"),
        ({"quantity": -11}, 409, "SKU-A at north"),
        ({"note": ""}, 400, "note"),
    ],
)
def test_adjustment_bad_input_writes_nothing(network, admin_client_api, body, status, named):
    request = {"sku": "SKU-A", "location": "north", "quantity": -1, "note": "x", **body}
    response = post(admin_client_api, "/api/v1/adjustments/", request)
    assert response.status_code == status
    assert named in response.json()["message"]
    assert StockMovement.objects.count() == 5
    assert IdempotencyKey.objects.count() == 0


def test_adjustment_other_store_names_location(network, staff_client):
    client = staff_client(Role.STORE_MANAGER, network["south"])
    response = post(client, "/api/v1/adjustments/", {"sku": "SKU-A", "location": "north", "quantity": -1, "note": "x"})
    assert response.status_code == 403
    assert "north" in response.json()["message"]
    assert level(network["A"], network["north"]).on_hand == 10


# Safety stock


def test_safety_stock_set(network, staff_client):
    client = staff_client(Role.STORE_MANAGER, network["south"])
    response = post(client, "/api/v1/safety-stock/", {"sku": "SKU-A", "location": "south", "safety_stock": 3})
    assert response.status_code == 200
    assert (response.json()["safety_stock"], response.json()["available"]) == (3, 1)
    bad = post(client, "/api/v1/safety-stock/", {"sku": "SKU-A", "location": "south", "safety_stock": -1})
    assert bad.status_code == 400
    assert "-1" in bad.json()["message"]
    assert level(network["A"], network["south"]).safety_stock == 3


# Transfers


def test_transfer_lifecycle_over_api(network, staff_client):
    manager = staff_client(Role.STORE_MANAGER, network["south"])
    associate = staff_client(Role.FULFILLMENT_ASSOCIATE, network["dc"])
    created = post(manager, "/api/v1/transfers/", {"source": "dc", "destination": "south", "lines": [{"sku": "SKU-A", "quantity": 6}]})
    assert created.status_code == 201
    transfer_id = created.json()["id"]
    assert created.json()["state"] == "draft"

    shipped = post(associate, f"/api/v1/transfers/{transfer_id}/ship/", {"note": "truck 7"})
    assert shipped.status_code == 200
    assert shipped.json()["state"] == "in_transit"
    assert level(network["A"], network["dc"]).on_hand == 14
    south_level = level(network["A"], network["south"])
    assert manager.get(f"/api/v1/stock-levels/{south_level.pk}/").json()["in_transit"] == 6

    wrong_side = post(associate, f"/api/v1/transfers/{transfer_id}/receive/", {})
    assert wrong_side.status_code == 403
    assert "south" in wrong_side.json()["message"]

    received = post(manager, f"/api/v1/transfers/{transfer_id}/receive/", {"lines": [{"sku": "SKU-A", "received": 5, "reason": "lost"}]})
    assert received.status_code == 200
    body = received.json()
    assert body["state"] == "received"
    assert body["lines"][0]["received_quantity"] == 5
    assert body["lines"][0]["short_quantity"] == 1
    assert [event["to_state"] for event in body["events"]] == ["draft", "in_transit", "received"]
    assert level(network["A"], network["south"]).on_hand == 9
    total = StockMovement.objects.filter(stock_level=south_level).aggregate(total=Sum("quantity"))["total"]
    assert total == 9


def test_transfer_cancel_and_bad_transitions(network, admin_client_api):
    created = post(admin_client_api, "/api/v1/transfers/", {"source": "north", "destination": "south", "lines": [{"sku": "SKU-B", "quantity": 1}]})
    transfer_id = created.json()["id"]
    assert post(admin_client_api, f"/api/v1/transfers/{transfer_id}/receive/", {}).status_code == 409
    cancelled = post(admin_client_api, f"/api/v1/transfers/{transfer_id}/cancel/", {"note": "wrong store"})
    assert cancelled.json()["state"] == "cancelled"
    again = post(admin_client_api, f"/api/v1/transfers/{transfer_id}/ship/", {})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert level(network["B"], network["north"]).on_hand == 2


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"lines": [{"sku": "SKU-A", "quantity": 0}]}, 400, "0 is out of range"),
        ({"lines": [{"sku": "SKU-A", "quantity": -1}]}, 400, "-1"),
        ({"lines": [{"sku": "SKU-A", "quantity": 10**12}]}, 400, "1000000000000"),
        ({"lines": [{"sku": "SKU-A", "quantity": "abc"}]}, 400, "abc"),
        ({"lines": []}, 400, "lines"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 404, "NOPE"),
        ({"destination": "atlantis"}, 404, "atlantis"),
        ({"destination": "dc"}, 400, "destination"),
    ],
)
def test_transfer_create_bad_input(network, admin_client_api, body, status, named):
    request = {"source": "dc", "destination": "north", "lines": [{"sku": "SKU-A", "quantity": 1}], **body}
    response = post(admin_client_api, "/api/v1/transfers/", request)
    assert response.status_code == status
    assert named in response.json()["message"]
    assert Transfer.objects.count() == 0


def test_transfer_ship_short_of_stock_writes_nothing(network, admin_client_api):
    created = post(admin_client_api, "/api/v1/transfers/", {"source": "south", "destination": "north", "lines": [{"sku": "SKU-A", "quantity": 5}]})
    transfer_id = created.json()["id"]
    response = post(admin_client_api, f"/api/v1/transfers/{transfer_id}/ship/", {})
    assert response.status_code == 409
    assert "SKU-A at south: 5 requested" in response.json()["message"]
    assert Transfer.objects.get(pk=transfer_id).state == "draft"
    assert level(network["A"], network["south"]).on_hand == 4


def test_transfer_receive_unknown_sku(network, admin_client_api):
    created = post(admin_client_api, "/api/v1/transfers/", {"source": "dc", "destination": "north", "lines": [{"sku": "SKU-A", "quantity": 1}]})
    transfer_id = created.json()["id"]
    post(admin_client_api, f"/api/v1/transfers/{transfer_id}/ship/", {})
    response = post(admin_client_api, f"/api/v1/transfers/{transfer_id}/receive/", {"lines": [{"sku": "SKU-B", "received": 1}]})
    assert response.status_code == 400
    assert "SKU-B" in response.json()["message"]
    assert Transfer.objects.get(pk=transfer_id).state == "in_transit"


def test_transfer_list_bound_to_locations(network, staff_client, admin_client_api):
    post(admin_client_api, "/api/v1/transfers/", {"source": "dc", "destination": "north", "lines": [{"sku": "SKU-A", "quantity": 1}]})
    post(admin_client_api, "/api/v1/transfers/", {"source": "dc", "destination": "south", "lines": [{"sku": "SKU-A", "quantity": 1}]})
    client = staff_client(Role.STORE_MANAGER, network["south"])
    rows = client.get("/api/v1/transfers/").json()["results"]
    assert [(row["source"], row["destination"]) for row in rows] == [("dc", "south")]
    assert admin_client_api.get("/api/v1/transfers/?state=draft").json()["count"] == 2
    assert admin_client_api.get("/api/v1/transfers/?state=lost").status_code == 400


# Cycle counts


def test_cycle_count_over_api(network, staff_client):
    client = staff_client(Role.FULFILLMENT_ASSOCIATE, network["north"])
    response = post(client, "/api/v1/counts/", {"location": "north", "lines": [{"sku": "SKU-A", "counted": 9}, {"sku": "SKU-C", "counted": 2}]})
    assert response.status_code == 201
    lines = {line["sku"]: (line["expected"], line["counted"], line["difference"]) for line in response.json()["lines"]}
    assert lines == {"SKU-A": (10, 9, -1), "SKU-C": (0, 2, 2)}
    assert level(network["A"], network["north"]).on_hand == 9
    assert level(network["C"], network["north"]).on_hand == 2
    detail = client.get(f"/api/v1/counts/{response.json()['id']}/")
    assert detail.status_code == 200
    assert client.get("/api/v1/counts/").json()["count"] == 1


@pytest.mark.parametrize(
    ("lines", "status", "named"),
    [
        ([{"sku": "SKU-A", "counted": -1}], 400, "-1"),
        ([{"sku": "SKU-A", "counted": "abc"}], 400, "abc"),
        ([{"sku": "SKU-A", "counted": 1}, {"sku": "SKU-A", "counted": 2}], 400, "SKU-A"),
        ([{"sku": "NOPE", "counted": 1}], 404, "NOPE"),
    ],
)
def test_cycle_count_bad_input(network, admin_client_api, lines, status, named):
    response = post(admin_client_api, "/api/v1/counts/", {"location": "north", "lines": lines})
    assert response.status_code == status
    assert named in response.json()["message"]
    assert CycleCount.objects.count() == 0
    assert level(network["A"], network["north"]).on_hand == 10


# Locations


def test_location_create_and_update(admin_client_api):
    body = {"code": "chi-loop", "name": "Chicago Loop", "kind": "store", "time_zone": "America/Chicago", "latitude": "41.878113", "longitude": "-87.629799"}
    created = post(admin_client_api, "/api/v1/locations/", body)
    assert created.status_code == 201
    assert created.json()["latitude"] == "41.878113"
    assert created.json()["offers_pickup"] is True
    assert post(admin_client_api, "/api/v1/locations/", body).status_code == 409
    updated = admin_client_api.patch("/api/v1/locations/chi-loop/", {"ships_from_store": True, "name": "Loop"}, format="json")
    assert updated.status_code == 200
    location = Location.objects.get(code="chi-loop")
    assert (location.name, location.ships_from_store, location.time_zone) == ("Loop", True, "America/Chicago")


@pytest.mark.parametrize(
    ("body", "named"),
    [({"time_zone": "Mars/Base"}, "Mars/Base"), ({"kind": "kiosk"}, "kiosk"), ({"latitude": "91", "longitude": "0"}, "91")],
)
def test_location_bad_values(admin_client_api, body, named):
    request = {"code": "chi-loop", "name": "Chicago Loop", "kind": "store", **body}
    response = post(admin_client_api, "/api/v1/locations/", request)
    assert response.status_code == 400
    assert named in response.json()["message"]
    assert Location.objects.count() == 0


def test_location_list_shows_all_to_bound_staff(network, staff_client):
    client = staff_client(Role.CASHIER, network["south"])
    codes = [row["code"] for row in client.get("/api/v1/locations/").json()["results"]]
    assert codes == ["dc", "kiosk", "north", "south"]
    assert client.get("/api/v1/locations/north/").json()["name"] == "North store"
