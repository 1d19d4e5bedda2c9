from django.db import models
from django.db.models import Q


class Channel(models.Model):
    """A sales channel (the online shop, the registers). One currency per channel."""

    WEB = "web"
    POS = "pos"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="USD")
    prices_include_tax = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A node of the category tree; `path` is the names from the root joined by " > "."""

    name = models.CharField(max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=700, unique=True)
    depth = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


class Brand(models.Model):
    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.name


class TaxClass(models.Model):
    """A kind of goods for tax purposes (standard, reduced, food, exempt ...)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        verbose_name_plural = "tax classes"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    tax_class = models.ForeignKey(TaxClass, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    package_size = models.CharField(max_length=100, blank=True)
    handle = models.SlugField(max_length=255, blank=True)
    # Where the product came from (an import source) and its id there.
    source = models.CharField(max_length=50, blank=True)
    source_ref = models.CharField(max_length=100, blank=True)
    # Columns of the source row that have no field of their own (manufacturer id, tags, type ...).
    source_data = models.JSONField(default=dict, blank=True)
    needs_review = models.BooleanField(default=False, help_text="Created as a placeholder or with doubtful data.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], condition=~Q(source_ref=""), name="product_unique_source_ref"),
        ]
        indexes = [
            models.Index(fields=["handle"], name="product_handle_idx"),
            models.Index(fields=["source", "source_ref"], name="product_source_idx"),
        ]
        # Migration 0002 also adds product_name_trgm_idx, a pg_trgm GIN index on UPPER(name) that
        # serves `name__icontains`. It is raw SQL because an OpClass index expression needs
        # django.contrib.postgres in INSTALLED_APPS.

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """A sellable item with its own SKU: one product in one combination of option values."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=500, blank=True)
    option_values = models.JSONField(default=dict, blank=True, help_text='Option name to value, e.g. {"Size": "M"}.')
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    needs_review = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(unit_cost__gte=0) | Q(unit_cost__isnull=True), name="variant_unit_cost_not_negative"),
        ]
        # The unique index on sku serves exact matches; this one serves prefix searches (LIKE 'ABC%').
        indexes = [models.Index(fields=["sku"], name="variant_sku_prefix_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.sku} {self.name or self.product.name}"


class Barcode(models.Model):
    """A GTIN printed on the item. UPC-A codes are stored as their EAN-13 form (a leading 0)."""

    EAN8 = "EAN-8"
    EAN13 = "EAN-13"
    GTIN14 = "GTIN-14"
    KINDS = [(EAN8, EAN8), (EAN13, EAN13), (GTIN14, GTIN14)]

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="barcodes")
    gtin = models.CharField(max_length=14, unique=True)
    kind = models.CharField(max_length=8, choices=KINDS)
    source = models.CharField(max_length=50, blank=True)

    def __str__(self) -> str:
        return self.gtin


class VariantPrice(models.Model):
    """The base price of a variant on a channel, in the channel's currency."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="prices")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="variant_price_unique_per_channel"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="variant_price_not_negative"),
        ]
