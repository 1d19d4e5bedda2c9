from django.urls import path

from . import api

urlpatterns = [
    path("orders/", api.OrderListCreateView.as_view(), name="order-list"),
    path("orders/<str:number>/", api.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", api.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<str:number>/ship/", api.OrderShipView.as_view(), name="order-ship"),
    path("orders/<str:number>/complete/", api.OrderCompleteView.as_view(), name="order-complete"),
    path("register-sales/", api.RegisterSaleCreateView.as_view(), name="register-sale-create"),
    path("customers/<int:customer_id>/orders/", api.CustomerOrderListView.as_view(), name="customer-orders"),
]
