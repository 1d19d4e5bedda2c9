"""Catalog file importers, one module per format; `run.import_file` drives any of them."""

from .completejourney import CompleteJourneyFormat
from .openfoodfacts import OpenFoodFactsFormat
from .shopify import ShopifyFormat
from .superstore import SuperstoreFormat

FORMATS = {fmt.name: fmt for fmt in (CompleteJourneyFormat(), OpenFoodFactsFormat(), SuperstoreFormat(), ShopifyFormat())}


def detect_format(header: list[str]):
    """Return the format whose identifying columns are all in `header`, or None."""
    return next((fmt for fmt in FORMATS.values() if fmt.matches(header)), None)
