import pytest
from django.contrib.auth.models import Group

from commerce.models import Role
from commerce.roles import role_groups_sync, staff_member_save
from inventory.services import StockLine, stock_receive
from tests.factories import LocationFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_sync_makes_one_group_per_role():
    counts = role_groups_sync()
    assert set(counts) == set(Role.values)
    assert Group.objects.filter(name__startswith="Role: ").count() == 5
    assert counts[Role.ADMINISTRATOR] > counts[Role.FINANCE] > counts[Role.CASHIER] > 0
    assert role_groups_sync() == counts


def test_staff_member_save_switches_group():
    role_groups_sync()
    user = UserFactory()
    staff_member_save(user=user, role=Role.CASHIER)
    staff_member_save(user=user, role=Role.FINANCE)
    user.refresh_from_db()
    assert user.is_staff is True
    assert list(user.groups.values_list("name", flat=True)) == ["Role: Finance"]


def test_cashier_admin_sees_own_store_stock(client):
    role_groups_sync()
    own, other = LocationFactory(code="own-store"), LocationFactory(code="other-store")
    variant = VariantFactory(sku="ADMIN-1")
    stock_receive(lines=[StockLine(variant.pk, own.pk, 3), StockLine(variant.pk, other.pk, 4)], reference_type="receipt", reference_id="R1")
    user = UserFactory()
    staff_member_save(user=user, role=Role.CASHIER, locations=[own])
    client.force_login(user)

    page = client.get("/admin/inventory/stocklevel/")
    assert page.status_code == 200
    rows = list(page.context["cl"].result_list)
    assert [row.location.code for row in rows] == ["own-store"]
    assert client.get("/admin/orders/order/").status_code == 403
