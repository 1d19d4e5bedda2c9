"""Catalog API: products, variants, lookups by SKU and barcode, categories and brands.

Reads: API keys with catalog:read and every staff role. Writes: store managers and administrators.
Unit costs are shown to staff only, never to API keys (the storefront must not see margins).
"""

from django.conf import settings
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.access import ALL_STAFF, AccessPolicy, Rule, api_key_of
from commerce.errors import ValidationFailed
from commerce.fields import MoneyField
from commerce.models import Role, Scope

from . import selectors, services
from .models import Brand, Category, Channel, Product, TaxClass, Variant

READ = Rule(scope=Scope.CATALOG_READ, roles=ALL_STAFF)
WRITE = Rule(roles=frozenset({Role.STORE_MANAGER, Role.ADMINISTRATOR}))


# Serializers ---------------------------------------------------------------------------------------


class BarcodeSerializer(serializers.Serializer):
    gtin = serializers.CharField()
    kind = serializers.CharField()


class PriceSerializer(serializers.Serializer):
    channel = serializers.CharField(source="channel.code")
    currency = serializers.CharField(source="channel.currency")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class MoneyOutSerializer(serializers.Serializer):
    amount = serializers.CharField()
    currency = serializers.CharField()


class VariantSerializer(serializers.ModelSerializer):
    product_id = serializers.IntegerField()
    product_name = serializers.CharField(source="product.name")
    barcodes = BarcodeSerializer(many=True)
    prices = PriceSerializer(many=True)
    unit_cost = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields = ["id", "product_id", "product_name", "sku", "name", "option_values", "unit_cost", "is_active", "needs_review", "barcodes", "prices"]

    @extend_schema(responses=MoneyOutSerializer(allow_null=True))
    def get_unit_cost(self, variant) -> dict | None:
        request = self.context.get("request")
        if variant.unit_cost is None or request is None or api_key_of(request) is not None:
            return None
        return {"amount": str(variant.unit_cost), "currency": settings.DEFAULT_CURRENCY}


class BrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name"]


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "path"]


class TaxClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaxClass
        fields = ["id", "code", "name"]


class ProductListSerializer(serializers.ModelSerializer):
    brand = BrandSerializer(allow_null=True)
    category = CategoryRefSerializer(allow_null=True)
    tax_class = TaxClassSerializer(allow_null=True)

    class Meta:
        model = Product
        fields = ["id", "name", "brand", "category", "tax_class", "package_size", "handle", "source", "source_ref", "needs_review", "is_active", "updated_at"]


class ProductDetailSerializer(ProductListSerializer):
    variants = VariantSerializer(many=True)

    class Meta(ProductListSerializer.Meta):
        fields = ProductListSerializer.Meta.fields + ["description", "source_data", "created_at", "variants"]


class CategoryNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="category.id")
    name = serializers.CharField(source="category.name")
    path = serializers.CharField(source="category.path")
    depth = serializers.IntegerField(source="category.depth")
    children = serializers.SerializerMethodField()

    @extend_schema(responses=serializers.ListField(child=serializers.DictField()))
    def get_children(self, node) -> list[dict]:
        return CategoryNodeSerializer(node["children"], many=True).data


class ProductWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=500)
    description = serializers.CharField(required=False, allow_blank=True)
    brand = serializers.CharField(required=False, allow_null=True, max_length=200, help_text="Brand name; created when missing.")
    category = serializers.CharField(required=False, allow_null=True, max_length=700, help_text='Category path such as "Grocery > Dairy"; created when missing.')
    tax_class = serializers.SlugRelatedField(slug_field="code", queryset=TaxClass.objects.all(), required=False, allow_null=True)
    package_size = serializers.CharField(required=False, allow_blank=True, max_length=100)
    handle = serializers.SlugField(required=False, allow_blank=True, max_length=255)
    is_active = serializers.BooleanField(required=False)
    needs_review = serializers.BooleanField(required=False)


class VariantCreateSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(required=False, allow_blank=True, max_length=500)
    option_values = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    unit_cost = serializers.CharField(required=False, allow_null=True, help_text="Decimal string, at most 4 places, zero or more.")


class VariantUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=500)
    option_values = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    unit_cost = serializers.CharField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)
    needs_review = serializers.BooleanField(required=False)


