"""Orders over HTTP: web orders, register sales, order lists and details, and status changes."""

from decimal import Decimal, InvalidOperation

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from commerce.access import ALL_STAFF, AccessPolicy, Rule, allowed_location_ids, api_key_of, check_location, role_of
from commerce.errors import Forbidden, NotFound, ValidationFailed
from commerce.fields import MoneyField, QuantityField
from commerce.money import MAX_AMOUNT
from commerce.idempotency import idempotent
from commerce.models import Role, Scope
from customers.models import Customer
from inventory.models import Location

from .models import Order, OrderLine, OrderStatus
from .selectors import customer_order_list, order_get, order_list, order_number_is_plausible
from .services import MAX_ID, MAX_LINES, OrderLineInput, order_cancel, order_complete, order_place_web, order_record_register_sale, order_ship

HISTORICAL_LINE_FIELDS = ("unit_price", "discount_amount", "tax_amount", "line_total", "unit_cost")
MAX_COUPONS = 5
MAX_POINTS = 100_000_000


# Requests


class OrderMoneyField(MoneyField):
    """MoneyField that also rejects numbers too large to quantize (such as 1e308) with a 400."""

    def to_internal_value(self, data) -> Decimal:
        try:
            return super().to_internal_value(data)
        except InvalidOperation:
            raise serializers.ValidationError(f"{data!r} is larger than the maximum {MAX_AMOUNT}.", code="amount_too_large") from None


class OrderLineRequestSerializer(serializers.Serializer):
    sku = serializers.CharField(required=False, max_length=64)
    variant = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="A variant id, instead of sku.")
    quantity = QuantityField()
    expected_unit_price = OrderMoneyField(required=False, help_text="The unit price the customer saw; a different current price fails with price_changed.")
    unit_price = OrderMoneyField(required=False, help_text="Imports only (administrators): the historical unit price.")
    discount_amount = OrderMoneyField(required=False, help_text="Imports only: the historical discount of the line.")
    tax_amount = OrderMoneyField(required=False, help_text="Imports only: the historical tax of the line, included in line_total.")
    line_total = OrderMoneyField(required=False, help_text="Imports only: quantity x unit price - discount + tax, as charged.")
    unit_cost = serializers.DecimalField(required=False, max_digits=14, decimal_places=4, min_value=0, help_text="Imports only: the unit cost at sale time.")

    def validate(self, attrs):
        if ("sku" in attrs) == ("variant" in attrs):
            raise serializers.ValidationError({"sku": "Send exactly one of sku or variant."})
        return attrs


