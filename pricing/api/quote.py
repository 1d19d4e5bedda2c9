"""POST /pricing/quote/: price a basket with the engine and return the full breakdown.

Callers: the register (cashiers and store managers, at their own store) and the storefront (an API key
with carts:write). Nothing is written, so the same basket priced twice gives the same result.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.access import AccessPolicy, Rule, allowed_location_ids, check_location
from commerce.errors import ValidationFailed
from commerce.fields import QuantityField
from commerce.models import Role, Scope

from ..basket import Address, Basket, BasketLine
from ..engine import price_basket
from ..selectors import pricing_context_load

MAX_LINES = 500
MAX_COUPONS = 10


class QuoteLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField()


class ShippingRegionSerializer(serializers.Serializer):
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. US.")
    state = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class QuoteRequestSerializer(serializers.Serializer):
    channel = serializers.SlugField(max_length=32, help_text="Channel code, e.g. pos or web.")
    lines = QuoteLineSerializer(many=True, max_length=MAX_LINES)
    store_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="The store the sale happens at.")
    pickup_store_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    customer_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    coupon_codes = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list, max_length=MAX_COUPONS)
    shipping_address = ShippingRegionSerializer(required=False, allow_null=True)
    shipping_amount = serializers.CharField(required=False, default="0.00", help_text="Decimal string in the channel currency.")


class LineDiscountSerializer(serializers.Serializer):
    promotion_id = serializers.IntegerField()
    promotion_name = serializers.CharField()
    coupon_code = serializers.CharField(allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class LineTaxSerializer(serializers.Serializer):
    rate_id = serializers.IntegerField()
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=7, decimal_places=4)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class PricedLineSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    price_source = serializers.ChoiceField(choices=["base", "price_list", "override"])
    price_list_id = serializers.IntegerField(allow_null=True)
    price_list_name = serializers.CharField(allow_null=True)
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    discounts = LineDiscountSerializer(many=True)
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    taxes = LineTaxSerializer(many=True)
    tax_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_before_tax = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class PromotionOutcomeSerializer(serializers.Serializer):
    promotion_id = serializers.IntegerField()
    name = serializers.CharField()
    applied = serializers.BooleanField()
    reason = serializers.CharField()
    message = serializers.CharField()
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    coupon_code = serializers.CharField(allow_null=True)


class TaxTotalSerializer(serializers.Serializer):
    rate_id = serializers.IntegerField()
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=7, decimal_places=4)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class PricedBasketSerializer(serializers.Serializer):
    currency = serializers.CharField()
    prices_include_tax = serializers.BooleanField()
    lines = PricedLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    taxes = TaxTotalSerializer(many=True)
    tax_region_code = serializers.CharField(allow_null=True)
    tax_rounding = serializers.CharField(allow_null=True)
    tax_exemption_reference = serializers.CharField(allow_null=True)
    promotions = PromotionOutcomeSerializer(many=True)
    coupon_codes = serializers.ListField(child=serializers.CharField())


class QuoteView(APIView):
    """Price a basket: per line the unit price and its price list, discounts, taxes and totals, and for every
    live promotion whether it applied and why."""

    permission_classes = [AccessPolicy]
    access = {"POST": Rule(scope=Scope.CARTS_WRITE, roles=frozenset({Role.CASHIER, Role.STORE_MANAGER}))}

    @extend_schema(request=QuoteRequestSerializer, responses=PricedBasketSerializer)
    def post(self, request):
        serializer = QuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        store_id = data.get("store_id")
        if allowed_location_ids(request) is not None:
            if store_id is None:
                raise ValidationFailed(
                    "store_id is missing: a register quote must name the store the sale happens at.",
                    code="required",
                    fields={"store_id": ["Required for store staff."]},
                )
            check_location(request, store_id)

        address = data.get("shipping_address")
        basket = Basket(
            channel=data["channel"],
            lines=tuple(BasketLine(sku=line["sku"], quantity=line["quantity"]) for line in data["lines"]),
            store_id=store_id,
            customer_id=data.get("customer_id"),
            coupon_codes=tuple(data["coupon_codes"]),
            shipping_address=Address(country=address["country"], state=address["state"]) if address else None,
            pickup_store_id=data.get("pickup_store_id"),
            shipping_amount=data["shipping_amount"],
        )
        priced = price_basket(basket, pricing_context_load(basket))
        return Response(PricedBasketSerializer(priced).data)
