"""Orders in the Django admin: read-only money, lines and status history inline.

Orders change only through orders.services (the state machine and the stock ledger), so nothing that
moves money or stock is editable here.
"""

from django.contrib import admin

from .models import Order, OrderLine, OrderStatusChange

MONEY_FIELDS = ("currency", "subtotal", "discount_total", "shipping_total", "tax_total", "total")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ("line_number", "sku", "name", "quantity", "unit_price", "discount_amount", "tax_amount", "line_total", "unit_cost", "location")
    readonly_fields = fields
    ordering = ("line_number",)

    def has_add_permission(self, request, obj=None):
        return False


class OrderStatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "reason", "actor", "api_key")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "channel", "status", "location", "customer", "total", "currency", "placed_at")
    list_filter = ("channel", "status", "location")
    search_fields = ("number", "external_ref", "customer__email")
    list_select_related = ("channel", "location", "customer")
    date_hierarchy = "placed_at"
    ordering = ("-placed_at", "-id")
    inlines = [OrderLineInline, OrderStatusChangeInline]
    readonly_fields = (
        "number", "channel", "status", "location", "customer", *MONEY_FIELDS, "external_ref", "source", "placed_at",
        "created_by", "api_key", "created_at", "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("number", "channel", "status", "location", "customer", "placed_at")}),
        ("Money", {"fields": MONEY_FIELDS}),
        ("Origin", {"fields": ("external_ref", "source", "created_by", "api_key", "created_at", "updated_at")}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
