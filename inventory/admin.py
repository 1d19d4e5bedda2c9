"""Django admin for inventory. Stock never changes by editing a row: on hand is read-only everywhere,
and the "Adjust stock" action and the transfer actions go through the services, which write movements.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse

from commerce.access import LOCATION_BOUND_ROLES, role_of
from commerce.errors import DomainError
from commerce.fields import MAX_QUANTITY

from . import services
from .models import CycleCount, CycleCountLine, Location, MovementReason, Reservation, StockLevel, StockMovement, Transfer, TransferEvent, TransferLine

logger = logging.getLogger(__name__)


def _bound_location_ids(request) -> set[int] | None:
    """Return the ids of the locations a location-bound staff member works at, or None for everyone else."""
    if role_of(request.user) in LOCATION_BOUND_ROLES:
        return set(request.user.staff_profile.locations.values_list("id", flat=True))
    return None


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Locations


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("code") or getattr(self.instance, "code", "")
        try:
            services.location_validate(
                code=code, kind=cleaned.get("kind", ""), time_zone=cleaned.get("time_zone", ""),
                latitude=cleaned.get("latitude"), longitude=cleaned.get("longitude"), country=cleaned.get("country", ""),
            )
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        return cleaned


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    form = LocationForm
    list_display = ["code", "name", "kind", "city", "region", "sells_in_store", "ships", "offers_pickup", "ships_from_store", "is_active"]
    list_filter = ["kind", "is_active", "ships", "offers_pickup"]
    search_fields = ["code", "name", "city", "postal_code"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        values = {field: getattr(obj, field) for field in form.cleaned_data if field != "code"}
        saved = services.location_upsert(code=obj.code, **values)
        obj.pk = saved.pk


# Stock levels


class MovementInline(ReadOnlyMixin, admin.TabularInline):
    """The level's movements, most recent first."""

    model = StockMovement
    fields = ["created_at", "quantity", "reason", "reference_type", "reference_id", "note", "actor"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    can_delete = False
    # NOTE: every movement of the level is listed; a level with years of history makes a long page,
    # and the API (GET /api/v1/stock-levels/<id>/) pages through the same history instead.


class AdjustForm(forms.Form):
    quantity = forms.IntegerField(
        min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY, help_text="Units to add (positive) or take off (negative), for each selected level.",
    )
    reason = forms.ChoiceField(choices=[(MovementReason.ADJUSTMENT, "Adjustment"), (MovementReason.DAMAGE, "Damage")])
    note = forms.CharField(max_length=500, help_text="Why the stock changes; kept on the movement.")

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("0 changes nothing: enter a positive or a negative number of units.")
        return quantity


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ["sku", "location_code", "on_hand", "reserved", "safety_stock", "available", "needs_count", "updated_at"]
    list_filter = ["needs_count", "location__kind", "location"]
    search_fields = ["variant__sku", "location__code"]
    list_select_related = ["variant", "location"]
    fields = ["variant", "location", "on_hand", "reserved", "safety_stock", "available", "needs_count", "updated_at"]
    readonly_fields = ["variant", "location", "on_hand", "reserved", "available", "needs_count", "updated_at"]
    inlines = [MovementInline]
    actions = ["adjust_stock"]

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, level):
        return level.variant.sku

    @admin.display(description="Location", ordering="location__code")
    def location_code(self, level):
        return level.location.code

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        allowed = _bound_location_ids(request)
        return queryset if allowed is None else queryset.filter(location_id__in=allowed)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        # Only safety stock is editable; it goes through the service like the API does.
        if "safety_stock" in form.changed_data:
            services.stock_set_safety_stock(variant_id=obj.variant_id, location_id=obj.location_id, safety_stock=form.cleaned_data["safety_stock"])

    @admin.action(description="Adjust stock of the selected levels")
    def adjust_stock(self, request, queryset):
        form = AdjustForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            data = form.cleaned_data
            levels = list(queryset.select_related("variant", "location").order_by("id"))
            try:
                with transaction.atomic():
                    for level in levels:
                        services.stock_adjust(
                            variant_id=level.variant_id, location_id=level.location_id, quantity=data["quantity"], reason=data["reason"],
                            note=data["note"], actor_id=request.user.pk,
                        )
            except DomainError as error:
                logger.warning("Admin stock adjustment by user %s of levels %s failed: %s", request.user.pk, [level.pk for level in levels], error.code)
                self.message_user(request, f"Nothing was adjusted: {error.message}", level=messages.ERROR)
                return None
            self.message_user(request, f"Adjusted {len(levels)} stock level(s) by {data['quantity']} ({data['reason']}).", level=messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust stock",
            "form": form,
            "levels": queryset.select_related("variant", "location"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/adjust.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "stock_level", "quantity", "reason", "reference_type", "reference_id", "actor"]
    list_filter = ["reason"]
    search_fields = ["stock_level__variant__sku", "stock_level__location__code", "reference_id"]
    list_select_related = ["stock_level", "actor"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        allowed = _bound_location_ids(request)
        return queryset if allowed is None else queryset.filter(stock_level__location_id__in=allowed)


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "stock_level", "quantity", "state", "reference_type", "reference_id", "closed_at"]
    list_filter = ["state"]
    search_fields = ["stock_level__variant__sku", "reference_id"]
    list_select_related = ["stock_level"]


# Transfers and counts


class TransferLineInline(ReadOnlyMixin, admin.TabularInline):
    model = TransferLine
    fields = ["variant", "quantity", "received_quantity", "damaged_quantity", "short_quantity", "discrepancy_reason", "discrepancy_note"]
    readonly_fields = fields
    extra = 0


class TransferEventInline(ReadOnlyMixin, admin.TabularInline):
    model = TransferEvent
    fields = ["created_at", "from_state", "to_state", "actor", "note"]
    readonly_fields = fields
    extra = 0


@admin.register(Transfer)
class TransferAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Transfers are created through the API; here they are shown and shipped, received in full or cancelled."""

    list_display = ["id", "source", "destination", "state", "created_at", "shipped_at", "received_at"]
    list_filter = ["state", "source", "destination"]
    search_fields = ["id", "source__code", "destination__code", "lines__variant__sku"]
    inlines = [TransferLineInline, TransferEventInline]
    actions = ["ship", "receive_in_full", "cancel"]

    def _run(self, request, queryset, service, verb: str):
        done = 0
        for transfer in queryset.order_by("id"):
            try:
                with transaction.atomic():
                    service(transfer_id=transfer.pk, actor_id=request.user.pk, note=f"{verb} in the admin")
                done += 1
            except DomainError as error:
                logger.warning("Admin action on transfer %s by user %s failed: %s", transfer.pk, request.user.pk, error.code)
                self.message_user(request, f"Transfer {transfer.pk} was not {verb}: {error.message}", level=messages.ERROR)
        if done:
            self.message_user(request, f"{done} transfer(s) {verb}.", level=messages.SUCCESS)

    @admin.action(description="Ship the selected draft transfers")
    def ship(self, request, queryset):
        self._run(request, queryset, services.transfer_ship, "shipped")

    @admin.action(description="Receive the selected transfers in full")
    def receive_in_full(self, request, queryset):
        self._run(request, queryset, services.transfer_receive, "received")

    @admin.action(description="Cancel the selected draft transfers")
    def cancel(self, request, queryset):
        self._run(request, queryset, services.transfer_cancel, "cancelled")


class CycleCountLineInline(ReadOnlyMixin, admin.TabularInline):
    model = CycleCountLine
    fields = ["variant", "expected", "counted", "difference"]
    readonly_fields = fields
    extra = 0


@admin.register(CycleCount)
class CycleCountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "location", "counted_by", "created_at"]
    list_filter = ["location"]
    inlines = [CycleCountLineInline]
