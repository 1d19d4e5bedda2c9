from django.urls import path

from .api import quote, staff

urlpatterns = [
    path("pricing/quote/", quote.QuoteView.as_view(), name="pricing-quote"),
    path("pricing/price-lists/", staff.PriceListListView.as_view(), name="pricing-price-list-list"),
    path("pricing/price-lists/<int:price_list_id>/", staff.PriceListDetailView.as_view(), name="pricing-price-list-detail"),
    path("pricing/promotions/", staff.PromotionListView.as_view(), name="pricing-promotion-list"),
    path("pricing/promotions/<int:promotion_id>/", staff.PromotionDetailView.as_view(), name="pricing-promotion-detail"),
    path("pricing/coupons/", staff.CouponListView.as_view(), name="pricing-coupon-list"),
    path("pricing/tax-regions/", staff.TaxRegionListView.as_view(), name="pricing-tax-region-list"),
    path("pricing/tax-rates/", staff.TaxRateListView.as_view(), name="pricing-tax-rate-list"),
]