class CustomerReferenceSerializer(serializers.Serializer):
    """A customer by id, or by identity (found, or created when no customer has the identity yet)."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    email = serializers.CharField(required=False, max_length=254)
    phone = serializers.CharField(required=False, max_length=40)
    external_id = serializers.CharField(required=False, max_length=100)
    card_number = serializers.CharField(required=False, max_length=64)
    first_name = serializers.CharField(required=False, max_length=100, allow_blank=True)
    last_name = serializers.CharField(required=False, max_length=100, allow_blank=True)

    def validate(self, attrs):
        identities = {"email", "phone", "external_id", "card_number"} & set(attrs)
        if "id" in attrs and identities:
            raise serializers.ValidationError({"id": "Send either id or identities (email, phone, card_number, external_id), not both."})
        if "id" not in attrs and not identities:
            raise serializers.ValidationError({"id": "Send id, or at least one of email, phone, card_number or external_id."})
        return attrs


class OrderRequestSerializer(serializers.Serializer):
    lines = OrderLineRequestSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    customer = CustomerReferenceSerializer(required=False)
    external_ref = serializers.CharField(required=False, max_length=100, allow_blank=True, help_text="The order's id in the calling system; unique per channel.")
    placed_at = serializers.DateTimeField(required=False, help_text="Imports only (administrators); defaults to now.")
    source = serializers.CharField(required=False, max_length=20, help_text="Imports only (administrators), e.g. replay.")


class WebOrderRequestSerializer(OrderRequestSerializer):
    shipping_total = OrderMoneyField(required=False)


class RegisterSaleRequestSerializer(OrderRequestSerializer):
    location = serializers.SlugField(max_length=50, help_text="The code of the store where the sale was made.")
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=MAX_COUPONS,
        help_text="Coupons the customer presented; each is redeemed once with the sale.",
    )
    loyalty_points = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_POINTS,
        help_text="Loyalty points the customer spends as a tender, capped at what the sale is worth in points.",
    )
    external_ref = serializers.CharField(required=False, max_length=100, allow_blank=True, help_text="The register's UUID for the sale: a second sync of it returns the first order.")
    placed_at = serializers.DateTimeField(required=False, help_text="When the register made the sale (offline sales sync later); defaults to now.")


class StatusChangeRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, max_length=500, allow_blank=True)


# Responses


class OrderLineDiscountSerializer(serializers.Serializer):
    promotion_id = serializers.IntegerField(allow_null=True)
    promotion_name = serializers.CharField()
    coupon_code = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class OrderLineTaxSerializer(serializers.Serializer):
    tax_rate_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=7, decimal_places=4)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class OrderTenderSerializer(serializers.Serializer):
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    points = serializers.IntegerField(allow_null=True)


class OrderLineSerializer(serializers.Serializer):
    line_number = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    location = serializers.CharField(source="location.code")
    discounts = OrderLineDiscountSerializer(many=True, source="discounts.all")
    taxes = OrderLineTaxSerializer(many=True, source="taxes.all")


class StatusChangeSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField()
    actor = serializers.SerializerMethodField()
    api_key = serializers.SerializerMethodField()
    at = serializers.DateTimeField(source="created_at")

    def get_actor(self, change) -> str | None:
        return change.actor.get_username() if change.actor_id else None

    def get_api_key(self, change) -> str | None:
        return change.api_key.prefix if change.api_key_id else None


class ShippingAddressSerializer(serializers.Serializer):
    country = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()


def shipping_address_body(order: Order) -> dict | None:
    if not order.shipping_country:
        return None
    return {"country": order.shipping_country, "region": order.shipping_region, "postal_code": order.shipping_postal_code}


class OrderSummarySerializer(serializers.Serializer):
    number = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    status = serializers.CharField()
    location = serializers.SerializerMethodField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    shipping_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    external_ref = serializers.CharField()
    source = serializers.CharField()
    placed_at = serializers.DateTimeField()
    pickup_location = serializers.SerializerMethodField(help_text="The store the customer collects the order at, if any.")
    shipping_address = serializers.SerializerMethodField(help_text="Where the order ships, if it ships.")

    def get_location(self, order) -> str | None:
        return order.location.code if order.location_id else None

    def get_pickup_location(self, order) -> str | None:
        return order.pickup_location.code if order.pickup_location_id else None

    @extend_schema_field(ShippingAddressSerializer(allow_null=True))
    def get_shipping_address(self, order) -> dict | None:
        return shipping_address_body(order)


class OrderSerializer(OrderSummarySerializer):
    lines = OrderLineSerializer(many=True, source="lines.all")
    tenders = OrderTenderSerializer(many=True, source="tenders.all")
    status_history = StatusChangeSerializer(many=True, source="status_changes.all")


# Views


def _actor_and_key(request) -> dict:
    api_key = api_key_of(request)
    return {"actor": None if api_key else request.user, "api_key": api_key}


def _line_inputs(lines: list[dict]) -> list[OrderLineInput]:
    return [
        OrderLineInput(
            quantity=line["quantity"], sku=line.get("sku", ""), variant_id=line.get("variant"),
            expected_unit_price=line.get("expected_unit_price"), unit_price=line.get("unit_price"),
            discount_amount=line.get("discount_amount"), tax_amount=line.get("tax_amount"), line_total=line.get("line_total"),
            unit_cost=line.get("unit_cost"),
        )
        for line in lines
    ]


def _customer_arguments(data: dict) -> dict:
    customer = dict(data.get("customer") or {})
    if "id" in customer:
        return {"customer_id": customer["id"]}
    return {"customer_identity": customer or None}


def _reject_import_fields(request, data: dict, *, fields: tuple[str, ...]) -> None:
    """Only administrators may give historical prices, times or sources (imports); others get 403."""
    if role_of(request.user) == Role.ADMINISTRATOR:
        return
    used = [name for name in fields if name in data]
    used += sorted({f"lines.{name}" for line in data["lines"] for name in HISTORICAL_LINE_FIELDS if name in line})
    if used:
        raise Forbidden(
            f"Only administrators may send {', '.join(used)} (historical imports): leave them out and the current prices apply.",
            code="import_fields_forbidden", fields={name: ["Administrators only."] for name in used},
        )


def _timestamp(value) -> str:
    text = timezone.localtime(value, timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def order_body(order: Order) -> dict:
    """Build the OrderSerializer representation of an order from plain dicts.

    The response to a new order is built while its stock rows are still locked (the idempotency
    record stores it in the same transaction), so it must be cheap: this takes about a tenth of the
    serializer's time. tests/orders/test_api.py checks that both give the same body.
    """
    return {
        "number": order.number,
        "channel": order.channel.code,
        "status": order.status,
        "location": order.location.code if order.location_id else None,
        "customer": order.customer_id,
        "currency": order.currency,
        "subtotal": str(order.subtotal),
        "discount_total": str(order.discount_total),
        "shipping_total": str(order.shipping_total),
        "tax_total": str(order.tax_total),
        "total": str(order.total),
        "external_ref": order.external_ref,
        "source": order.source,
        "placed_at": _timestamp(order.placed_at),
        "pickup_location": order.pickup_location.code if order.pickup_location_id else None,
        "shipping_address": shipping_address_body(order),
        "lines": [
            {
                "line_number": line.line_number, "sku": line.sku, "name": line.name, "quantity": line.quantity,
                "unit_price": str(line.unit_price), "discount_amount": str(line.discount_amount),
                "tax_amount": str(line.tax_amount), "line_total": str(line.line_total), "location": line.location.code,
                "discounts": [
                    {"promotion_id": discount.promotion_id, "promotion_name": discount.promotion_name,
                     "coupon_code": discount.coupon_code, "amount": str(discount.amount)}
                    for discount in line.discounts.all()
                ],
                "taxes": [
                    {"tax_rate_id": tax.tax_rate_id, "name": tax.name, "rate": f"{tax.rate:.4f}", "amount": str(tax.amount)}
                    for tax in line.taxes.all()
                ],
            }
            for line in order.lines.all()
        ],
        "status_history": [
            {
                "from_status": change.from_status, "to_status": change.to_status, "reason": change.reason,
                "actor": change.actor.get_username() if change.actor_id else None,
                "api_key": change.api_key.prefix if change.api_key_id else None,
                "at": _timestamp(change.created_at),
            }
            for change in order.status_changes.all()
        ],
        "tenders": [
            {"kind": tender.kind, "amount": str(tender.amount), "points": tender.points}
            for tender in order.tenders.all()
        ],
    }


def _order_response(order: Order, created: bool) -> Response:
    if not created:
        # An order placed earlier comes back without its lines loaded: read it with all its details at once.
        order = order_get(number=order.number, location_ids=None)
    return Response(order_body(order), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderFilter(django_filters.FilterSet):
    channel = django_filters.CharFilter(field_name="channel__code")
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    location = django_filters.CharFilter(method="filter_location", help_text="The code of a location that sells or ships the order.")
    customer = django_filters.NumberFilter(field_name="customer_id")
    placed_after = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    number = django_filters.CharFilter(field_name="number")

    class Meta:
        model = Order
        fields = ["channel", "status", "location", "customer", "placed_after", "placed_before", "number"]

    def filter_location(self, queryset, name, value):
        # A web order whose lines ship from several locations has none of its own: match its lines too.
        ships_from_there = Exists(OrderLine.objects.filter(order=OuterRef("pk"), location__code=value))
        return queryset.filter(Q(location__code=value) | ships_from_there)


class OrderListCreateView(ListAPIView):
    """Web orders in (POST), and the orders a caller may see (GET)."""

    permission_classes = [AccessPolicy]
    access = {
        "GET": Rule(scope=Scope.ORDERS_READ, roles=ALL_STAFF),
        "POST": Rule(scope=Scope.ORDERS_WRITE, roles=frozenset({Role.ADMINISTRATOR})),
    }
    serializer_class = OrderSummarySerializer
    filterset_class = OrderFilter

    def get_queryset(self):
        # API keys read web orders only; location-bound staff read the orders of their locations.
        return order_list(location_ids=allowed_location_ids(self.request), web_only=api_key_of(self.request) is not None)

    @extend_schema(request=WebOrderRequestSerializer, responses={201: OrderSerializer, 200: OrderSerializer})
    @idempotent
    def post(self, request):
        serializer = WebOrderRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _reject_import_fields(request, data, fields=("placed_at", "source"))
        order, created = order_place_web(
            lines=_line_inputs(data["lines"]),
            shipping_total=data.get("shipping_total", "0"),
            external_ref=data.get("external_ref", ""),
            placed_at=data.get("placed_at"),
            source=data.get("source", "api"),
            **_customer_arguments(data),
            **_actor_and_key(request),
        )
        return _order_response(order, created)


class RegisterSaleCreateView(GenericAPIView):
    """A sale made at a store's register, recorded as a completed order."""

    permission_classes = [AccessPolicy]
    access = {"POST": Rule(roles=frozenset({Role.CASHIER, Role.STORE_MANAGER}))}
    serializer_class = RegisterSaleRequestSerializer

    @extend_schema(request=RegisterSaleRequestSerializer, responses={201: OrderSerializer, 200: OrderSerializer})
    @idempotent
    def post(self, request):
        serializer = RegisterSaleRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _reject_import_fields(request, data, fields=("source",))
        location = Location.objects.filter(code=data["location"]).only("id", "code").first()
        if location is None:
            raise ValidationFailed(f"Location {data['location']} does not exist: send the code of a store.",
                                   code="location_not_found", fields={"location": ["Unknown."]})
        check_location(request, location.pk, label=location.code)
        order, created = order_record_register_sale(
            location_id=location.pk,
            lines=_line_inputs(data["lines"]),
            external_ref=data.get("external_ref", ""),
            placed_at=data.get("placed_at"),
            source=data.get("source", "register"),
            coupon_codes=data["coupon_codes"],
            loyalty_points=data.get("loyalty_points"),
            **_customer_arguments(data),
            **_actor_and_key(request),
        )
        return _order_response(order, created)


