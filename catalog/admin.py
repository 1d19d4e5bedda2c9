from django.contrib import admin

from .models import Barcode, Brand, Category, Channel, Product, TaxClass, Variant, VariantPrice


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ["sku", "name", "option_values", "unit_cost", "is_active", "needs_review"]
    extra = 0
    show_change_link = True


class BarcodeInline(admin.TabularInline):
    model = Barcode
    fields = ["gtin", "kind", "source"]
    extra = 0


class VariantPriceInline(admin.TabularInline):
    model = VariantPrice
    fields = ["channel", "amount"]
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "brand", "category", "source", "needs_review", "is_active", "updated_at"]
    list_filter = ["needs_review", "is_active", "source", "tax_class"]
    # "=" makes SKU and barcode exact matches, served by their unique indexes.
    search_fields = ["name", "=variants__sku", "=variants__barcodes__gtin", "=source_ref"]
    list_select_related = ["brand", "category"]
    raw_id_fields = ["brand", "category"]
    readonly_fields = ["source", "source_ref", "source_data", "created_at", "updated_at"]
    inlines = [VariantInline]
    show_full_result_count = False


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "product", "unit_cost", "needs_review", "is_active"]
    list_filter = ["needs_review", "is_active"]
    search_fields = ["=sku", "=barcodes__gtin", "name", "product__name"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [BarcodeInline, VariantPriceInline]
    show_full_result_count = False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "depth"]
    search_fields = ["path"]
    raw_id_fields = ["parent"]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(TaxClass)
class TaxClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "currency", "prices_include_tax"]
