"""Django admin for pricing set-up. Forms run the same checks as pricing.services, so the admin accepts
nothing the API would reject."""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from commerce.errors import DomainError
from inventory.models import Location

from . import services
from .engine import normalize_coupon_code
from .models import (
    Coupon,
    CouponRedemption,
    CustomerGroup,
    LocationTaxRegion,
    PriceList,
    PriceListItem,
    Promotion,
    TaxExemption,
    TaxRate,
    TaxRegion,
)


def _as_form_error(error: DomainError) -> forms.ValidationError:
    return forms.ValidationError(error.message, code=error.code)


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    raw_id_fields = ["members"]


class PriceListForm(forms.ModelForm):
    class Meta:
        model = PriceList
        fields = ["name", "channel", "location", "customer_group", "starts_at", "ends_at", "priority", "is_active"]

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            raise forms.ValidationError(f"The end {ends_at} is not after the start {starts_at}: set a later end or leave it empty.")
        location = cleaned.get("location")
        if location is not None and location.kind != Location.STORE:
            self.add_error("location", f"{location.code} is a {location.kind}, not a store: price lists target stores.")
        return cleaned


class PriceListItemFormSet(BaseInlineFormSet):
    """Check each amount like the service does, then the overlap rule against the list being saved."""

    def clean(self):
        super().clean()
        price_list = self.instance
        if price_list.channel_id is None:
            return
        currency = price_list.channel.currency
        amounts = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            variant, amount = form.cleaned_data.get("variant"), form.cleaned_data.get("amount")
            if variant is None or amount is None:
                continue
            try:
                amounts[variant.id] = services.price_parse(str(amount), field=f"price of {variant.sku}", currency=currency)
            except DomainError as error:
                form.add_error("amount", _as_form_error(error))
        if price_list.is_active and amounts:
            try:
                services.price_list_overlap_check(
                    price_list_id=price_list.pk,
                    name=price_list.name,
                    channel_id=price_list.channel_id,
                    location_id=price_list.location_id,
                    customer_group_id=price_list.customer_group_id,
                    starts_at=price_list.starts_at,
                    ends_at=price_list.ends_at,
                    priority=price_list.priority,
                    amounts=amounts,
                )
            except DomainError as error:
                raise _as_form_error(error) from None


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    formset = PriceListItemFormSet
    raw_id_fields = ["variant"]
    extra = 1


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    form = PriceListForm
    inlines = [PriceListItemInline]
    list_display = ["name", "channel", "location", "customer_group", "starts_at", "ends_at", "priority", "is_active"]
    list_filter = ["channel", "is_active"]
    search_fields = ["name"]


class PromotionForm(forms.ModelForm):
    class Meta:
        model = Promotion
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        channels = cleaned.get("channels") or []
        currencies = {channel.currency for channel in channels}
        currency = currencies.pop() if len(currencies) == 1 else "USD"
        try:
            services.promotion_rule_check(
                name=cleaned.get("name") or "",
                kind=cleaned.get("kind") or "",
                scope=cleaned.get("scope") or "",
                value=str(cleaned.get("value", "0")),
                currency=currency,
                buy_quantity=cleaned.get("buy_quantity") or 0,
                get_quantity=cleaned.get("get_quantity") or 0,
                get_percent=str(cleaned.get("get_percent", "100")),
                min_quantity=cleaned.get("min_quantity") or 0,
                min_subtotal=str(cleaned.get("min_subtotal", "0")),
                has_variants=bool(cleaned.get("variants")),
                has_categories=bool(cleaned.get("categories")),
                starts_at=cleaned.get("starts_at"),
                ends_at=cleaned.get("ends_at"),
            )
        except DomainError as error:
            raise _as_form_error(error) from None
        return cleaned


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionForm
    list_display = ["name", "kind", "scope", "value", "priority", "exclusive", "requires_coupon", "starts_at", "ends_at", "is_active"]
    list_filter = ["kind", "scope", "exclusive", "requires_coupon", "is_active"]
    search_fields = ["name"]
    raw_id_fields = ["variants"]
    filter_horizontal = ["categories", "channels", "locations"]


class CouponForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = ["code", "promotion", "usage_limit", "per_customer_limit", "is_active"]

    def clean_code(self):
        code = normalize_coupon_code(self.cleaned_data["code"])
        if not code or not all(character.isalnum() or character in "-_" for character in code):
            raise forms.ValidationError(f"Coupon code {code!r} is invalid: use letters, digits, '-' or '_'.")
        return code


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    form = CouponForm
    list_display = ["code", "promotion", "usage_limit", "per_customer_limit", "times_used", "is_active"]
    search_fields = ["code"]
    readonly_fields = ["times_used"]
    raw_id_fields = ["promotion"]


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(admin.ModelAdmin):
    """Read-only: redemptions change only through coupon_redeem and coupon_redemptions_release."""

    list_display = ["coupon", "order_reference", "customer", "created_at", "released_at"]
    search_fields = ["order_reference", "coupon__code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaxRegion)
class TaxRegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country", "state", "rounding"]
    search_fields = ["code", "name"]


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["region", "tax_class", "name", "rate", "effective_from", "effective_to"]

    def clean(self):
        cleaned = super().clean()
        if not all(cleaned.get(name) is not None for name in ("region", "tax_class", "name", "rate", "effective_from")):
            return cleaned
        try:
            services.tax_rate_check(
                rate_id=self.instance.pk,
                region=cleaned["region"],
                tax_class=cleaned["tax_class"],
                name=cleaned["name"],
                percent=str(cleaned["rate"]),
                effective_from=cleaned["effective_from"],
                effective_to=cleaned.get("effective_to"),
            )
        except DomainError as error:
            raise _as_form_error(error) from None
        return cleaned


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    form = TaxRateForm
    list_display = ["region", "tax_class", "name", "rate", "effective_from", "effective_to"]
    list_filter = ["region", "tax_class"]


@admin.register(LocationTaxRegion)
class LocationTaxRegionAdmin(admin.ModelAdmin):
    list_display = ["location", "region"]
    raw_id_fields = ["location"]


@admin.register(TaxExemption)
class TaxExemptionAdmin(admin.ModelAdmin):
    list_display = ["reference", "customer", "region", "valid_from", "valid_to", "is_active"]
    search_fields = ["reference"]
    raw_id_fields = ["customer"]
