"""Customer API: counter lookup, search, profiles with identities, addresses, consent and wish lists, merging.

Reads: cashiers, store managers, administrators, finance, and API keys with customers:read.
Writes: cashiers, store managers, administrators, and API keys with customers:write.
Merging: store managers and administrators only, never API keys.
Customers are one profile across every channel and location, so these endpoints are not limited to
the locations of location-bound staff. A customer's orders are listed by the orders app at
/api/v1/customers/<id>/orders/, because orders is a higher layer than customers.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Variant
from commerce.access import AccessPolicy, Rule, api_key_of
from commerce.errors import NotFound, ValidationFailed
from commerce.models import Role, Scope

from . import selectors, services
from .models import Address, ConsentEvent, Customer, CustomerIdentity, IdentityKind, WishList, WishListItem
from .normalization import FIELD_NAMES

READ = Rule(scope=Scope.CUSTOMERS_READ, roles=frozenset({Role.CASHIER, Role.STORE_MANAGER, Role.ADMINISTRATOR, Role.FINANCE}))
WRITE = Rule(scope=Scope.CUSTOMERS_WRITE, roles=frozenset({Role.CASHIER, Role.STORE_MANAGER, Role.ADMINISTRATOR}))
MERGE = Rule(roles=frozenset({Role.STORE_MANAGER, Role.ADMINISTRATOR}))


# Serializers ---------------------------------------------------------------------------------------


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerIdentity
        fields = ["id", "kind", "value", "is_primary", "created_at"]


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id", "name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone",
            "is_default_shipping", "is_default_billing", "created_at", "updated_at",
        ]


class ConsentEventSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)

    class Meta:
        model = ConsentEvent
        fields = ["id", "channel", "granted", "source", "occurred_at", "text", "recorded_by", "created_at"]


class WishListItemSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    name = serializers.SerializerMethodField()

    class Meta:
        model = WishListItem
        fields = ["id", "variant_id", "sku", "name", "note", "added_at"]

    def get_name(self, item) -> str:
        return item.variant.name


class WishListSerializer(serializers.ModelSerializer):
    items = WishListItemSerializer(many=True)

    class Meta:
        model = WishList
        fields = ["id", "name", "items", "created_at", "updated_at"]


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "first_name", "last_name", "email", "phone", "external_id", "merged_into_id", "created_at"]


class CurrentConsentSerializer(serializers.Serializer):
    granted = serializers.BooleanField()
    source = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class ConsentsSerializer(serializers.Serializer):
    email = CurrentConsentSerializer(allow_null=True)
    sms = CurrentConsentSerializer(allow_null=True)


class CustomerDetailSerializer(serializers.ModelSerializer):
    identities = IdentitySerializer(many=True)
    addresses = AddressSerializer(many=True)
    consents = serializers.SerializerMethodField()
    wish_lists = WishListSerializer(many=True)

    class Meta:
        model = Customer
        fields = [
            "id", "first_name", "last_name", "email", "phone", "external_id", "merged_into_id", "merged_at",
            "identities", "addresses", "consents", "wish_lists", "created_at", "updated_at",
        ]

    @extend_schema_field(ConsentsSerializer)
    def get_consents(self, customer) -> dict:
        """Return the current consent per channel: {"email": {...} or null, "sms": {...} or null}."""
        current = selectors.consent_current(customer=customer)
        return {
            channel: ({"granted": event.granted, "source": event.source, "occurred_at": event.occurred_at} if event else None)
            for channel, event in current.items()
        }


class CustomerCreateSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=254)
    phone = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100)
    card_number = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)


class CustomerUpdateSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=254)
    phone = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)


class IdentityCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=254)
    is_primary = serializers.BooleanField(default=False)


class AddressWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    company = serializers.CharField(required=False, allow_blank=True)
    line1 = serializers.CharField(required=False)
    line2 = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False)
    region = serializers.CharField(required=False, allow_blank=True)
    postal_code = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False)
    phone = serializers.CharField(required=False, allow_blank=True)
    is_default_shipping = serializers.BooleanField(required=False)
    is_default_billing = serializers.BooleanField(required=False)


class ConsentCreateSerializer(serializers.Serializer):
    channel = serializers.CharField()
    granted = serializers.BooleanField()
    source = serializers.CharField()
    occurred_at = serializers.DateTimeField(required=False)
    text = serializers.CharField(required=False, allow_blank=True, max_length=500)


class WishListWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True)


class WishListItemCreateSerializer(serializers.Serializer):
    variant_id = serializers.IntegerField(required=False, min_value=1)
    sku = serializers.CharField(required=False, max_length=64)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class MergeSerializer(serializers.Serializer):
    merged_customer_id = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


# Helpers -------------------------------------------------------------------------------------------


def _valid(serializer_class, request, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _detail_response(customer_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    customer = selectors.customer_detail_queryset().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist: check the id.", code="customer_not_found")
    return Response(CustomerDetailSerializer(customer).data, status=status_code)


def _variant_from(data: dict) -> Variant:
    if data.get("variant_id"):
        variant = Variant.objects.filter(pk=data["variant_id"]).first()
        if variant is None:
            raise NotFound(
                f"Variant {data['variant_id']} does not exist: check the id.",
                code="variant_not_found",
                fields={"variant_id": ["Not found."]},
            )
        return variant
    if data.get("sku"):
        variant = Variant.objects.filter(sku=data["sku"].strip()).first()
        if variant is None:
            raise NotFound(f"No variant has the SKU {data['sku']!r}: check the SKU.", code="variant_not_found", fields={"sku": ["Not found."]})
        return variant
    raise ValidationFailed(
        "variant_id and sku are both missing: send one of them to name the variant to add.",
        code="invalid",
        fields={"variant_id": ["Send variant_id or sku."]},
    )


# Views ---------------------------------------------------------------------------------------------


class CustomerListCreateView(ListAPIView):
    """GET: search customers by name, e-mail, phone, card number or external id (`q`). POST: create a customer."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}
    serializer_class = CustomerSummarySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Part of a name, e-mail, phone or card number; at least 2 characters."),
            OpenApiParameter("include_merged", bool, description="Also list profiles merged into others."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        include_merged = self.request.query_params.get("include_merged", "").lower() in ("1", "true", "yes")
        return selectors.customer_list(search=self.request.query_params.get("q"), include_merged=include_merged)

    @extend_schema(request=CustomerCreateSerializer, responses={201: CustomerDetailSerializer})
    def post(self, request):
        data = _valid(CustomerCreateSerializer, request)
        customer = services.customer_create(**data)
        return _detail_response(customer.pk, status_code=status.HTTP_201_CREATED)


class CustomerLookupView(APIView):
    """Find the one customer with an e-mail, phone, loyalty card number or external id, normalised as stored."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}

    @extend_schema(
        parameters=[OpenApiParameter(field, str, required=False) for field in FIELD_NAMES.values()],
        responses=CustomerDetailSerializer,
    )
    def get(self, request):
        given = [(kind, field) for kind, field in FIELD_NAMES.items() if request.query_params.get(field, "").strip()]
        if len(given) != 1:
            names = ", ".join(FIELD_NAMES.values())
            raise ValidationFailed(
                f"Expected exactly one of {names} to look up a customer, got {len(given)}: send one.",
                code="lookup_needs_one_identity",
                fields={field: ["Send exactly one identity."] for _, field in given} or {"phone": ["Send exactly one identity."]},
            )
        kind, field = given[0]
        customer = selectors.customer_lookup(kind=kind, value=request.query_params[field])
        return _detail_response(customer.pk)


class CustomerDetailView(APIView):
    """GET: the profile with identities, addresses, current consent and wish lists. PATCH: change names and primary identities."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "PATCH": WRITE}

    @extend_schema(responses=CustomerDetailSerializer)
    def get(self, request, customer_id: int):
        return _detail_response(customer_id)

    @extend_schema(request=CustomerUpdateSerializer, responses=CustomerDetailSerializer)
    def patch(self, request, customer_id: int):
        data = _valid(CustomerUpdateSerializer, request, partial=True)
        services.customer_update(customer_id=customer_id, **data)
        return _detail_response(customer_id)


class CustomerIdentityCreateView(APIView):
    permission_classes = [AccessPolicy]
    access = {"POST": WRITE}

    @extend_schema(request=IdentityCreateSerializer, responses={201: IdentitySerializer})
    def post(self, request, customer_id: int):
        data = _valid(IdentityCreateSerializer, request)
        identity = services.customer_identity_add(
            customer_id=customer_id, kind=data["kind"], value=data["value"], make_primary=data["is_primary"]
        )
        return Response(IdentitySerializer(identity).data, status=status.HTTP_201_CREATED)


class CustomerIdentityDetailView(APIView):
    permission_classes = [AccessPolicy]
    access = {"DELETE": WRITE}

    @extend_schema(responses={204: None})
    def delete(self, request, customer_id: int, identity_id: int):
        services.customer_identity_remove(customer_id=customer_id, identity_id=identity_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddressCreateView(APIView):
    permission_classes = [AccessPolicy]
    access = {"POST": WRITE}

    @extend_schema(request=AddressWriteSerializer, responses={201: AddressSerializer})
    def post(self, request, customer_id: int):
        data = _valid(AddressWriteSerializer, request)
        address = services.address_create(customer_id=customer_id, values=data)
        return Response(AddressSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailView(APIView):
    permission_classes = [AccessPolicy]
    access = {"PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(request=AddressWriteSerializer, responses=AddressSerializer)
    def patch(self, request, customer_id: int, address_id: int):
        data = _valid(AddressWriteSerializer, request, partial=True)
        address = services.address_update(customer_id=customer_id, address_id=address_id, values=data)
        return Response(AddressSerializer(address).data)

    @extend_schema(responses={204: None})
    def delete(self, request, customer_id: int, address_id: int):
        services.address_delete(customer_id=customer_id, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConsentListCreateView(APIView):
    """GET: the whole consent history, oldest first. POST: record a grant or withdrawal."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}

    @extend_schema(responses=ConsentEventSerializer(many=True))
    def get(self, request, customer_id: int):
        customer = selectors.customer_get(customer_id=customer_id)
        events = ConsentEvent.objects.filter(customer=customer).select_related("recorded_by").order_by("occurred_at", "id")
        return Response(ConsentEventSerializer(events, many=True).data)

    @extend_schema(request=ConsentCreateSerializer, responses={201: ConsentEventSerializer})
    def post(self, request, customer_id: int):
        data = _valid(ConsentCreateSerializer, request)
        api_key = api_key_of(request)
        event = services.consent_record(
            customer_id=customer_id,
            channel=data["channel"],
            granted=data["granted"],
            source=data["source"],
            occurred_at=data.get("occurred_at"),
            text=data.get("text", ""),
            actor=None if api_key else request.user,
            api_key=api_key,
        )
        return Response(ConsentEventSerializer(event).data, status=status.HTTP_201_CREATED)


class WishListListCreateView(APIView):
    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}

    @extend_schema(responses=WishListSerializer(many=True))
    def get(self, request, customer_id: int):
        customer = selectors.customer_get(customer_id=customer_id)
        wish_lists = WishList.objects.filter(customer=customer).prefetch_related("items__variant")
        return Response(WishListSerializer(wish_lists, many=True).data)

    @extend_schema(request=WishListWriteSerializer, responses={201: WishListSerializer})
    def post(self, request, customer_id: int):
        data = _valid(WishListWriteSerializer, request)
        wish_list = services.wish_list_create(customer_id=customer_id, name=data["name"])
        return Response(WishListSerializer(wish_list).data, status=status.HTTP_201_CREATED)


class WishListDetailView(APIView):
    permission_classes = [AccessPolicy]
    access = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    def _get(self, customer_id: int, wish_list_id: int) -> WishList:
        wish_list = WishList.objects.filter(pk=wish_list_id, customer_id=customer_id).prefetch_related("items__variant").first()
        if wish_list is None:
            raise NotFound(
                f"Wish list {wish_list_id} does not belong to customer {customer_id}: list the customer's wish lists for valid ids.",
                code="wish_list_not_found",
            )
        return wish_list

    @extend_schema(responses=WishListSerializer)
    def get(self, request, customer_id: int, wish_list_id: int):
        return Response(WishListSerializer(self._get(customer_id, wish_list_id)).data)

    @extend_schema(request=WishListWriteSerializer, responses=WishListSerializer)
    def patch(self, request, customer_id: int, wish_list_id: int):
        data = _valid(WishListWriteSerializer, request)
        services.wish_list_rename(customer_id=customer_id, wish_list_id=wish_list_id, name=data["name"])
        return Response(WishListSerializer(self._get(customer_id, wish_list_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, customer_id: int, wish_list_id: int):
        services.wish_list_delete(customer_id=customer_id, wish_list_id=wish_list_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WishListItemCreateView(APIView):
    permission_classes = [AccessPolicy]
    access = {"POST": WRITE}

    @extend_schema(request=WishListItemCreateSerializer, responses={201: WishListItemSerializer})
    def post(self, request, customer_id: int, wish_list_id: int):
        data = _valid(WishListItemCreateSerializer, request)
        item = services.wish_list_item_add(
            customer_id=customer_id, wish_list_id=wish_list_id, variant=_variant_from(data), note=data.get("note", "")
        )
        return Response(WishListItemSerializer(item).data, status=status.HTTP_201_CREATED)


class WishListItemDetailView(APIView):
    permission_classes = [AccessPolicy]
    access = {"DELETE": WRITE}

    @extend_schema(responses={204: None})
    def delete(self, request, customer_id: int, wish_list_id: int, item_id: int):
        services.wish_list_item_remove(customer_id=customer_id, wish_list_id=wish_list_id, item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerMergeView(APIView):
    """Merge `merged_customer_id` into the customer in the URL, which is kept."""

    permission_classes = [AccessPolicy]
    access = {"POST": MERGE}

    @extend_schema(request=MergeSerializer, responses=CustomerDetailSerializer)
    def post(self, request, customer_id: int):
        data = _valid(MergeSerializer, request)
        services.customer_merge(
            kept_customer_id=customer_id,
            merged_customer_id=data["merged_customer_id"],
            request=request,
            reason=data.get("reason", ""),
        )
        return _detail_response(customer_id)
