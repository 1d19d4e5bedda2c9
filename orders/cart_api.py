"""Carts over HTTP: the storefront's basket and its checkout.

Callers: API keys with carts:write (the storefront) and administrators. Every response carries the
cart and its full priced basket from pricing.engine: unit prices, line discounts with the promotion
that gave them, taxes per line and per rate, totals, and why each live promotion applied or not.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.access import AccessPolicy, Rule, api_key_of
from commerce.fields import QuantityField
from commerce.idempotency import idempotent
from commerce.models import Role, Scope
from pricing.api.quote import PricedBasketSerializer

from . import cart_services
from .api import MAX_POINTS, CustomerReferenceSerializer, OrderMoneyField, OrderSerializer, _customer_arguments, order_body
from .cart_services import CartPricing, PriceChanged
from .models import Cart

CARTS = Rule(scope=Scope.CARTS_WRITE, roles=frozenset({Role.ADMINISTRATOR}))


# Requests


class CartCreateRequestSerializer(serializers.Serializer):
    customer = CustomerReferenceSerializer(required=False)


class CartLineAddRequestSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField()


class CartLineChangeRequestSerializer(serializers.Serializer):
    quantity = QuantityField()


class CouponRequestSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)


class ShippingRequestSerializer(serializers.Serializer):
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. US.")
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="", help_text="State or province code, e.g. TX.")
    postal_code = serializers.CharField(max_length=20)


class PickupRequestSerializer(serializers.Serializer):
    store = serializers.SlugField(max_length=50, help_text="The code of a store that offers pickup.")


class CheckoutRequestSerializer(serializers.Serializer):
    expected_total = OrderMoneyField(help_text="The total of the basket the customer was last shown; a different current total answers 409 price_changed.")
    loyalty_points = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_POINTS,
        help_text="Loyalty points to spend as a tender, capped at what the order total is worth in points.",
    )


# Responses


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class CouponProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    reason = serializers.CharField()
    message = serializers.CharField()


class DeliverySerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["shipping", "pickup"], allow_null=True)
    country = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    pickup_store = serializers.CharField(allow_null=True)


class CartSerializer(serializers.Serializer):
    token = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField()
    customer = serializers.IntegerField(allow_null=True)
    coupon_codes = serializers.ListField(child=serializers.CharField())
    delivery = DeliverySerializer()
    expires_at = serializers.DateTimeField()
    order = serializers.CharField(allow_null=True, help_text="The number of the order the cart became, once checked out.")
    lines = CartLineSerializer(many=True)
    basket = PricedBasketSerializer()
    coupon_problems = CouponProblemSerializer(many=True, help_text="Coupons on the cart that no longer apply and are left out of the basket.")


class CheckoutResponseSerializer(serializers.Serializer):
    cart = CartSerializer()
    order = OrderSerializer()


def cart_body(cart: Cart, pricing: CartPricing) -> dict:
    method = None
    if cart.shipping_country:
        method = "shipping"
    elif cart.pickup_location_id:
        method = "pickup"
    body = {
        "token": cart.token,
        "status": cart.status,
        "channel": cart.channel.code,
        "customer": cart.customer_id,
        "coupon_codes": list(cart.coupon_codes),
        "delivery": {
            "method": method, "country": cart.shipping_country, "region": cart.shipping_region,
            "postal_code": cart.shipping_postal_code,
            "pickup_store": cart.pickup_location.code if cart.pickup_location_id else None,
        },
        "expires_at": cart.expires_at,
        "order": cart.order.number if cart.order_id else None,
        "lines": [{"id": line.pk, "sku": line.variant.sku, "quantity": line.quantity} for line in cart.lines.select_related("variant").order_by("id")],
        "basket": pricing.basket,
        "coupon_problems": [problem.__dict__ for problem in pricing.coupon_problems],
    }
    return CartSerializer(body).data


def _cart_response(result: tuple[Cart, CartPricing], *, status_code: int = status.HTTP_200_OK) -> Response:
    cart, pricing = result
    return Response(cart_body(cart, pricing), status=status_code)


# Views


class CartView(APIView):
    permission_classes = [AccessPolicy]
    access = {"GET": CARTS, "POST": CARTS, "PUT": CARTS, "PATCH": CARTS, "DELETE": CARTS}


class CartCreateView(CartView):
    """Open a cart; the response's token names it in every later request."""

    @extend_schema(request=CartCreateRequestSerializer, responses={201: CartSerializer})
    def post(self, request):
        serializer = CartCreateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        arguments = _customer_arguments(serializer.validated_data) if "customer" in serializer.validated_data else {}
        api_key = api_key_of(request)
        result = cart_services.cart_create(**arguments, api_key=api_key, actor=None if api_key else request.user)
        return _cart_response(result, status_code=status.HTTP_201_CREATED)