class BarcodeAddSerializer(serializers.Serializer):
    barcode = serializers.CharField(max_length=32, help_text="GTIN-8, UPC-A, EAN-13 or GTIN-14; UPC-A is stored as EAN-13.")


class PriceSetSerializer(serializers.Serializer):
    amount = MoneyField(help_text="Decimal string, zero or more, in the channel currency's minor unit.")


def _validated(serializer_class, request, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# Filters -------------------------------------------------------------------------------------------


class StrictBooleanFilter(filters.TypedChoiceFilter):
    """A boolean query parameter that rejects anything but true, false, 1 and 0 (django-filter's
    BooleanFilter silently ignores other values, which would return an unfiltered list)."""

    def __init__(self, **kwargs):
        choices = [("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")]
        super().__init__(choices=choices, coerce=lambda value: value in ("true", "1"), **kwargs)


class ProductFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", help_text="Part of the name, the start of a SKU, or a whole barcode.")
    category = filters.CharFilter(method="filter_category", help_text="Category id (with its subtree) or path prefix such as 'GROCERY > BAKED BREAD'.")
    brand = filters.CharFilter(method="filter_brand", help_text="Brand id or name.")
    tax_class = filters.CharFilter(method="filter_tax_class", help_text="Tax class id or code.")
    needs_review = StrictBooleanFilter()
    is_active = StrictBooleanFilter()

    class Meta:
        model = Product
        fields = ["q", "category", "brand", "tax_class", "needs_review", "is_active"]

    def filter_q(self, queryset, name, value):
        return selectors.product_filter_search(queryset, q=value)

    def filter_category(self, queryset, name, value):
        return selectors.product_filter_category(queryset, category=value)

    def filter_brand(self, queryset, name, value):
        return selectors.product_filter_brand(queryset, brand=value)

    def filter_tax_class(self, queryset, name, value):
        return selectors.product_filter_tax_class(queryset, tax_class=value)


class VariantFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", help_text="Start of a SKU, a whole barcode, or part of the product name.")
    product = filters.NumberFilter(field_name="product_id")
    is_active = StrictBooleanFilter()
    needs_review = StrictBooleanFilter()

    class Meta:
        model = Variant
        fields = ["q", "product", "is_active", "needs_review"]

    def filter_q(self, queryset, name, value):
        return selectors.variant_filter_search(queryset, q=value)


# Views ---------------------------------------------------------------------------------------------


class ProductListView(generics.ListAPIView):
    """List products (filters: q, category, brand, tax_class, needs_review, is_active), or create one (staff)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "POST": WRITE}
    serializer_class = ProductListSerializer
    filterset_class = ProductFilter

    def get_queryset(self):
        return selectors.product_queryset()

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductDetailSerializer})
    def post(self, request):
        data = _validated(ProductWriteSerializer, request)
        product = services.product_create(actor=request.user, **data)
        detail = selectors.product_get(product_id=product.pk)
        return Response(ProductDetailSerializer(detail, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ProductDetailView(APIView):
    """One product with its variants, option values, barcodes and prices per channel; PATCH changes it (staff)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "PATCH": WRITE}
    serializer_class = ProductDetailSerializer

    def get(self, request, product_id: int):
        product = selectors.product_get(product_id=product_id)
        return Response(ProductDetailSerializer(product, context={"request": request}).data)

    @extend_schema(request=ProductWriteSerializer, responses=ProductDetailSerializer)
    def patch(self, request, product_id: int):
        product = selectors.product_get(product_id=product_id)
        data = _validated(ProductWriteSerializer, request, partial=True)
        services.product_update(product=product, actor=request.user, **data)
        product = selectors.product_get(product_id=product_id)
        return Response(ProductDetailSerializer(product, context={"request": request}).data)


class ProductVariantCreateView(APIView):
    """Add a variant with a new SKU to a product (staff)."""

    permission_classes = [AccessPolicy]
    access = {"POST": WRITE}
    serializer_class = VariantSerializer

    @extend_schema(request=VariantCreateSerializer, responses={201: VariantSerializer})
    def post(self, request, product_id: int):
        product = selectors.product_get(product_id=product_id)
        data = _validated(VariantCreateSerializer, request)
        variant = services.variant_create(product=product, actor=request.user, **data)
        variant = selectors.variant_get(variant_id=variant.pk)
        return Response(VariantSerializer(variant, context={"request": request}).data, status=status.HTTP_201_CREATED)


