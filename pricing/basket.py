"""Plain data the engine reads and returns: the basket, the pricing context and the priced basket."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

HUNDRED = Decimal(100)
ZERO = Decimal(0)

PHASE_ITEM = 0
PHASE_ORDER = 1


# The basket: what the caller asks to price.


@dataclass(frozen=True)
class BasketLine:
    """One line: a variant by id or SKU, a quantity and, for historical imports only, a fixed unit price."""

    quantity: int
    variant_id: int | None = None
    sku: str | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class Address:
    country: str
    state: str = ""


@dataclass(frozen=True)
class Basket:
    """A basket on a channel. `store_id` is the store the sale happens at (register) and selects store prices
    and store promotions; tax follows `shipping_address` when given, otherwise `pickup_store_id`, otherwise
    `store_id`."""

    channel: str
    lines: tuple[BasketLine, ...]
    store_id: int | None = None
    customer_id: int | None = None
    coupon_codes: tuple[str, ...] = ()
    shipping_address: Address | None = None
    pickup_store_id: int | None = None
    shipping_amount: Decimal = ZERO
    at: datetime | None = None


# The context: every row the calculation needs, read by pricing.selectors.


@dataclass(frozen=True)
class VariantFacts:
    id: int
    sku: str
    name: str
    is_active: bool
    category_path: str | None
    tax_class_id: int | None
    base_price: Decimal | None


@dataclass(frozen=True)
class PriceOffer:
    price_list_id: int
    price_list_name: str
    specificity: int
    priority: int
    amount: Decimal


@dataclass(frozen=True)
class TaxRegionFacts:
    id: int
    code: str
    name: str
    rounding: str


@dataclass(frozen=True)
class TaxRateFacts:
    id: int
    name: str
    rate: Decimal
    tax_class_id: int


@dataclass(frozen=True)
class PromotionFacts:
    id: int
    name: str
    kind: str
    scope: str
    value: Decimal
    priority: int
    exclusive: bool = False
    requires_coupon: bool = False
    cheapest_unit_only: bool = False
    buy_quantity: int = 0
    get_quantity: int = 0
    get_percent: Decimal = HUNDRED
    min_quantity: int = 0
    min_subtotal: Decimal = ZERO
    variant_ids: frozenset = frozenset()
    category_paths: tuple = ()
    channel_ids: frozenset = frozenset()
    location_ids: frozenset = frozenset()

    @property
    def phase(self) -> int:
        return PHASE_ORDER if self.scope == "order" else PHASE_ITEM

    def sort_key(self) -> tuple:
        return (self.phase, -self.priority, self.id)


@dataclass(frozen=True)
class CouponFacts:
    id: int
    code: str
    promotion_id: int
    is_active: bool
    promotion_is_active: bool
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    times_used: int
    customer_uses: int
    channel_ids: frozenset = frozenset()
    location_ids: frozenset = frozenset()


@dataclass(frozen=True)
class PricingContext:
    at: datetime
    channel_id: int
    channel_code: str
    currency: str
    prices_include_tax: bool
    store_id: int | None
    customer_id: int | None
    variants: dict  # variant id -> VariantFacts
    variant_ids_by_sku: dict  # SKU -> variant id
    offers: dict  # variant id -> tuple of PriceOffer
    tax_region: TaxRegionFacts | None
    tax_rates: dict  # tax class id -> tuple of TaxRateFacts
    tax_exemption_reference: str | None
    promotions: tuple  # PromotionFacts, every live promotion
    coupons: dict  # upper-case code -> CouponFacts, for the codes the basket carries


# The result.


@dataclass(frozen=True)
class LineDiscount:
    promotion_id: int
    promotion_name: str
    coupon_code: str | None
    amount: Decimal


@dataclass(frozen=True)
class LineTax:
    rate_id: int
    name: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PricedLine:
    """A priced line. `paid_before_tax` is what the customer paid for the line after discounts and before tax:
    the amount loyalty earns on and a return refunds before tax."""

    index: int
    variant_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    price_source: str
    price_list_id: int | None
    price_list_name: str | None
    subtotal: Decimal
    discounts: tuple
    discount_total: Decimal
    taxes: tuple
    tax_total: Decimal
    paid_before_tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class PromotionOutcome:
    """Whether a live promotion applied, and why or why not (`reason` is a stable code)."""

    promotion_id: int
    name: str
    applied: bool
    reason: str
    message: str
    discount_total: Decimal = ZERO
    coupon_code: str | None = None


@dataclass(frozen=True)
class TaxTotal:
    rate_id: int
    name: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PricedBasket:
    currency: str
    prices_include_tax: bool
    lines: tuple
    subtotal: Decimal
    discount_total: Decimal
    shipping: Decimal
    tax_total: Decimal
    total: Decimal
    taxes: tuple
    tax_region_code: str | None
    tax_rounding: str | None
    tax_exemption_reference: str | None
    promotions: tuple
    coupon_codes: tuple
