from django.urls import path

from . import api

urlpatterns = [
    path("products/", api.ProductListView.as_view(), name="catalog-product-list"),
    path("products/<int:product_id>/", api.ProductDetailView.as_view(), name="catalog-product-detail"),
    path("products/<int:product_id>/variants/", api.ProductVariantCreateView.as_view(), name="catalog-product-variant-create"),
    path("variants/", api.VariantListView.as_view(), name="catalog-variant-list"),
    path("variants/by-sku/<path:sku>/", api.VariantBySkuView.as_view(), name="catalog-variant-by-sku"),
    path("variants/by-barcode/<str:code>/", api.VariantByBarcodeView.as_view(), name="catalog-variant-by-barcode"),
    path("variants/<int:variant_id>/", api.VariantDetailView.as_view(), name="catalog-variant-detail"),
    path("variants/<int:variant_id>/barcodes/", api.VariantBarcodeAddView.as_view(), name="catalog-variant-barcode-add"),
    path("variants/<int:variant_id>/prices/<slug:channel_code>/", api.VariantPriceSetView.as_view(), name="catalog-variant-price-set"),
    path("categories/", api.CategoryTreeView.as_view(), name="catalog-category-tree"),
    path("brands/", api.BrandListView.as_view(), name="catalog-brand-list"),
]
