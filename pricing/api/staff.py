"""Staff API for pricing set-up: price lists, promotions, coupons, tax regions and tax rates.

Reads: store managers (price lists of their own stores and of no store), finance and administrators.
Writes: administrators. Every write goes through pricing.services and leaves an audit entry.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Channel, TaxClass, Variant
from commerce.access import AccessPolicy, Rule, allowed_location_ids
from commerce.audit import audit_record
from commerce.errors import NotFound, ValidationFailed
from commerce.models import Role
from inventory.models import Location

from .. import services
from ..models import Coupon, CustomerGroup, PriceList, Promotion, PromotionKind, PromotionScope, TaxRate, TaxRegion, TaxRounding

READ = Rule(roles=frozenset({Role.STORE_MANAGER, Role.FINANCE, Role.ADMINISTRATOR}))
WRITE = Rule(roles=frozenset({Role.ADMINISTRATOR}))
MAX_ITEMS = 10_000


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _variants_by_sku(skus: list[str], *, field: str) -> dict[str, Variant]:
    """Return SKU -> Variant in one query; raise naming every unknown SKU."""
    variants = {variant.sku: variant for variant in Variant.objects.filter(sku__in=skus)}
    unknown = [sku for sku in skus if sku not in variants]
    if unknown:
        listed = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise ValidationFailed(
            f"Unknown SKU {listed}: check the codes against the catalog.", code="unknown_sku", fields={field: [f"Unknown SKU {sku}." for sku in unknown[:20]]}
        )
    return variants


# Price lists.


class PriceListItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    amount = serializers.CharField(max_length=40, help_text="Decimal string in the channel currency.")


class PriceListWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    channel = serializers.SlugRelatedField(slug_field="code", queryset=Channel.objects.all())
    location_id = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), required=False, allow_null=True, default=None)
    customer_group = serializers.SlugRelatedField(slug_field="code", queryset=CustomerGroup.objects.all(), required=False, allow_null=True, default=None)
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    priority = serializers.IntegerField(min_value=-1_000_000, max_value=1_000_000, default=0)
    is_active = serializers.BooleanField(default=True)
    items = PriceListItemSerializer(many=True, max_length=MAX_ITEMS, required=False)


class PriceListSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    customer_group = serializers.CharField(source="customer_group.code", allow_null=True)
    items = serializers.SerializerMethodField()

    class Meta:
        model = PriceList
        fields = ["id", "name", "channel", "location_id", "customer_group", "starts_at", "ends_at", "priority", "is_active", "items"]

    @extend_schema(responses=PriceListItemSerializer(many=True))
    def get_items(self, price_list) -> list[dict]:
        return [{"sku": item.variant.sku, "amount": str(item.amount)} for item in price_list.items.all()]


def _price_list_save(request, price_list: PriceList | None) -> PriceList:
    data = _validated(PriceListWriteSerializer, request)
    items = None
    if "items" in data:
        variants = _variants_by_sku([item["sku"] for item in data["items"]], field="items")
        items = [services.PriceListEntry(variants[item["sku"]], item["amount"]) for item in data["items"]]
    with transaction.atomic():
        saved = services.price_list_save(
            price_list=price_list,
            name=data["name"],
            channel=data["channel"],
            location=data["location_id"],
            customer_group=data["customer_group"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            priority=data["priority"],
            is_active=data["is_active"],
            items=items,
        )
        audit_record(request=request, action="pricing.price_list_saved", obj=saved, data={"items": len(items) if items is not None else None})
    return saved


def _price_lists(request):
    queryset = PriceList.objects.select_related("channel", "customer_group").prefetch_related("items__variant").order_by("id")
    allowed = allowed_location_ids(request)
    if allowed is not None:
        queryset = queryset.filter(Q(location__isnull=True) | Q(location_id__in=allowed))
    return queryset


class PriceListListView(generics.ListAPIView):
    """List price lists; administrators create them (POST) with their items."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}
    serializer_class = PriceListSerializer

    def get_queryset(self):
        return _price_lists(self.request)

    @extend_schema(request=PriceListWriteSerializer, responses={201: PriceListSerializer})
    def post(self, request):
        price_list = _price_list_save(request, None)
        return Response(PriceListSerializer(_price_lists(request).get(pk=price_list.pk)).data, status=status.HTTP_201_CREATED)