class CartDetailView(CartView):
    """The cart, priced now."""

    @extend_schema(responses=CartSerializer)
    def get(self, request, token: str):
        return _cart_response(cart_services.cart_view(token=token))


class CartLineListView(CartView):
    """Add a SKU to the cart; units of a SKU already in it are added to its line."""

    @extend_schema(request=CartLineAddRequestSerializer, responses=CartSerializer)
    def post(self, request, token: str):
        serializer = CartLineAddRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return _cart_response(cart_services.cart_line_add(token=token, sku=data["sku"], quantity=data["quantity"]))


class CartLineDetailView(CartView):
    """Change the quantity of a line (PATCH) or remove it (DELETE)."""

    @extend_schema(request=CartLineChangeRequestSerializer, responses=CartSerializer)
    def patch(self, request, token: str, line_id: int):
        serializer = CartLineChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(cart_services.cart_line_set_quantity(token=token, line_id=line_id, quantity=serializer.validated_data["quantity"]))

    @extend_schema(responses=CartSerializer)
    def delete(self, request, token: str, line_id: int):
        return _cart_response(cart_services.cart_line_remove(token=token, line_id=line_id))


class CartCustomerView(CartView):
    """Set the cart's customer by id, or by identity (found, or created when new)."""

    @extend_schema(request=CustomerReferenceSerializer, responses=CartSerializer)
    def put(self, request, token: str):
        serializer = CustomerReferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(cart_services.cart_customer_set(token=token, **_customer_arguments({"customer": serializer.validated_data})))


class CartCouponListView(CartView):
    """Apply a coupon code."""

    @extend_schema(request=CouponRequestSerializer, responses=CartSerializer)
    def post(self, request, token: str):
        serializer = CouponRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(cart_services.cart_coupon_apply(token=token, code=serializer.validated_data["code"]))


class CartCouponDetailView(CartView):
    """Remove a coupon code."""

    @extend_schema(responses=CartSerializer)
    def delete(self, request, token: str, code: str):
        return _cart_response(cart_services.cart_coupon_remove(token=token, code=code))


class CartShippingView(CartView):
    """Ship the cart to an address; the flat shipping rate applies and tax follows the address."""

    @extend_schema(request=ShippingRequestSerializer, responses=CartSerializer)
    def put(self, request, token: str):
        serializer = ShippingRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(cart_services.cart_shipping_set(token=token, **serializer.validated_data))


class CartPickupView(CartView):
    """Collect the cart at a store that offers pickup."""

    @extend_schema(request=PickupRequestSerializer, responses=CartSerializer)
    def put(self, request, token: str):
        serializer = PickupRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(cart_services.cart_pickup_set(token=token, store_code=serializer.validated_data["store"]))


class CartCheckoutView(CartView):
    """Place the cart as a web order, at the prices last shown (Idempotency-Key required).

    A 409 price_changed carries the new priced basket under `basket`. The cart stores that basket as
    shown, so checking out again with its total places the order.
    """

    @extend_schema(request=CheckoutRequestSerializer, responses={201: CheckoutResponseSerializer})
    def post(self, request, token: str):
        serializer = CheckoutRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            # Before the idempotency block: a changed price must leave its new snapshot committed behind
            # the 409, and the block rolls back everything on an error.
            if request.headers.get("Idempotency-Key", "").strip():
                cart_services.cart_checkout_price_check(token=token, expected_total=serializer.validated_data["expected_total"])
            return self.place(request, token, serializer.validated_data)
        except PriceChanged as error:
            error.extra = {"basket": PricedBasketSerializer(error.priced_basket).data}
            raise

    @idempotent
    def place(self, request, token: str, data: dict) -> Response:
        api_key = api_key_of(request)
        cart, order = cart_services.cart_checkout(
            token=token, expected_total=data["expected_total"], loyalty_points=data.get("loyalty_points"),
            actor=None if api_key else request.user, api_key=api_key,
        )
        body = {"cart": cart_body(cart, CartPricing(basket=cart.priced_snapshot)), "order": order_body(order)}
        return Response(body, status=status.HTTP_201_CREATED)
