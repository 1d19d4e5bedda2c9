"""The inventory admin: search and filters, read-only on hand, the adjustment and transfer actions."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from inventory.models import Location, StockLevel, StockMovement, Transfer
from inventory.services import StockLine, TransferItem, stock_sell, transfer_create

pytestmark = pytest.mark.django_db

LEVELS = "/admin/inventory/stocklevel/"


def level(network, sku="A", code="north") -> StockLevel:
    return StockLevel.objects.get(variant=network[sku], location=network[code])


def test_stock_level_search_and_filters(network, admin_client):
    by_sku = admin_client.get(LEVELS, {"q": "SKU-B"})
    assert by_sku.status_code == 200
    assert by_sku.context["cl"].result_count == 1
    assert admin_client.get(LEVELS, {"q": "north"}).context["cl"].result_count == 2
    assert admin_client.get(LEVELS, {"location__kind": "warehouse"}).context["cl"].result_count == 1
    StockLevel.objects.filter(pk=level(network).pk).update(needs_count=True)
    assert admin_client.get(LEVELS, {"needs_count__exact": "1"}).context["cl"].result_count == 1


def test_stock_level_page_lists_movements_newest_first(network, admin_client):
    stock_sell(lines=[StockLine(network["A"].pk, network["north"].pk, 2)], reference_type="order", reference_id="7")
    response = admin_client.get(f"{LEVELS}{level(network).pk}/change/")
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert [form.instance.quantity for form in formset.forms] == [-2, 10]


def test_on_hand_cannot_be_changed_in_form(network, admin_client):
    stock_level = level(network)
    data = {
        "on_hand": 999, "safety_stock": 5,
        "movements-TOTAL_FORMS": 1, "movements-INITIAL_FORMS": 1, "movements-MIN_NUM_FORMS": 0, "movements-MAX_NUM_FORMS": 1000,
    }
    response = admin_client.post(f"{LEVELS}{stock_level.pk}/change/", data)
    assert response.status_code == 302
    stock_level.refresh_from_db()
    assert (stock_level.on_hand, stock_level.safety_stock, stock_level.available) == (10, 5, 5)
    assert StockMovement.objects.filter(stock_level=stock_level).count() == 1


def test_adjust_action_writes_movements(network, admin_client):
    selected = [level(network).pk, level(network, code="south").pk]
    form_page = admin_client.post(LEVELS, {"action": "adjust_stock", ACTION_CHECKBOX_NAME: selected})
    assert form_page.status_code == 200
    assert b"Adjust stock" in form_page.content
    applied = admin_client.post(
        LEVELS, {"action": "adjust_stock", ACTION_CHECKBOX_NAME: selected, "apply": "1", "quantity": -2, "reason": "damage", "note": "leak"},
    )
    assert applied.status_code == 302
    assert (level(network).on_hand, level(network, code="south").on_hand) == (8, 2)
    movements = StockMovement.objects.filter(reason="damage")
    assert sorted(movements.values_list("quantity", "note")) == [(-2, "leak"), (-2, "leak")]


def test_adjust_action_all_or_nothing(network, admin_client):
    selected = [level(network).pk, level(network, code="south").pk]
    admin_client.post(LEVELS, {"action": "adjust_stock", ACTION_CHECKBOX_NAME: selected, "apply": "1", "quantity": -5, "reason": "adjustment", "note": "x"})
    assert (level(network).on_hand, level(network, code="south").on_hand) == (10, 4)
    assert StockMovement.objects.filter(reason="adjustment").count() == 0


def test_movements_and_reservations_read_only(network, admin_client):
    assert admin_client.get("/admin/inventory/stockmovement/").status_code == 200
    assert admin_client.get("/admin/inventory/stockmovement/add/").status_code == 403
    assert admin_client.get("/admin/inventory/reservation/add/").status_code == 403
    movement = StockMovement.objects.first()
    assert admin_client.post(f"/admin/inventory/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StockMovement.objects.count() == 5


def test_transfer_actions(network, admin_client):
    transfer = transfer_create(source_id=network["dc"].pk, destination_id=network["north"].pk, items=[TransferItem(network["A"].pk, 3)])
    assert admin_client.get(f"/admin/inventory/transfer/{transfer.pk}/change/").status_code == 200
    admin_client.post("/admin/inventory/transfer/", {"action": "ship", ACTION_CHECKBOX_NAME: [transfer.pk]})
    assert Transfer.objects.get(pk=transfer.pk).state == "in_transit"
    admin_client.post("/admin/inventory/transfer/", {"action": "receive_in_full", ACTION_CHECKBOX_NAME: [transfer.pk]})
    assert Transfer.objects.get(pk=transfer.pk).state == "received"
    assert level(network).on_hand == 13
    assert level(network, code="dc").on_hand == 17


def test_location_admin_checks_time_zone(admin_client):
    data = {"code": "east", "name": "East", "kind": "store", "country": "US", "time_zone": "Mars/Base"}
    response = admin_client.post("/admin/inventory/location/add/", data)
    assert response.status_code == 200
    assert b"Mars/Base" in response.content
    assert Location.objects.count() == 0
    response = admin_client.post("/admin/inventory/location/add/", {**data, "time_zone": "America/New_York"})
    assert response.status_code == 302
    assert Location.objects.get(code="east").time_zone == "America/New_York"