class VariantListView(generics.ListAPIView):
    """List variants (filters: q, product, is_active, needs_review)."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = VariantSerializer
    filterset_class = VariantFilter

    def get_queryset(self):
        return selectors.variant_queryset()


class VariantDetailView(APIView):
    """One variant; PATCH changes its name, option values, unit cost or flags (staff). The SKU is fixed."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ, "PATCH": WRITE}
    serializer_class = VariantSerializer

    def get(self, request, variant_id: int):
        variant = selectors.variant_get(variant_id=variant_id)
        return Response(VariantSerializer(variant, context={"request": request}).data)

    @extend_schema(request=VariantUpdateSerializer, responses=VariantSerializer)
    def patch(self, request, variant_id: int):
        variant = selectors.variant_get(variant_id=variant_id)
        data = _validated(VariantUpdateSerializer, request, partial=True)
        services.variant_update(variant=variant, actor=request.user, **data)
        variant = selectors.variant_get(variant_id=variant_id)
        return Response(VariantSerializer(variant, context={"request": request}).data)


class VariantBySkuView(APIView):
    """The variant with this exact SKU, or 404 naming it."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = VariantSerializer

    def get(self, request, sku: str):
        variant = selectors.variant_get_by_sku(sku=sku)
        return Response(VariantSerializer(variant, context={"request": request}).data)


class VariantByBarcodeView(APIView):
    """The variant carrying this GTIN (UPC-A, EAN-13, EAN-8 or GTIN-14); 400 when malformed, 404 when unknown."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = VariantSerializer

    def get(self, request, code: str):
        variant = selectors.variant_get_by_barcode(code=code)
        return Response(VariantSerializer(variant, context={"request": request}).data)


class VariantBarcodeAddView(APIView):
    """Attach a barcode to a variant (staff). 201 when added, 200 when the variant already had it."""

    permission_classes = [AccessPolicy]
    access = {"POST": WRITE}
    serializer_class = VariantSerializer

    @extend_schema(request=BarcodeAddSerializer, responses={201: VariantSerializer, 200: VariantSerializer})
    def post(self, request, variant_id: int):
        variant = selectors.variant_get(variant_id=variant_id)
        data = _validated(BarcodeAddSerializer, request)
        known = {barcode.gtin for barcode in variant.barcodes.all()}
        barcode = services.barcode_add(variant=variant, code=data["barcode"], actor=request.user)
        variant = selectors.variant_get(variant_id=variant_id)
        code = status.HTTP_200_OK if barcode.gtin in known else status.HTTP_201_CREATED
        return Response(VariantSerializer(variant, context={"request": request}).data, status=code)


class VariantPriceSetView(APIView):
    """Set the base price of a variant on a channel (staff)."""

    permission_classes = [AccessPolicy]
    access = {"PUT": WRITE}
    serializer_class = VariantSerializer

    @extend_schema(request=PriceSetSerializer, responses=VariantSerializer)
    def put(self, request, variant_id: int, channel_code: str):
        variant = selectors.variant_get(variant_id=variant_id)
        channel = Channel.objects.filter(code=channel_code).first()
        if channel is None:
            codes = ", ".join(Channel.objects.order_by("code").values_list("code", flat=True)) or "none yet"
            raise ValidationFailed(f"Channel {channel_code!r} does not exist: use one of {codes}.", code="unknown_channel", fields={"channel": ["Unknown."]})
        amount = request.data.get("amount") if isinstance(request.data, dict) else None
        if amount is None:
            raise ValidationFailed("amount is missing: send {\"amount\": \"12.50\"}.", code="invalid", fields={"amount": ["Required."]})
        services.variant_price_set(variant=variant, channel=channel, amount=amount, actor=request.user)
        variant = selectors.variant_get(variant_id=variant_id)
        return Response(VariantSerializer(variant, context={"request": request}).data)


class CategoryTreeView(generics.ListAPIView):
    """Root categories, paginated, each with its whole subtree nested under `children`."""

    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = CategoryNodeSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.category_roots()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        nodes = selectors.category_tree(roots=list(page))
        return self.get_paginated_response(CategoryNodeSerializer(nodes, many=True).data)


class BrandListView(generics.ListAPIView):
    permission_classes = [AccessPolicy]
    access = {"GET": READ}
    serializer_class = BrandSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.brand_list()