class OrderDetailView(GenericAPIView):
    """One order with its lines and status history."""

    permission_classes = [AccessPolicy]
    access = {"GET": Rule(scope=Scope.ORDERS_READ, roles=ALL_STAFF)}
    serializer_class = OrderSerializer

    def get(self, request, number: str):
        order = order_get(number=number, location_ids=allowed_location_ids(request), web_only=api_key_of(request) is not None)
        if order is None:
            raise NotFound(f"Order {number} does not exist or is not visible to you.", code="order_not_found")
        return Response(OrderSerializer(order).data)


class OrderTransitionView(GenericAPIView):
    """Base of the views that move an order along its state machine."""

    permission_classes = [AccessPolicy]
    serializer_class = StatusChangeRequestSerializer
    transition = staticmethod(order_cancel)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Before the idempotency block, which stores the request path: a path with NUL cannot be stored.
        if not order_number_is_plausible(kwargs["number"]):
            raise NotFound(f"Order {kwargs['number']!r} does not exist.", code="order_not_found")

    def check_order(self, request, order: Order) -> None:
        """Staff act only on orders of their locations; API keys only on the web orders they placed."""
        api_key = api_key_of(request)
        if api_key is not None:
            if order.channel.code != "web" or order.api_key_id != api_key.pk:
                raise Forbidden(f"Order {order.number} was not placed with API key {api_key.prefix}: an API key may change only its own web orders.",
                                code="order_forbidden")
            return
        allowed = allowed_location_ids(request)
        if allowed is None:
            return
        locations = {line.location for line in order.lines.all()}
        if order.location_id:
            locations.add(order.location)
        if not {location.pk for location in locations} & allowed:
            codes = ", ".join(sorted(location.code for location in locations))
            raise Forbidden(f"You do not work at a location of order {order.number} ({codes}): ask a store manager there.",
                            code="location_forbidden")

    @extend_schema(request=StatusChangeRequestSerializer, responses={200: OrderSerializer})
    @idempotent
    def post(self, request, number: str):
        serializer = StatusChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_get(number=number, location_ids=None, web_only=api_key_of(request) is not None)
        if order is None:
            raise NotFound(f"Order {number} does not exist or is not visible to you.", code="order_not_found")
        self.check_order(request, order)
        type(self).transition(number=number, reason=serializer.validated_data.get("reason", ""), **_actor_and_key(request))
        return Response(OrderSerializer(order_get(number=number, location_ids=None)).data)


