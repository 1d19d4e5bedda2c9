"""Django admin permissions per staff role, kept in one group per role.

Location-bound roles get only admin pages that filter by location (stock levels and movements) or
that hold no store data (the catalog, customers). They reach orders through the API, which filters
them by location; the orders admin does not.
"""

from fnmatch import fnmatch

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Role, StaffProfile

CATALOG_READ = ["catalog.view_*"]
CUSTOMERS_DESK = ["customers.view_*", "customers.add_customer", "customers.change_customer", "customers.add_customer*"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.CASHIER: CATALOG_READ + CUSTOMERS_DESK + ["inventory.view_stocklevel", "inventory.view_location"],
    Role.STORE_MANAGER: CATALOG_READ + CUSTOMERS_DESK + [
        "catalog.change_product", "catalog.change_variant", "catalog.add_barcode", "catalog.change_variantprice",
        "inventory.view_*", "inventory.change_stocklevel", "pricing.view_*", "loyalty.view_*",
    ],
    Role.FULFILLMENT_ASSOCIATE: CATALOG_READ + [
        "inventory.view_stocklevel", "inventory.view_stockmovement", "inventory.view_location", "inventory.view_transfer*",
    ],
    Role.FINANCE: [f"{app}.view_*" for app in ("catalog", "customers", "inventory", "pricing", "loyalty", "payments", "orders", "analytics")],
    Role.ADMINISTRATOR: ["*.*"],
}


def role_group_name(role: str) -> str:
    return f"Role: {Role(role).label}"


@transaction.atomic
def role_groups_sync() -> dict[str, int]:
    """Create or update one group per role with its admin permissions; return the permission count per role."""
    permissions = list(Permission.objects.select_related("content_type"))
    counts = {}
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role_group_name(role))
        chosen = [
            permission for permission in permissions
            if any(fnmatch(f"{permission.content_type.app_label}.{permission.codename}", pattern) for pattern in patterns)
        ]
        group.permissions.set(chosen)
        counts[role] = len(chosen)
    return counts


@transaction.atomic
def staff_member_save(*, user, role: str, locations=()) -> StaffProfile:
    """Give `user` a staff role, its admin group and its locations; staff may log in to the admin."""
    Role(role)  # raises ValueError on an unknown role
    profile, _created = StaffProfile.objects.update_or_create(user=user, defaults={"role": role})
    profile.locations.set(list(locations))
    role_groups = Group.objects.filter(name__startswith="Role: ")
    user.groups.remove(*role_groups)
    group = Group.objects.filter(name=role_group_name(role)).first()
    if group is not None:
        user.groups.add(group)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return profile
