"""Reads of the catalog: lookups by SKU and barcode, product search and the category tree."""

from django.db.models import Prefetch, Q, QuerySet

from commerce.errors import NotFound

from .barcodes import InvalidBarcode, gtin_normalise
from .models import Barcode, Brand, Category, Product, TaxClass, Variant, VariantPrice
from .services import CATEGORY_SEPARATOR

# At most this many products found by SKU prefix join the name matches of a search (a prefix such
# as "C" would otherwise list every SKU).
SEARCH_CODE_MATCH_LIMIT = 500


def _variant_queryset() -> QuerySet:
    return Variant.objects.select_related("product").prefetch_related(
        Prefetch("barcodes", queryset=Barcode.objects.order_by("gtin")),
        Prefetch("prices", queryset=VariantPrice.objects.select_related("channel").order_by("channel__code")),
    )


def variant_get_by_sku(*, sku: str) -> Variant:
    """Return the variant with exactly this SKU. Raises NotFound naming it."""
    clean = str(sku).strip()
    variant = _variant_queryset().filter(sku=clean).first()
    if variant is None:
        raise NotFound(f"No variant has SKU {clean!r}: check the SKU, or import the product first.", code="sku_not_found")
    return variant


def variant_get_by_barcode(*, code: str) -> Variant:
    """Return the variant carrying the GTIN `code` (UPC-A, EAN-13, EAN-8 or GTIN-14, normalised first).

    Raises InvalidBarcode (400) when the code is malformed and NotFound when no variant has it.
    """
    gtin, _ = gtin_normalise(code)
    variant = _variant_queryset().filter(barcodes__gtin=gtin).first()
    if variant is None:
        raise NotFound(
            f"No variant has barcode {gtin}: add the barcode to a variant, or check the code.",
            code="barcode_not_found",
            fields={"barcode": [f"{gtin} is not in the catalog."]},
        )
    return variant


def variant_queryset() -> QuerySet:
    return _variant_queryset().order_by("id")


def variant_filter_search(queryset: QuerySet, *, q: str) -> QuerySet:
    """Keep variants whose SKU starts with `q`, that carry the barcode `q`, or whose product name contains it."""
    q = q.strip()
    if not q:
        return queryset
    condition = Q(sku__startswith=q) | Q(product__name__icontains=q)
    gtin = _gtin_or_none(q)
    if gtin is not None:
        condition |= Q(id__in=list(Barcode.objects.filter(gtin=gtin).values_list("variant_id", flat=True)))
    return queryset.filter(condition)


def _gtin_or_none(text: str) -> str | None:
    try:
        return gtin_normalise(text)[0]
    except InvalidBarcode:
        return None


def _product_ids_matching_code(q: str) -> list[int]:
    """Return ids of products with a SKU starting with `q` or the barcode `q`, each found by its own index."""
    ids = set(Variant.objects.filter(sku__startswith=q).values_list("product_id", flat=True)[:SEARCH_CODE_MATCH_LIMIT])
    gtin = _gtin_or_none(q)
    if gtin is not None:
        ids.update(Variant.objects.filter(barcodes__gtin=gtin).values_list("product_id", flat=True))
    return sorted(ids)


def category_subtree_filter(category: Category, *, prefix: str = "category__") -> Q:
    """Match products in `category` or any category below it."""
    return Q(**{f"{prefix}path": category.path}) | Q(**{f"{prefix}path__startswith": category.path + CATEGORY_SEPARATOR})


def category_path_filter(path: str, *, prefix: str = "category__") -> Q:
    """Match products whose category path starts with the whole names in `path` ("Grocery" matches "Grocery > Dairy", not "Grocery Store")."""
    names = [name.strip() for name in path.split(">") if name.strip()]
    clean = CATEGORY_SEPARATOR.join(names)
    return Q(**{f"{prefix}path__iexact": clean}) | Q(**{f"{prefix}path__istartswith": clean + CATEGORY_SEPARATOR})


def product_queryset() -> QuerySet:
    return Product.objects.select_related("brand", "category", "tax_class").order_by("id")


def product_filter_search(queryset: QuerySet, *, q: str) -> QuerySet:
    """Keep products whose name contains `q`, with a SKU starting with `q`, or carrying the barcode `q`.

    The name match uses the pg_trgm index on UPPER(name); SKU and barcode matches are looked up by
    their own indexes first and joined in as a list of ids, so no part of the search scans the table.
    """
    q = q.strip()
    if not q:
        return queryset
    condition = Q(name__icontains=q)
    code_ids = _product_ids_matching_code(q)
    if code_ids:
        condition |= Q(id__in=code_ids)
    return queryset.filter(condition)


def product_filter_category(queryset: QuerySet, *, category: str) -> QuerySet:
    """Keep products in a category given by id (with its subtree) or by path prefix."""
    category = category.strip()
    if category.isdigit():
        node = Category.objects.filter(pk=int(category)).first()
        return queryset.filter(category_subtree_filter(node)) if node is not None else queryset.none()
    return queryset.filter(category_path_filter(category))


def product_filter_brand(queryset: QuerySet, *, brand: str) -> QuerySet:
    """Keep products of a brand given by id or by name (any case)."""
    brand = brand.strip()
    return queryset.filter(brand_id=int(brand)) if brand.isdigit() else queryset.filter(brand__name__iexact=brand)


def product_filter_tax_class(queryset: QuerySet, *, tax_class: str) -> QuerySet:
    tax_class = tax_class.strip()
    return queryset.filter(tax_class_id=int(tax_class)) if tax_class.isdigit() else queryset.filter(tax_class__code=tax_class)


def product_get(*, product_id: int) -> Product:
    """Return a product with its variants, barcodes and prices loaded. Raises NotFound."""
    product = (
        Product.objects.select_related("brand", "category", "tax_class")
        .prefetch_related(Prefetch("variants", queryset=_variant_queryset().order_by("id")))
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise NotFound(f"No product has id {product_id}: list products to find the right id.", code="product_not_found")
    return product


def variant_get(*, variant_id: int) -> Variant:
    variant = _variant_queryset().filter(pk=variant_id).first()
    if variant is None:
        raise NotFound(f"No variant has id {variant_id}: look it up by SKU or barcode instead.", code="variant_not_found")
    return variant


def category_roots() -> QuerySet:
    return Category.objects.filter(parent__isnull=True).order_by("name", "id")


def category_tree(*, roots: list[Category]) -> list[dict]:
    """Nest every descendant of `roots` under its parent: [{"category": root, "children": [...]}, ...].

    Loads the subtrees in one query, by path prefix.
    """
    if not roots:
        return []
    condition = Q()
    for root in roots:
        condition |= Q(path__startswith=root.path + CATEGORY_SEPARATOR)
    nodes = {root.pk: {"category": root, "children": []} for root in roots}
    for category in Category.objects.filter(condition).order_by("depth", "name", "id"):
        node = {"category": category, "children": []}
        nodes[category.pk] = node
        parent = nodes.get(category.parent_id)
        if parent is not None:
            parent["children"].append(node)
    return [nodes[root.pk] for root in roots]


def brand_list() -> QuerySet:
    return Brand.objects.order_by("name")


def tax_class_list() -> QuerySet:
    return TaxClass.objects.order_by("code")