class OrderCancelView(OrderTransitionView):
    access = {"POST": Rule(scope=Scope.ORDERS_WRITE, roles=frozenset({Role.STORE_MANAGER}))}
    transition = staticmethod(order_cancel)


class OrderShipView(OrderTransitionView):
    access = {"POST": Rule(roles=frozenset({Role.STORE_MANAGER, Role.FULFILLMENT_ASSOCIATE}))}
    transition = staticmethod(order_ship)


class OrderCompleteView(OrderTransitionView):
    access = {"POST": Rule(roles=frozenset({Role.STORE_MANAGER}))}
    transition = staticmethod(order_complete)


class CustomerOrderListView(ListAPIView):
    """A customer's purchase history across every channel (staff; store staff see their locations' orders)."""

    permission_classes = [AccessPolicy]
    access = {"GET": Rule(roles=ALL_STAFF)}
    serializer_class = OrderSummarySerializer
    filter_backends = []

    def get_queryset(self):
        customer_id = self.kwargs["customer_id"]
        if customer_id > MAX_ID or not Customer.objects.filter(pk=customer_id).exists():
            raise NotFound(f"Customer {customer_id} does not exist.", code="customer_not_found")
        return customer_order_list(customer_id=customer_id, location_ids=allowed_location_ids(self.request))