class PriceListDetailView(APIView):
    """Read a price list, or replace it (PUT) with new fields and, when `items` is sent, new items."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "PUT": WRITE}
    serializer_class = PriceListSerializer

    def _get(self, request, price_list_id: int) -> PriceList:
        price_list = _price_lists(request).filter(pk=price_list_id).first()
        if price_list is None:
            raise NotFound(f"Price list {price_list_id} does not exist or is not yours to see.")
        return price_list

    def get(self, request, price_list_id: int):
        return Response(PriceListSerializer(self._get(request, price_list_id)).data)

    @extend_schema(request=PriceListWriteSerializer, responses=PriceListSerializer)
    def put(self, request, price_list_id: int):
        price_list = _price_list_save(request, self._get(request, price_list_id))
        return Response(PriceListSerializer(_price_lists(request).get(pk=price_list.pk)).data)


# Promotions and coupons.


class PromotionWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=PromotionKind.choices)
    scope = serializers.ChoiceField(choices=PromotionScope.choices)
    value = serializers.CharField(max_length=40, default="0", help_text="Percent, or an amount in the channel currency.")
    cheapest_unit_only = serializers.BooleanField(default=False)
    buy_quantity = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    get_quantity = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    get_percent = serializers.CharField(max_length=40, default="100")
    min_quantity = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    min_subtotal = serializers.CharField(max_length=40, default="0")
    skus = serializers.ListField(child=serializers.CharField(max_length=64), default=list, max_length=MAX_ITEMS)
    category_ids = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), many=True, default=list)
    channels = serializers.SlugRelatedField(slug_field="code", queryset=Channel.objects.all(), many=True, default=list)
    location_ids = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), many=True, default=list)
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    priority = serializers.IntegerField(min_value=-1_000_000, max_value=1_000_000, default=0)
    exclusive = serializers.BooleanField(default=False)
    requires_coupon = serializers.BooleanField(default=False)
    is_active = serializers.BooleanField(default=True)


class PromotionSerializer(serializers.ModelSerializer):
    skus = serializers.SerializerMethodField()
    category_ids = serializers.PrimaryKeyRelatedField(source="categories", many=True, read_only=True)
    channels = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    location_ids = serializers.PrimaryKeyRelatedField(source="locations", many=True, read_only=True)

    class Meta:
        model = Promotion
        fields = [
            "id", "name", "kind", "scope", "value", "cheapest_unit_only", "buy_quantity", "get_quantity", "get_percent",
            "min_quantity", "min_subtotal", "skus", "category_ids", "channels", "location_ids", "starts_at", "ends_at",
            "priority", "exclusive", "requires_coupon", "is_active",
        ]

    def get_skus(self, promotion) -> list[str]:
        return [variant.sku for variant in promotion.variants.all()]


def _promotions():
    return Promotion.objects.prefetch_related("variants", "categories", "channels", "locations").order_by("id")


def _promotion_save(request, promotion: Promotion | None) -> Promotion:
    data = _validated(PromotionWriteSerializer, request)
    variants = list(_variants_by_sku(data["skus"], field="skus").values()) if data["skus"] else []
    currencies = {channel.currency for channel in data["channels"]}
    currency = currencies.pop() if len(currencies) == 1 else settings.DEFAULT_CURRENCY
    with transaction.atomic():
        saved = services.promotion_save(
            promotion=promotion,
            name=data["name"],
            kind=data["kind"],
            scope=data["scope"],
            value=data["value"],
            currency=currency,
            cheapest_unit_only=data["cheapest_unit_only"],
            buy_quantity=data["buy_quantity"],
            get_quantity=data["get_quantity"],
            get_percent=data["get_percent"],
            min_quantity=data["min_quantity"],
            min_subtotal=data["min_subtotal"],
            variants=variants,
            categories=data["category_ids"],
            channels=data["channels"],
            locations=data["location_ids"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            priority=data["priority"],
            exclusive=data["exclusive"],
            requires_coupon=data["requires_coupon"],
            is_active=data["is_active"],
        )
        audit_record(request=request, action="pricing.promotion_saved", obj=saved)
    return saved


class PromotionListView(generics.ListAPIView):
    """List promotions; administrators create them (POST)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}
    serializer_class = PromotionSerializer

    def get_queryset(self):
        return _promotions()

    @extend_schema(request=PromotionWriteSerializer, responses={201: PromotionSerializer})
    def post(self, request):
        promotion = _promotion_save(request, None)
        return Response(PromotionSerializer(_promotions().get(pk=promotion.pk)).data, status=status.HTTP_201_CREATED)


