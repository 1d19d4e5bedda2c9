from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from commerce.errors import DomainError

from . import services
from .models import Address, ConsentEvent, ConsentSource, Customer, CustomerIdentity, WishList, WishListItem
from .normalization import identity_normalize


class CustomerIdentityForm(forms.ModelForm):
    class Meta:
        model = CustomerIdentity
        fields = ["kind", "value", "is_primary"]

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind and value:
            try:
                cleaned["value"] = identity_normalize(kind, value, field="value")
            except DomainError as error:
                self.add_error("value", error.message)
        return cleaned


class CustomerIdentityFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        primary_kinds = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("is_primary") and not data.get("DELETE"):
                primary_kinds.append(data.get("kind"))
        repeated = sorted({kind for kind in primary_kinds if primary_kinds.count(kind) > 1})
        if repeated:
            raise forms.ValidationError(f"Mark only one identity of each kind as primary (repeated: {', '.join(repeated)}).")


class CustomerIdentityInline(admin.TabularInline):
    model = CustomerIdentity
    form = CustomerIdentityForm
    formset = CustomerIdentityFormSet
    extra = 0
    fields = ["kind", "value", "is_primary", "created_at"]
    readonly_fields = ["created_at"]


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = [
        ("name", "company"), "line1", "line2", ("city", "region", "postal_code", "country"), "phone",
        ("is_default_shipping", "is_default_billing"),
    ]


class ConsentEventInline(admin.TabularInline):
    """Consent history: new rows may be added, recorded rows are never changed or deleted."""

    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ["channel", "granted", "source", "occurred_at", "text", "recorded_by"]
    readonly_fields = ["recorded_by"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["source"].initial = ConsentSource.ADMIN
        formset.form.base_fields["occurred_at"].initial = timezone.now
        return formset


class WishListInline(admin.TabularInline):
    model = WishList
    extra = 0
    fields = ["name", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "first_name", "last_name", "email", "phone", "merged_into", "created_at"]
    list_filter = [("merged_into", admin.EmptyFieldListFilter)]
    search_fields = ["first_name", "last_name", "email", "phone", "identities__value"]
    readonly_fields = ["email", "phone", "external_id", "merged_into", "merged_at", "created_at", "updated_at"]
    fields = ["first_name", "last_name", "email", "phone", "external_id", "merged_into", "merged_at", "created_at", "updated_at"]
    inlines = [CustomerIdentityInline, AddressInline, ConsentEventInline, WishListInline]
    actions = ["merge_into_oldest"]

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return queryset, True if search_term else may_have_duplicates

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, ConsentEvent) and instance.pk is None:
                instance.recorded_by = request.user
        for obj in formset.deleted_objects:
            obj.delete()
        for instance in instances:
            instance.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.customer_mirror_primary_identities(customer_id=form.instance.pk)

    @admin.action(description="Merge the selected profiles into the oldest one")
    def merge_into_oldest(self, request, queryset):
        customers = list(queryset.order_by("created_at", "id"))
        if len(customers) < 2:
            self.message_user(request, "Select at least two profiles of the same person to merge.", messages.WARNING)
            return
        kept = customers[0]
        for merged in customers[1:]:
            try:
                services.customer_merge(kept_customer_id=kept.pk, merged_customer_id=merged.pk, actor=request.user, reason="Merged in the admin")
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
                return
        self.message_user(request, f"Merged {len(customers) - 1} profile(s) into customer {kept.pk}.", messages.SUCCESS)


class WishListItemInline(admin.TabularInline):
    model = WishListItem
    extra = 0
    raw_id_fields = ["variant"]
    fields = ["variant", "note", "added_at"]
    readonly_fields = ["added_at"]


@admin.register(WishList)
class WishListAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "customer", "updated_at"]
    search_fields = ["name", "customer__email", "customer__last_name", "customer__identities__value"]
    raw_id_fields = ["customer"]
    inlines = [WishListItemInline]
