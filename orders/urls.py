from django.urls import path

from . import api, cart_api

urlpatterns = [
    path("orders/", api.OrderListCreateView.as_view(), name="order-list"),
    path("orders/<str:number>/", api.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", api.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<str:number>/ship/", api.OrderShipView.as_view(), name="order-ship"),
    path("orders/<str:number>/complete/", api.OrderCompleteView.as_view(), name="order-complete"),
    path("register-sales/", api.RegisterSaleCreateView.as_view(), name="register-sale-create"),
    path("customers/<int:customer_id>/orders/", api.CustomerOrderListView.as_view(), name="customer-orders"),
    path("carts/", cart_api.CartCreateView.as_view(), name="cart-create"),
    path("carts/<str:token>/", cart_api.CartDetailView.as_view(), name="cart-detail"),
    path("carts/<str:token>/lines/", cart_api.CartLineListView.as_view(), name="cart-lines"),
    path("carts/<str:token>/lines/<int:line_id>/", cart_api.CartLineDetailView.as_view(), name="cart-line-detail"),
    path("carts/<str:token>/customer/", cart_api.CartCustomerView.as_view(), name="cart-customer"),
    path("carts/<str:token>/coupons/", cart_api.CartCouponListView.as_view(), name="cart-coupons"),
    path("carts/<str:token>/coupons/<str:code>/", cart_api.CartCouponDetailView.as_view(), name="cart-coupon-detail"),
    path("carts/<str:token>/shipping/", cart_api.CartShippingView.as_view(), name="cart-shipping"),
    path("carts/<str:token>/pickup/", cart_api.CartPickupView.as_view(), name="cart-pickup"),
    path("carts/<str:token>/checkout/", cart_api.CartCheckoutView.as_view(), name="cart-checkout"),
]
