"""Write product records to the catalog in batches, with a fixed number of queries per batch.

Per batch, at most one query each looks up the batch's variants (by SKU), products (by source
reference), barcodes (by GTIN) and prices. Then each table gets at most one bulk INSERT and one bulk
UPDATE. Brands and categories are cached for the whole run, and only names missing from the cache
cost queries. A row is written only when a value differs, so importing the same file twice changes
nothing.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from commerce.errors import ValidationFailed

from ..models import Barcode, Brand, Category, Channel, Product, Variant, VariantPrice
from ..services import CATEGORY_SEPARATOR, category_path_split
from .base import ProductRecord, RowError, VariantRecord

logger = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


PRODUCT_LIMITS = {name: _max_length(Product, name) for name in ("name", "package_size", "handle", "source_ref")}
VARIANT_LIMITS = {"name": _max_length(Variant, "name"), "sku": _max_length(Variant, "sku")}
CATEGORY_NAME_LIMIT = _max_length(Category, "name")
CATEGORY_PATH_LIMIT = _max_length(Category, "path")
BRAND_LIMIT = _max_length(Brand, "name")


@dataclass
class BatchResult:
    counts: Counter = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)


class CatalogWriter:
    """Writes batches of ProductRecord. One instance per import run keeps the brand and category caches."""

    # Tables whose planner statistics the writer refreshes as an import grows them.
    ANALYZED_TABLES = [Product._meta.db_table, Variant._meta.db_table, Barcode._meta.db_table, VariantPrice._meta.db_table]
    # Refresh statistics when the rows created since the last refresh reach this many, or the number of
    # rows created before it if that is larger, so an import of n rows runs about log2(n) ANALYZEs.
    ANALYZE_MIN_ROWS = 5000

    def __init__(self):
        self.brand_ids: dict[str, int] = {}
        self.category_ids: dict[str, int] = {}
        self.channels: dict[str, Channel] = {}
        self.created_total = 0
        self.created_at_last_analyze = 0

    # Public entry point ----------------------------------------------------------------------------

    def write(self, records: list[ProductRecord]) -> BatchResult:
        """Write one batch in one transaction. If the database rejects the batch, write its records one
        by one so that only the failing records are rejected."""
        result = BatchResult()
        records = self._drop_invalid(records, result)
        if not records:
            return result

        try:
            with transaction.atomic():
                self._write_batch(records, result)
            self._analyze_if_grown(result.counts[CREATED])
            return result
        except DatabaseError as error:
            logger.warning("Batch of %d records starting at line %d failed (%s); writing them one by one", len(records), records[0].line, error)

        # The failed transaction may have left cache entries for rows that were rolled back.
        self.brand_ids.clear()
        self.category_ids.clear()
        result = BatchResult(errors=result.errors)
        for record in records:
            single = BatchResult()
            try:
                with transaction.atomic():
                    self._write_batch([record], single)
            except DatabaseError as error:
                self.brand_ids.clear()
                self.category_ids.clear()
                for variant in record.variants:
                    result.errors.append(RowError(line=variant.line, sku=variant.sku, reason=f"the database rejected the row: {str(error).splitlines()[0]}"))
                continue
            result.counts.update(single.counts)
            result.errors.extend(single.errors)
        return result

    def _analyze_if_grown(self, created: int) -> None:
        """Refresh planner statistics once the tables have grown a lot during this import.

        The batch lookups (sku = ANY(...), gtin = ANY(...)) pick index scans only when PostgreSQL's
        statistics show the tables are large. Autovacuum catches up only after commit and with a delay, and not at all
        inside one long transaction (a test, or a caller's atomic block). ANALYZE in a transaction
        counts the transaction's own new rows.
        """
        self.created_total += created
        grown = self.created_total - self.created_at_last_analyze
        if grown >= max(self.ANALYZE_MIN_ROWS, self.created_at_last_analyze):
            with connection.cursor() as cursor:
                for table in self.ANALYZED_TABLES:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            self.created_at_last_analyze = self.created_total

    # Checks that need no database --------------------------------------------------------------------

    def _drop_invalid(self, records: list[ProductRecord], result: BatchResult) -> list[ProductRecord]:
        """Reject values too long for their columns and SKUs, barcodes or products repeated in the batch."""
        kept = []
        sku_lines: dict[str, int] = {}
        gtin_skus: dict[str, tuple[str, int]] = {}
        ref_lines: dict[str, int] = {}
        for record in records:
            problem = self._product_problem(record)
            if problem is None and record.source_ref in ref_lines:
                problem = f"{record.source} reference {record.source_ref} repeats line {ref_lines[record.source_ref]}; the later rows are ignored"
            if problem is not None:
                for variant in record.variants:
                    result.errors.append(RowError(line=variant.line, sku=variant.sku, reason=problem))
                continue
            variants = []
            for variant in record.variants:
                problem = self._variant_problem(variant, sku_lines, gtin_skus)
                if problem is not None:
                    result.errors.append(RowError(line=variant.line, sku=variant.sku, reason=problem))
                    continue
                sku_lines[variant.sku] = variant.line
                for gtin, _ in variant.barcodes:
                    gtin_skus[gtin] = (variant.sku, variant.line)
                variants.append(variant)
            if not variants:
                continue
            record.variants = variants
            ref_lines[record.source_ref] = record.line
            kept.append(record)
        return kept

    @staticmethod
    def _too_long(label: str, value: str, limit: int) -> str | None:
        if value is not None and len(value) > limit:
            return f"{label} has {len(value)} characters, more than the {limit} allowed: shorten it"
        return None

    def _product_problem(self, record: ProductRecord) -> str | None:
        for name, limit in PRODUCT_LIMITS.items():
            value = record.source_ref if name == "source_ref" else record.fields.get(name)
            problem = self._too_long(f"product {name}", value, limit)
            if problem:
                return problem
        if record.brand:
            problem = self._too_long("brand", record.brand, BRAND_LIMIT)
            if problem:
                return problem
        if record.category_path:
            problem = self._too_long("category path", record.category_path, CATEGORY_PATH_LIMIT)
            if problem:
                return problem
            try:
                names = category_path_split(record.category_path)
            except ValidationFailed as error:
                return error.message
            for name in names:
                problem = self._too_long(f"category {name[:20]}", name, CATEGORY_NAME_LIMIT)
                if problem:
                    return problem
        return None

    def _variant_problem(self, variant: VariantRecord, sku_lines: dict, gtin_skus: dict) -> str | None:
        problem = self._too_long("SKU", variant.sku, VARIANT_LIMITS["sku"]) or self._too_long("variant name", variant.fields.get("name"), VARIANT_LIMITS["name"])
        if problem:
            return problem
        if variant.sku in sku_lines:
            return f"SKU {variant.sku} repeats line {sku_lines[variant.sku]}; the later row is ignored"
        for gtin, _ in variant.barcodes:
            owner = gtin_skus.get(gtin)
            if owner is not None and owner[0] != variant.sku:
                return f"barcode {gtin} is also on SKU {owner[0]} at line {owner[1]}; a barcode belongs to one variant"
        return None

    # Reference data -------------------------------------------------------------------------------------

    def _channel(self, code: str) -> Channel:
        channel = self.channels.get(code)
        if channel is None:
            from django.conf import settings

            channel, _ = Channel.objects.get_or_create(code=code, defaults={"name": "Online shop" if code == Channel.WEB else code, "currency": settings.DEFAULT_CURRENCY})
            self.channels[code] = channel
        return channel

    def _resolve_brands(self, names: set[str]) -> None:
        missing = {name for name in names if name not in self.brand_ids}
        if not missing:
            return
        self.brand_ids.update(Brand.objects.filter(name__in=missing).values_list("name", "id"))
        missing -= self.brand_ids.keys()
        if missing:
            Brand.objects.bulk_create([Brand(name=name) for name in sorted(missing)], ignore_conflicts=True)
            self.brand_ids.update(Brand.objects.filter(name__in=missing).values_list("name", "id"))

    def _resolve_categories(self, paths: set[str]) -> None:
        """Load or create every category on `paths`, with its ancestors: one query to look up, then
        one insert and one select per tree level that has new nodes."""
        wanted: dict[str, tuple[str, int]] = {}
        for path in paths:
            names = category_path_split(path)
            for depth in range(len(names)):
                node_path = CATEGORY_SEPARATOR.join(names[: depth + 1])
                if node_path not in self.category_ids:
                    wanted[node_path] = (names[depth], depth)
        if not wanted:
            return
        self.category_ids.update(Category.objects.filter(path__in=list(wanted)).values_list("path", "id"))
        missing = {path: spec for path, spec in wanted.items() if path not in self.category_ids}
        for depth in sorted({spec[1] for spec in missing.values()}):
            level = [path for path, spec in missing.items() if spec[1] == depth]
            nodes = []
            for path in sorted(level):
                name, _ = missing[path]
                parent_path = path.rsplit(CATEGORY_SEPARATOR, 1)[0] if depth else None
                nodes.append(Category(name=name, path=path, depth=depth, parent_id=self.category_ids[parent_path] if parent_path else None))
            Category.objects.bulk_create(nodes, ignore_conflicts=True)
            self.category_ids.update(Category.objects.filter(path__in=level).values_list("path", "id"))

    @staticmethod
    def _clean_path(path: str) -> str:
        return CATEGORY_SEPARATOR.join(category_path_split(path))

    # The batch ------------------------------------------------------------------------------------------

    def _write_batch(self, records: list[ProductRecord], result: BatchResult) -> None:
        now = timezone.now()
        # The lookups probe up to a batch of keys each. With the default random_page_cost of 4 the
        # planner prefers a parallel scan of the whole table, which is 2 to 3 times slower here
        # because an import keeps these indexes in memory. SET LOCAL ends with the transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL random_page_cost = 1.1")
        self._resolve_brands({record.brand for record in records if record.brand})
        self._resolve_categories({record.category_path for record in records if record.category_path})

        skus = [variant.sku for record in records for variant in record.variants]
        # Load only the compared fields: building full rows (timestamps, JSON) costs more than the query.
        product_columns = self._product_columns(records)
        variant_columns = ["sku", "product_id", "needs_review", *{name for record in records for item in record.variants for name in item.fields}]
        variants_by_sku = {
            variant.sku: variant
            for variant in Variant.objects.select_related("product")
            .only(*variant_columns, *(f"product__{name}" for name in product_columns))
            .filter(sku__in=skus)
        }
        gtins = [gtin for record in records for variant in record.variants for gtin, _ in variant.barcodes]
        barcode_owner = {gtin: (variant_id, sku) for gtin, variant_id, sku in Barcode.objects.filter(gtin__in=gtins).values_list("gtin", "variant_id", "variant__sku")}

        records = self._drop_barcode_conflicts(records, barcode_owner, result)
        if not records:
            return

        # A product already reached through one of its variants needs no lookup by reference, which
        # spares the query altogether when a file is imported again.
        products_by_ref: dict[tuple[str, str], Product] = {}
        for variant in variants_by_sku.values():
            products_by_ref[(variant.product.source, variant.product.source_ref)] = variant.product
        by_source: dict[str, list[str]] = {}
        for record in records:
            if (record.source, record.source_ref) not in products_by_ref:
                by_source.setdefault(record.source, []).append(record.source_ref)
        for source, refs in by_source.items():
            for product in Product.objects.only(*product_columns).filter(source=source, source_ref__in=refs):
                products_by_ref[(source, product.source_ref)] = product

        existing_variant_ids = [variant.pk for variant in variants_by_sku.values()]
        channel_ids = {self._channel(code).pk for record in records for variant in record.variants for code in variant.prices}
        prices = {
            (price.variant_id, price.channel_id): price
            for price in VariantPrice.objects.filter(variant_id__in=existing_variant_ids, channel_id__in=channel_ids)
        } if existing_variant_ids and channel_ids else {}

        # Decide every product: new, changed or as it is.
        new_products: list[Product] = []
        changed_products: dict[int, Product] = {}
        product_fields: set[str] = set()
        plan = []
        for record in records:
            product = products_by_ref.get((record.source, record.source_ref))
            if product is None:
                product = next((variants_by_sku[v.sku].product for v in record.variants if v.sku in variants_by_sku), None)
            values = self._product_values(record)
            # A placeholder, made for a SKU that other data named before the catalog had it, has no
            # source reference. The file that names the product fills it in and clears the review flag.
            adopting = product is not None and product.source_ref == ""
            if adopting:
                values["needs_review"] = False
            product_fields.update(values)
            if product is None:
                product = Product(**values)
                new_products.append(product)
                product_changed = True
            else:
                product_changed = self._assign(product, values)
                if product_changed:
                    product.updated_at = now
                    changed_products[product.pk] = product
            plan.append((record, product, product_changed, adopting))

        Product.objects.bulk_create(new_products)
        if changed_products:
            Product.objects.bulk_update(list(changed_products.values()), sorted(product_fields | {"updated_at"}))

        # Then every variant, its barcodes and its prices.
        new_variants: list[Variant] = []
        changed_variants: list[Variant] = []
        variant_fields: set[str] = set()
        new_barcodes: list[Barcode] = []
        new_prices: list[VariantPrice] = []
        changed_prices: list[VariantPrice] = []
        pending = []
        for record, product, product_changed, adopting in plan:
            for item in record.variants:
                values = dict(item.fields)
                if adopting:
                    values["needs_review"] = False
                variant_fields.update(values)
                variant = variants_by_sku.get(item.sku)
                if variant is None:
                    variant = Variant(product=product, sku=item.sku, **values)
                    new_variants.append(variant)
                    status = CREATED
                else:
                    changed = self._assign(variant, values)
                    if variant.product_id != product.pk:
                        variant.product = product
                        changed = True
                    if changed:
                        variant.updated_at = now
                        changed_variants.append(variant)
                    status = UPDATED if changed or product_changed else UNCHANGED
                pending.append((record, item, variant, status))

        Variant.objects.bulk_create(new_variants)
        if changed_variants:
            Variant.objects.bulk_update(changed_variants, sorted(variant_fields | {"updated_at", "product"}))

        for record, item, variant, status in pending:
            extra_change = False
            for gtin, kind in item.barcodes:
                if gtin not in barcode_owner:
                    new_barcodes.append(Barcode(variant=variant, gtin=gtin, kind=kind, source=record.barcode_source))
                    extra_change = True
            for code, amount in item.prices.items():
                channel = self._channel(code)
                price = prices.get((variant.pk, channel.pk))
                if price is None:
                    new_prices.append(VariantPrice(variant=variant, channel=channel, amount=amount))
                    extra_change = True
                elif price.amount != amount:
                    price.amount = amount
                    changed_prices.append(price)
                    extra_change = True
            if status == UNCHANGED and extra_change:
                status = UPDATED
            result.counts[status] += 1

        Barcode.objects.bulk_create(new_barcodes)
        VariantPrice.objects.bulk_create(new_prices)
        if changed_prices:
            VariantPrice.objects.bulk_update(changed_prices, ["amount"])

    def _drop_barcode_conflicts(self, records, barcode_owner, result) -> list[ProductRecord]:
        kept = []
        for record in records:
            variants = []
            for item in record.variants:
                conflict = next(((gtin, owner[1]) for gtin, _ in item.barcodes if (owner := barcode_owner.get(gtin)) and owner[1] != item.sku), None)
                if conflict is not None:
                    result.errors.append(
                        RowError(line=item.line, sku=item.sku, reason=f"barcode {conflict[0]} already belongs to SKU {conflict[1]}; a barcode belongs to one variant")
                    )
                    continue
                variants.append(item)
            if variants:
                record.variants = variants
                kept.append(record)
        return kept

    @staticmethod
    def _product_columns(records: list[ProductRecord]) -> list[str]:
        """Return the Product fields that `_product_values` sets for these records, plus the review flag."""
        names = {"source", "source_ref", "brand_id", "category_id", "needs_review"}
        for record in records:
            names.update(record.fields)
        return sorted(names)

    def _product_values(self, record: ProductRecord) -> dict:
        values = dict(record.fields)
        values["source"] = record.source
        values["source_ref"] = record.source_ref
        values["brand_id"] = self.brand_ids[record.brand] if record.brand else None
        values["category_id"] = self.category_ids[self._clean_path(record.category_path)] if record.category_path else None
        return values

    @staticmethod
    def _assign(obj, values: dict) -> bool:
        """Set the values that differ on `obj` and return whether any did."""
        changed = False
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        return changed
