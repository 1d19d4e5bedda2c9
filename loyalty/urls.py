from django.urls import path

from . import api

urlpatterns = [
    path("loyalty/customers/<int:customer_id>/account/", api.AccountView.as_view(), name="loyalty-account"),
    path("loyalty/customers/<int:customer_id>/account/entries/", api.AccountEntriesView.as_view(), name="loyalty-account-entries"),
    path("loyalty/customers/<int:customer_id>/account/redeem-preview/", api.RedeemPreviewView.as_view(), name="loyalty-redeem-preview"),
    path("loyalty/customers/<int:customer_id>/account/redemptions/", api.RedemptionCreateView.as_view(), name="loyalty-redemption-create"),
]
