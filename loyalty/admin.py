from django.contrib import admin

from .models import LoyaltyAccount, PointsEntry, Program, Tier


class TierInline(admin.TabularInline):
    model = Tier
    extra = 0
    fields = ["name", "min_spend", "multiplier"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active", "currency", "points_per_unit", "point_value", "expiry_months"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["excluded_categories"]
    inlines = [TierInline]


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "min_spend", "multiplier"]
    list_filter = ["program"]


class PointsEntryInline(admin.TabularInline):
    """The ledger, read-only: points change only through the loyalty services."""

    model = PointsEntry
    extra = 0
    can_delete = False
    ordering = ["-occurred_at", "-id"]
    fields = ["occurred_at", "kind", "points", "source_reference", "order_reference", "amount", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "program", "balance", "tier", "updated_at"]
    list_filter = ["program", "tier"]
    search_fields = ["customer__email", "customer__phone", "customer__last_name", "customer__identities__value"]
    readonly_fields = ["program", "customer", "balance", "tier", "created_at", "updated_at"]
    inlines = [PointsEntryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