class PromotionDetailView(APIView):
    """Read a promotion, or replace it (PUT)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "PUT": WRITE}
    serializer_class = PromotionSerializer

    def _get(self, promotion_id: int) -> Promotion:
        promotion = _promotions().filter(pk=promotion_id).first()
        if promotion is None:
            raise NotFound(f"Promotion {promotion_id} does not exist.")
        return promotion

    def get(self, request, promotion_id: int):
        return Response(PromotionSerializer(self._get(promotion_id)).data)

    @extend_schema(request=PromotionWriteSerializer, responses=PromotionSerializer)
    def put(self, request, promotion_id: int):
        promotion = _promotion_save(request, self._get(promotion_id))
        return Response(PromotionSerializer(_promotions().get(pk=promotion.pk)).data)


class CouponWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    promotion_id = serializers.PrimaryKeyRelatedField(queryset=Promotion.objects.all())
    usage_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    per_customer_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class CouponSerializer(serializers.ModelSerializer):
    class Meta:
        model = Coupon
        fields = ["id", "code", "promotion_id", "usage_limit", "per_customer_limit", "times_used", "is_active", "created_at"]


class CouponListView(generics.ListAPIView):
    """List coupons with their use counts; administrators create them (POST)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}
    serializer_class = CouponSerializer
    queryset = Coupon.objects.order_by("id")

    @extend_schema(request=CouponWriteSerializer, responses={201: CouponSerializer})
    def post(self, request):
        data = _validated(CouponWriteSerializer, request)
        with transaction.atomic():
            coupon = services.coupon_create(
                code=data["code"], promotion=data["promotion_id"], usage_limit=data["usage_limit"], per_customer_limit=data["per_customer_limit"]
            )
            audit_record(request=request, action="pricing.coupon_created", obj=coupon)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)


# Tax.


class TaxRegionSerializer(serializers.ModelSerializer):
    rounding = serializers.ChoiceField(choices=TaxRounding.choices, default=TaxRounding.PER_LINE)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class Meta:
        model = TaxRegion
        fields = ["id", "code", "name", "country", "state", "rounding"]
        # Uniqueness is checked by the service, with a message naming the clash.
        validators = []
        extra_kwargs = {"code": {"validators": []}}


class TaxRegionListView(generics.ListAPIView):
    """List tax regions; administrators create them (POST)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}
    serializer_class = TaxRegionSerializer
    queryset = TaxRegion.objects.order_by("country", "state")

    @extend_schema(request=TaxRegionSerializer, responses={201: TaxRegionSerializer})
    def post(self, request):
        data = _validated(TaxRegionSerializer, request)
        with transaction.atomic():
            region = services.tax_region_save(**data)
            audit_record(request=request, action="pricing.tax_region_saved", obj=region)
        return Response(TaxRegionSerializer(region).data, status=status.HTTP_201_CREATED)


class TaxRateWriteSerializer(serializers.Serializer):
    region = serializers.SlugRelatedField(slug_field="code", queryset=TaxRegion.objects.all())
    tax_class = serializers.SlugRelatedField(slug_field="code", queryset=TaxClass.objects.all())
    name = serializers.CharField(max_length=100)
    rate = serializers.CharField(max_length=20, help_text="Percent as a decimal string, e.g. \"8.25\".")
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True, default=None)


class TaxRateSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")
    tax_class = serializers.CharField(source="tax_class.code")

    class Meta:
        model = TaxRate
        fields = ["id", "region", "tax_class", "name", "rate", "effective_from", "effective_to"]


class TaxRateListView(generics.ListAPIView):
    """List tax rates; administrators add them (POST)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}
    serializer_class = TaxRateSerializer
    queryset = TaxRate.objects.select_related("region", "tax_class").order_by("region__code", "tax_class__code", "effective_from")

    @extend_schema(request=TaxRateWriteSerializer, responses={201: TaxRateSerializer})
    def post(self, request):
        data = _validated(TaxRateWriteSerializer, request)
        with transaction.atomic():
            rate = services.tax_rate_save(
                region=data["region"],
                tax_class=data["tax_class"],
                name=data["name"],
                percent=data["rate"],
                effective_from=data["effective_from"],
                effective_to=data["effective_to"],
            )
            audit_record(request=request, action="pricing.tax_rate_saved", obj=rate)
        return Response(TaxRateSerializer(rate).data, status=status.HTTP_201_CREATED)
