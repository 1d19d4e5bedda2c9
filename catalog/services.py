"""Writes to the catalog: products, variants, barcodes, base prices, categories and brands.

Every function runs in a transaction and raises commerce.errors exceptions with a stable code.
Staff changes are written to the audit log when an `actor` is given.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction

from commerce.audit import audit_record
from commerce.errors import Conflict, ValidationFailed
from commerce.money import parse_amount

from .barcodes import gtin_normalise
from .models import Barcode, Brand, Category, Channel, Product, TaxClass, Variant, VariantPrice

CATEGORY_SEPARATOR = " > "
MAX_SKU_LENGTH = Variant._meta.get_field("sku").max_length
UNIT_COST_PLACES = 4

# Marks "leave this field as it is" in the update functions, where None is a real value.
UNCHANGED = object()


def category_path_split(path: str) -> list[str]:
    """Split "A > B > C" into ["A", "B", "C"], trimming spaces. Raises ValidationFailed on an empty name."""
    names = [name.strip() for name in str(path).split(">")]
    if not path or not str(path).strip():
        raise ValidationFailed("The category path is empty: send names joined by ' > ', e.g. 'Grocery > Dairy'.", code="invalid_category_path")
    if any(not name for name in names):
        raise ValidationFailed(
            f"Category path {path!r} has an empty name between the ' > ' separators: remove the extra separator.",
            code="invalid_category_path",
            fields={"category": ["Empty category name."]},
        )
    return names


@transaction.atomic
def category_get_or_create(*, path: str) -> Category:
    """Return the category at `path`, creating it and any missing ancestors."""
    names = category_path_split(path)
    parent = None
    for depth, name in enumerate(names):
        node_path = CATEGORY_SEPARATOR.join(names[: depth + 1])
        parent, _ = Category.objects.get_or_create(path=node_path, defaults={"name": name, "parent": parent, "depth": depth})
    return parent


@transaction.atomic
def brand_get_or_create(*, name: str) -> Brand:
    clean = str(name).strip()
    if not clean:
        raise ValidationFailed("The brand name is empty: send a name or leave the brand out.", code="invalid_brand")
    brand, _ = Brand.objects.get_or_create(name=clean)
    return brand


def sku_clean(sku) -> str:
    """Return the SKU without surrounding spaces. Raises ValidationFailed when empty or too long."""
    clean = str(sku).strip() if sku is not None else ""
    if not clean:
        raise ValidationFailed("The SKU is missing: every variant needs a SKU.", code="missing_sku", fields={"sku": ["Required."]})
    if len(clean) > MAX_SKU_LENGTH:
        raise ValidationFailed(
            f"SKU {clean[:20]}... has {len(clean)} characters: use at most {MAX_SKU_LENGTH}.",
            code="invalid_sku",
            fields={"sku": [f"At most {MAX_SKU_LENGTH} characters."]},
        )
    return clean


def unit_cost_parse(value, *, field: str = "unit_cost") -> Decimal | None:
    """Parse a unit cost: a decimal >= 0 with at most 4 places, or None when blank.

    Costs may carry more places than a currency's minor unit (a case of 12 costed per unit).
    """
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationFailed(
            f"{field} {value!r} is not a number: send a decimal string such as \"4.25\".",
            code="invalid_amount",
            fields={field: ["Not a number."]},
        )
    exponent = amount.as_tuple().exponent
    if exponent < -UNIT_COST_PLACES and amount != amount.quantize(Decimal(1).scaleb(-UNIT_COST_PLACES)):
        raise ValidationFailed(
            f"{field} {value} has more than {UNIT_COST_PLACES} decimal places: round it to {UNIT_COST_PLACES}.",
            code="too_many_decimals",
            fields={field: [f"At most {UNIT_COST_PLACES} decimal places."]},
        )
    if amount < 0:
        raise ValidationFailed(f"{field} {value} is negative: send zero or more.", code="negative_amount", fields={field: ["Must not be negative."]})
    if amount >= Decimal("1e10"):
        raise ValidationFailed(f"{field} {value} is too large: send less than 10000000000.", code="amount_too_large", fields={field: ["Too large."]})
    return amount.quantize(Decimal(1).scaleb(-UNIT_COST_PLACES))


def _resolve_category(category) -> Category | None:
    if category is None or isinstance(category, Category):
        return category
    return category_get_or_create(path=category)


def _resolve_brand(brand) -> Brand | None:
    if brand is None or isinstance(brand, Brand):
        return brand
    return brand_get_or_create(name=brand)


@transaction.atomic
def product_create(
    *,
    name: str,
    description: str = "",
    brand: Brand | str | None = None,
    category: Category | str | None = None,
    tax_class: TaxClass | None = None,
    package_size: str = "",
    handle: str = "",
    is_active: bool = True,
    needs_review: bool = False,
    actor=None,
) -> Product:
    """Create a product. `brand` and `category` may be given by name and path; they are created if missing."""
    clean_name = str(name).strip()
    if not clean_name:
        raise ValidationFailed("The product name is empty: send a name.", code="invalid_name", fields={"name": ["Required."]})
    product = Product.objects.create(
        name=clean_name,
        description=description,
        brand=_resolve_brand(brand),
        category=_resolve_category(category),
        tax_class=tax_class,
        package_size=package_size,
        handle=handle,
        is_active=is_active,
        needs_review=needs_review,
    )
    if actor is not None:
        audit_record(actor=actor, action="catalog.product_create", obj=product, data={"name": product.name})
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    name=UNCHANGED,
    description=UNCHANGED,
    brand=UNCHANGED,
    category=UNCHANGED,
    tax_class=UNCHANGED,
    package_size=UNCHANGED,
    handle=UNCHANGED,
    is_active=UNCHANGED,
    needs_review=UNCHANGED,
    actor=None,
) -> Product:
    """Change the given fields of `product`; it is saved only when a value differs."""
    changes = {}
    if name is not UNCHANGED:
        name = str(name).strip()
        if not name:
            raise ValidationFailed("The product name is empty: send a name.", code="invalid_name", fields={"name": ["Required."]})
        changes["name"] = name
    if brand is not UNCHANGED:
        changes["brand"] = _resolve_brand(brand)
    if category is not UNCHANGED:
        changes["category"] = _resolve_category(category)
    for field, value in (
        ("description", description),
        ("tax_class", tax_class),
        ("package_size", package_size),
        ("handle", handle),
        ("is_active", is_active),
        ("needs_review", needs_review),
    ):
        if value is not UNCHANGED:
            changes[field] = value
    changed = [field for field, value in changes.items() if getattr(product, field) != value]
    if not changed:
        return product
    for field in changed:
        setattr(product, field, changes[field])
    product.save()
    if actor is not None:
        audit_record(actor=actor, action="catalog.product_update", obj=product, data={"fields": sorted(changed)})
    return product


def _option_values_clean(option_values) -> dict:
    if option_values is None:
        return {}
    if not isinstance(option_values, dict) or not all(isinstance(key, str) and isinstance(value, str) for key, value in option_values.items()):
        raise ValidationFailed(
            'Option values must map option names to values as text, e.g. {"Size": "M"}.',
            code="invalid_option_values",
            fields={"option_values": ["Expected an object of strings."]},
        )
    return {key.strip(): value.strip() for key, value in option_values.items()}


@transaction.atomic
def variant_create(*, product: Product, sku: str, name: str = "", option_values: dict | None = None, unit_cost=None, actor=None) -> Variant:
    """Create a variant of `product`. Raises Conflict when the SKU is taken."""
    clean_sku = sku_clean(sku)
    existing = Variant.objects.filter(sku=clean_sku).values_list("product_id", flat=True).first()
    if existing is not None:
        raise Conflict(
            f"SKU {clean_sku} already exists (product {existing}): choose another SKU or update that variant.",
            code="sku_taken",
            fields={"sku": ["Already in use."]},
        )
    try:
        with transaction.atomic():
            variant = Variant.objects.create(
                product=product,
                sku=clean_sku,
                name=str(name).strip(),
                option_values=_option_values_clean(option_values),
                unit_cost=unit_cost_parse(unit_cost),
            )
    except IntegrityError:
        raise Conflict(f"SKU {clean_sku} was created by another request just now: use that variant.", code="sku_taken") from None
    if actor is not None:
        audit_record(actor=actor, action="catalog.variant_create", obj=variant, data={"sku": variant.sku})
    return variant


@transaction.atomic
def variant_update(*, variant: Variant, name=UNCHANGED, option_values=UNCHANGED, unit_cost=UNCHANGED, is_active=UNCHANGED, needs_review=UNCHANGED, actor=None) -> Variant:
    """Change the given fields of `variant`; it is saved only when a value differs. The SKU never changes."""
    changes = {}
    if name is not UNCHANGED:
        changes["name"] = str(name).strip()
    if option_values is not UNCHANGED:
        changes["option_values"] = _option_values_clean(option_values)
    if unit_cost is not UNCHANGED:
        changes["unit_cost"] = unit_cost_parse(unit_cost)
    if is_active is not UNCHANGED:
        changes["is_active"] = is_active
    if needs_review is not UNCHANGED:
        changes["needs_review"] = needs_review
    changed = [field for field, value in changes.items() if getattr(variant, field) != value]
    if not changed:
        return variant
    for field in changed:
        setattr(variant, field, changes[field])
    variant.save()
    if actor is not None:
        audit_record(actor=actor, action="catalog.variant_update", obj=variant, data={"fields": sorted(changed)})
    return variant


@transaction.atomic
def barcode_add(*, variant: Variant, code: str, source: str = "", actor=None) -> Barcode:
    """Attach a GTIN to `variant`, stored normalised (UPC-A as EAN-13).

    Adding a code the variant already has returns the existing row. Raises InvalidBarcode for a
    malformed code and Conflict when the code belongs to another variant.
    """
    gtin, kind = gtin_normalise(code)
    existing = Barcode.objects.select_related("variant").filter(gtin=gtin).first()
    if existing is not None:
        if existing.variant_id == variant.pk:
            return existing
        raise Conflict(
            f"Barcode {gtin} already belongs to SKU {existing.variant.sku}: remove it there first.",
            code="barcode_taken",
            fields={"barcode": ["Already in use."]},
        )
    try:
        with transaction.atomic():
            barcode = Barcode.objects.create(variant=variant, gtin=gtin, kind=kind, source=source)
    except IntegrityError:
        raise Conflict(f"Barcode {gtin} was added to another variant just now: look it up and retry.", code="barcode_taken") from None
    if actor is not None:
        audit_record(actor=actor, action="catalog.barcode_add", obj=variant, data={"gtin": gtin})
    return barcode


@transaction.atomic
def variant_price_set(*, variant: Variant, channel: Channel, amount, actor=None) -> VariantPrice:
    """Set the base price of `variant` on `channel`: a decimal >= 0 in the channel currency's minor unit.

    Locks the existing price row; writes nothing when the amount is already the same.
    """
    value = parse_amount(amount, field="amount", currency=channel.currency)
    price = VariantPrice.objects.select_for_update().filter(variant=variant, channel=channel).first()
    previous = price.amount if price is not None else None
    if price is None:
        try:
            with transaction.atomic():
                price = VariantPrice.objects.create(variant=variant, channel=channel, amount=value)
        except IntegrityError:
            price = VariantPrice.objects.select_for_update().get(variant=variant, channel=channel)
            previous = price.amount
    if previous is not None and previous != value:
        price.amount = value
        price.save(update_fields=["amount"])
    if actor is not None and previous != value:
        data = {"channel": channel.code, "from": str(previous) if previous is not None else None, "to": str(value)}
        audit_record(actor=actor, action="catalog.price_set", obj=variant, data=data)
    return price


@transaction.atomic
def variant_get_or_create_placeholder(*, sku: str, name: str, source: str) -> tuple[Variant, bool]:
    """Return (variant, created) for `sku`, creating a product and variant flagged needs_review when missing.

    For data that names a SKU the catalog does not have yet (an order line whose product is missing
    from the product file). A later catalog import of the same SKU fills in the product and clears
    the flags. Safe under concurrent calls for the same SKU: the loser of the race gets the winner's row.
    """
    clean_sku = sku_clean(sku)
    variant = Variant.objects.filter(sku=clean_sku).first()
    if variant is not None:
        return variant, False
    label = str(name).strip() or clean_sku
    try:
        with transaction.atomic():
            product = Product.objects.create(name=label, source=source, needs_review=True)
            variant = Variant.objects.create(product=product, sku=clean_sku, name=label, needs_review=True)
    except IntegrityError:
        return Variant.objects.get(sku=clean_sku), False
    return variant, True

