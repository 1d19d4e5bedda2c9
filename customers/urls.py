from django.urls import path

from . import api

urlpatterns = [
    path("customers/", api.CustomerListCreateView.as_view(), name="customers-customer-list"),
    path("customers/lookup/", api.CustomerLookupView.as_view(), name="customers-customer-lookup"),
    path("customers/<int:customer_id>/", api.CustomerDetailView.as_view(), name="customers-customer-detail"),
    path("customers/<int:customer_id>/merge/", api.CustomerMergeView.as_view(), name="customers-customer-merge"),
    path("customers/<int:customer_id>/identities/", api.CustomerIdentityCreateView.as_view(), name="customers-identity-create"),
    path(
        "customers/<int:customer_id>/identities/<int:identity_id>/",
        api.CustomerIdentityDetailView.as_view(),
        name="customers-identity-detail",
    ),
    path("customers/<int:customer_id>/addresses/", api.AddressCreateView.as_view(), name="customers-address-create"),
    path("customers/<int:customer_id>/addresses/<int:address_id>/", api.AddressDetailView.as_view(), name="customers-address-detail"),
    path("customers/<int:customer_id>/consents/", api.ConsentListCreateView.as_view(), name="customers-consent-list"),
    path("customers/<int:customer_id>/wish-lists/", api.WishListListCreateView.as_view(), name="customers-wish-list-list"),
    path(
        "customers/<int:customer_id>/wish-lists/<int:wish_list_id>/",
        api.WishListDetailView.as_view(),
        name="customers-wish-list-detail",
    ),
    path(
        "customers/<int:customer_id>/wish-lists/<int:wish_list_id>/items/",
        api.WishListItemCreateView.as_view(),
        name="customers-wish-list-item-create",
    ),
    path(
        "customers/<int:customer_id>/wish-lists/<int:wish_list_id>/items/<int:item_id>/",
        api.WishListItemDetailView.as_view(),
        name="customers-wish-list-item-detail",
    ),
]
