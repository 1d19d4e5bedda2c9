"""Storefront carts: lines, customer, coupons, delivery, and checkout into a web order.

Every change locks the cart row, writes, and prices the cart with pricing.engine in the same
transaction, so a change the engine rejects (an inactive SKU, a SKU without a price) writes nothing.
The priced basket each response shows is stored on the cart as its snapshot. Checkout prices the cart
again and places the order only when the unit prices, discounts, taxes and total are those the
customer last saw and sent back as `expected_total`.
"""

import dataclasses
import json
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from catalog.models import Channel, Variant
from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.fields import MAX_QUANTITY
from customers.models import Customer
from customers.services import customer_get_or_create_by_identity
from inventory.models import Location
from pricing.basket import Address, Basket, BasketLine, PricedBasket
from pricing.engine import normalize_coupon_code, price_basket
from pricing.selectors import pricing_context_load

from .models import Cart, CartLine, CartStatus, Order
from .services import MAX_ID, Delivery, order_place_web

# An open cart expires after this long without a change. Every change starts the period again.
CART_LIFETIME = timedelta(days=30)
MAX_CART_LINES = 100
MAX_COUPONS = 5
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
COUPON_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHECKOUT_SOURCE = "checkout"


def shipping_flat_rate() -> Decimal:
    """Return the shipping charge of every cart that ships: settings.CART_SHIPPING_FLAT_RATE, or 4.99 when unset."""
    # NOTE: one flat rate for every address and weight; rates per zone or carrier belong to fulfillment.
    return Decimal(str(getattr(settings, "CART_SHIPPING_FLAT_RATE", "4.99")))


@dataclass(frozen=True)
class CouponProblem:
    """A coupon kept on the cart that no longer applies (expired, used up), left out of the price shown."""

    code: str
    reason: str
    message: str


@dataclass(frozen=True)
class CartPricing:
    """The content of a cart response: the priced basket, or the final snapshot once checked out, and coupon problems."""

    basket: PricedBasket | dict
    coupon_problems: tuple[CouponProblem, ...] = ()


class PriceChanged(Conflict):
    """Conflict raised when the cart's prices changed since they were shown; `priced_basket` contains the new ones."""

    code = "price_changed"

    def __init__(self, message: str, *, priced_basket: PricedBasket, fields: dict | None = None):
        super().__init__(message, fields=fields)
        self.priced_basket = priced_basket
        self.extra: dict = {}

    def as_body(self) -> dict:
        return {**super().as_body(), **self.extra}


# Reading and locking


def _cart_locked(token: str) -> Cart:
    """Lock and return the cart with `token`. Raises NotFound for an unknown or malformed token."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        raise NotFound(f"Cart {str(token)[:70]!r} does not exist: create a cart first.", code="cart_not_found")
    cart = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("channel", "pickup_location", "order")
        .filter(token=token)
        .first()
    )
    if cart is None:
        raise NotFound(f"Cart {token} does not exist: create a cart first.", code="cart_not_found")
    return cart


def _check_open(cart: Cart, *, now: datetime) -> None:
    if cart.status == CartStatus.CHECKED_OUT:
        raise Conflict(
            f"Cart {cart.token} is checked out as order {cart.order.number}: create a new cart to change anything.",
            code="cart_checked_out",
        )
    if cart.status == CartStatus.ABANDONED or cart.expires_at <= now:
        raise Conflict(
            f"Cart {cart.token} expired at {cart.expires_at.isoformat()}: create a new cart.", code="cart_expired"
        )


def _cart_lines(cart: Cart) -> list[CartLine]:
    return list(cart.lines.select_related("variant").order_by("id"))


def _basket(cart: Cart, lines: list[CartLine]) -> Basket:
    address = None
    if cart.shipping_country:
        address = Address(country=cart.shipping_country, state=cart.shipping_region)
    return Basket(
        channel=cart.channel.code,
        lines=tuple(BasketLine(variant_id=line.variant_id, quantity=line.quantity) for line in lines),
        customer_id=cart.customer_id,
        coupon_codes=tuple(cart.coupon_codes),
        shipping_address=address,
        pickup_store_id=cart.pickup_location_id,
        shipping_amount=cart.shipping_amount,
    )


def _is_coupon_error(error: ValidationFailed) -> bool:
    return "coupon_codes" in error.fields


def _price(cart: Cart, lines: list[CartLine]) -> CartPricing:
    """Price the cart. A coupon that no longer applies is left out and reported, so that the cart stays usable.

    Any other problem (an inactive SKU, a missing price) raises ValidationFailed.
    """
    basket = _basket(cart, lines)
    context = pricing_context_load(basket)
    try:
        return CartPricing(basket=price_basket(basket, context))
    except ValidationFailed as error:
        if not _is_coupon_error(error):
            raise
    # The context already contains every coupon of the basket, so trying them one by one runs no query.
    problems, valid = [], []
    for code in basket.coupon_codes:
        try:
            price_basket(replace(basket, coupon_codes=(code,)), context)
        except ValidationFailed as error:
            if not _is_coupon_error(error):
                raise
            problems.append(CouponProblem(code=code, reason=error.code, message=error.message))
        else:
            valid.append(code)
    return CartPricing(basket=price_basket(replace(basket, coupon_codes=tuple(valid)), context), coupon_problems=tuple(problems))


def _snapshot(priced: PricedBasket) -> dict:
    """Convert the priced basket to JSON-ready data, with amounts as decimal strings."""
    return json.loads(json.dumps(dataclasses.asdict(priced), cls=DjangoJSONEncoder))


def _price_signature(snapshot: dict) -> tuple:
    """Return what checkout compares: per line the SKU, quantity, unit price, discount, tax and total, and the basket totals."""
    lines = tuple(
        (line["sku"], line["quantity"], Decimal(line["unit_price"]), Decimal(line["discount_total"]),
         Decimal(line["tax_total"]), Decimal(line["total"]))
        for line in snapshot["lines"]
    )
    totals = tuple(Decimal(snapshot[name]) for name in ("subtotal", "discount_total", "shipping", "tax_total", "total"))
    return lines, totals


def _shown(cart: Cart, pricing: CartPricing, *, now: datetime) -> CartPricing:
    """Store the priced basket about to be shown as the cart's snapshot."""
    cart.priced_snapshot = _snapshot(pricing.basket)
    cart.priced_at = now
    cart.save(update_fields=["priced_snapshot", "priced_at", "updated_at"])
    return pricing


def _changed(cart: Cart, *, now: datetime) -> None:
    cart.version += 1
    cart.expires_at = now + CART_LIFETIME
    cart.save(update_fields=["version", "expires_at", "updated_at"])


def _priced_after_change(cart: Cart, *, now: datetime) -> tuple[Cart, CartPricing]:
    _changed(cart, now=now)
    return cart, _shown(cart, _price(cart, _cart_lines(cart)), now=now)


# Input checks


def _quantity(value, *, field: str = "quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise ValidationFailed(
            f"Quantity {value!r} is invalid: send a whole number from 1 to {MAX_QUANTITY}.",
            code="invalid_quantity",
            fields={field: [f"A whole number from 1 to {MAX_QUANTITY}."]},
        )
    return value


def _customer_resolve(*, customer_id: int | None, customer_identity: dict | None) -> int:
    """Return the id of the customer named by id, or found or created by identity; merged profiles resolve to the kept one."""
    if customer_id is not None:
        if isinstance(customer_id, bool) or not isinstance(customer_id, int) or not 0 < customer_id <= MAX_ID:
            raise ValidationFailed(f"Customer id {customer_id!r} is invalid: send the id of a customer.", code="customer_not_found",
                                   fields={"customer.id": ["Not a customer id."]})
        row = Customer.objects.filter(pk=customer_id).values("pk", "merged_into_id").first()
        if row is None:
            raise ValidationFailed(f"Customer {customer_id} does not exist: look the customer up first, or send an e-mail instead.",
                                   code="customer_not_found", fields={"customer.id": ["Unknown."]})
        return row["merged_into_id"] or row["pk"]
    if not customer_identity:
        raise ValidationFailed("The customer is missing: send an id or an identity (email, phone, card_number, external_id).",
                               code="customer_required", fields={"customer": ["Required."]})
    customer, _created = customer_get_or_create_by_identity(**customer_identity)
    return customer.merged_into_id or customer.pk


# Services


@transaction.atomic
def cart_create(
    *, customer_id: int | None = None, customer_identity: dict | None = None, api_key=None, actor=None
) -> tuple[Cart, CartPricing]:
    """Open an empty cart on the web channel, with a customer when one is named."""
    channel = Channel.objects.filter(code=Channel.WEB).first()
    if channel is None:
        raise Conflict("The web channel is not set up: ask an administrator to create the channel with code 'web'.", code="channel_missing")
    found_customer_id = None
    if customer_id is not None or customer_identity:
        found_customer_id = _customer_resolve(customer_id=customer_id, customer_identity=customer_identity)
    now = timezone.now()
    cart = Cart.objects.create(
        token=secrets.token_urlsafe(32), channel=channel, customer_id=found_customer_id, api_key=api_key,
        created_by=actor, expires_at=now + CART_LIFETIME,
    )
    return cart, _shown(cart, _price(cart, []), now=now)


@transaction.atomic
def cart_view(*, token: str) -> tuple[Cart, CartPricing]:
    """Price the cart for display and store that as its snapshot. A checked-out cart shows its final snapshot."""
    cart = _cart_locked(token)
    if cart.status == CartStatus.CHECKED_OUT:
        return cart, CartPricing(basket=cart.priced_snapshot)
    return cart, _shown(cart, _price(cart, _cart_lines(cart)), now=timezone.now())


@transaction.atomic
def cart_line_add(*, token: str, sku: str, quantity: int) -> tuple[Cart, CartPricing]:
    """Add `quantity` units of `sku`; a SKU already in the cart gets the units added to its line."""
    quantity = _quantity(quantity)
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    variant_id = Variant.objects.filter(sku=sku).values_list("pk", flat=True).first() if isinstance(sku, str) else None
    if variant_id is None:
        raise ValidationFailed(f"SKU {sku!r} does not exist: check the SKU against the catalog.", code="unknown_sku",
                               fields={"sku": [f"Unknown SKU {sku!r}."]})
    line = CartLine.objects.filter(cart=cart, variant_id=variant_id).first()
    if line is None:
        if cart.lines.count() >= MAX_CART_LINES:
            raise ValidationFailed(f"The cart already has {MAX_CART_LINES} lines: check out or remove a line first.",
                                   code="too_many_lines", fields={"sku": [f"At most {MAX_CART_LINES} lines."]})
        CartLine.objects.create(cart=cart, variant_id=variant_id, quantity=quantity)
    else:
        line.quantity = _quantity(line.quantity + quantity)
        line.save(update_fields=["quantity"])
    return _priced_after_change(cart, now=now)


def _line_of(cart: Cart, line_id) -> CartLine:
    line = None
    if isinstance(line_id, int) and not isinstance(line_id, bool) and 0 < line_id <= MAX_ID:
        line = CartLine.objects.filter(cart=cart, pk=line_id).first()
    if line is None:
        raise NotFound(f"Cart {cart.token} has no line {line_id}: read the cart for its line ids.", code="cart_line_not_found")
    return line


@transaction.atomic
def cart_line_set_quantity(*, token: str, line_id: int, quantity: int) -> tuple[Cart, CartPricing]:
    quantity = _quantity(quantity)
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    line = _line_of(cart, line_id)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return _priced_after_change(cart, now=now)


@transaction.atomic
def cart_line_remove(*, token: str, line_id: int) -> tuple[Cart, CartPricing]:
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    _line_of(cart, line_id).delete()
    return _priced_after_change(cart, now=now)


@transaction.atomic
def cart_customer_set(*, token: str, customer_id: int | None = None, customer_identity: dict | None = None) -> tuple[Cart, CartPricing]:
    """Set the cart's customer, whose group prices and per-customer coupon limits then apply."""
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    cart.customer_id = _customer_resolve(customer_id=customer_id, customer_identity=customer_identity)
    cart.save(update_fields=["customer", "updated_at"])
    return _priced_after_change(cart, now=now)


@transaction.atomic
def cart_coupon_apply(*, token: str, code: str) -> tuple[Cart, CartPricing]:
    """Add a coupon. Raises ValidationFailed naming the code when it is unknown, expired, used up or for another channel."""
    if not isinstance(code, str) or not COUPON_CODE_PATTERN.match(code.strip()):
        raise ValidationFailed(f"Coupon code {str(code)[:70]!r} is invalid: use 1 to 64 letters, digits, '-' or '_'.",
                               code="coupon_not_found", fields={"code": ["1 to 64 letters, digits, '-' or '_'."]})
    code = normalize_coupon_code(code)
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    if code in cart.coupon_codes:
        return cart, _shown(cart, _price(cart, _cart_lines(cart)), now=now)
    if len(cart.coupon_codes) >= MAX_COUPONS:
        raise ValidationFailed(f"The cart already has {MAX_COUPONS} coupons: remove one before adding {code}.",
                               code="too_many_coupons", fields={"code": [f"At most {MAX_COUPONS} coupons."]})
    cart.coupon_codes = [*cart.coupon_codes, code]
    cart.save(update_fields=["coupon_codes", "updated_at"])
    lines = _cart_lines(cart)
    pricing = _price(cart, lines)
    for problem in pricing.coupon_problems:
        if problem.code == code:
            raise ValidationFailed(problem.message, code=problem.reason, fields={"code": [problem.message]})
    _changed(cart, now=now)
    return cart, _shown(cart, pricing, now=now)


@transaction.atomic
def cart_coupon_remove(*, token: str, code: str) -> tuple[Cart, CartPricing]:
    code = normalize_coupon_code(code) if isinstance(code, str) else code
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    if code not in cart.coupon_codes:
        raise NotFound(f"Coupon {code} is not in cart {cart.token}: read the cart for its coupon codes.", code="coupon_not_in_cart",
                       fields={"code": ["Not in the cart."]})
    cart.coupon_codes = [applied for applied in cart.coupon_codes if applied != code]
    cart.save(update_fields=["coupon_codes", "updated_at"])
    return _priced_after_change(cart, now=now)


@transaction.atomic
def cart_shipping_set(*, token: str, country: str, region: str = "", postal_code: str) -> tuple[Cart, CartPricing]:
    """Ship the cart to an address: tax follows the address's region, and the flat shipping rate applies."""
    country = (country or "").strip().upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(f"Country {country!r} is invalid: send an ISO 3166-1 alpha-2 code such as US.",
                               code="invalid_country", fields={"country": ["An ISO 3166-1 alpha-2 code, e.g. US."]})
    region = (region or "").strip().upper()
    postal_code = (postal_code or "").strip()
    if len(region) > 100 or not postal_code or len(postal_code) > 20:
        field = "region" if len(region) > 100 else "postal_code"
        raise ValidationFailed(f"{field} is missing or too long: send a region of at most 100 and a postal code of 1 to 20 characters.",
                               code="invalid_address", fields={field: ["Missing or too long."]})
    # NOTE: only United States ZIP codes are checked for their format; other countries' codes are taken as given.
    if country == "US" and not re.fullmatch(r"\d{5}(-\d{4})?", postal_code):
        raise ValidationFailed(f"ZIP code {postal_code!r} is invalid: send 5 digits, or 5+4 such as 45202-1234.",
                               code="invalid_postal_code", fields={"postal_code": ["5 digits, or 5+4."]})
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    cart.shipping_country, cart.shipping_region, cart.shipping_postal_code = country, region, postal_code
    cart.pickup_location = None
    cart.shipping_amount = shipping_flat_rate()
    cart.save(update_fields=["shipping_country", "shipping_region", "shipping_postal_code", "pickup_location", "shipping_amount", "updated_at"])
    return _priced_after_change(cart, now=now)


@transaction.atomic
def cart_pickup_set(*, token: str, store_code: str) -> tuple[Cart, CartPricing]:
    """Collect the cart at a store that offers pickup: no shipping charge, and tax follows the store's region."""
    store = Location.objects.filter(code=store_code).first() if isinstance(store_code, str) else None
    if store is None:
        raise ValidationFailed(f"Store {store_code!r} does not exist: send the code of a store that offers pickup.",
                               code="unknown_store", fields={"store": [f"Unknown store {store_code!r}."]})
    if not (store.is_active and store.offers_pickup):
        raise ValidationFailed(f"Store {store.code} does not offer pickup: choose another store or ship the order.",
                               code="pickup_not_offered", fields={"store": [f"{store.code} does not offer pickup."]})
    now = timezone.now()
    cart = _cart_locked(token)
    _check_open(cart, now=now)
    cart.shipping_country = cart.shipping_region = cart.shipping_postal_code = ""
    cart.pickup_location = store
    cart.shipping_amount = Decimal("0.00")
    cart.save(update_fields=["shipping_country", "shipping_region", "shipping_postal_code", "pickup_location", "shipping_amount", "updated_at"])
    return _priced_after_change(cart, now=now)


# Checkout


def _checkout_price(cart: Cart, lines: list[CartLine]) -> PricedBasket:
    """Price the cart for checkout: a coupon that no longer applies fails it with 409 instead of being left out."""
    pricing = _price(cart, lines)
    if pricing.coupon_problems:
        problem = pricing.coupon_problems[0]
        raise Conflict(f"{problem.message} The order was not placed.", code=problem.reason, fields={"coupon_codes": [problem.code]})
    return pricing.basket


def _price_changes(cart: Cart, priced: PricedBasket, expected_total: Decimal) -> list[str]:
    """Describe what differs between the last basket shown, `expected_total` and the new pricing; empty when nothing does."""
    new = _snapshot(priced)
    new_lines, new_totals = _price_signature(new)
    changes = []
    if cart.priced_snapshot is None:
        changes.append("the cart was never shown priced")
    else:
        old_lines, old_totals = _price_signature(cart.priced_snapshot)
        if old_lines != new_lines:
            old_by_sku = {line[0]: line for line in old_lines}
            for line in new_lines:
                old = old_by_sku.get(line[0])
                if old != line:
                    was = f"{old[5]}" if old else "not in the basket"
                    changes.append(f"SKU {line[0]} now comes to {line[5]} (was {was})")
        if old_totals != new_totals and not changes:
            changes.append(f"the total is now {new_totals[4]} (was {old_totals[4]})")
    if expected_total != priced.total:
        changes.append(f"the total is {priced.total}, not the expected {expected_total}")
    return changes


def cart_checkout_price_check(*, token: str, expected_total: Decimal) -> None:
    """Price an open cart and, when its prices changed since it was shown, store the new snapshot and raise PriceChanged.

    It commits the new snapshot before raising, so that sending the new total back checks out. Carts
    that are not open pass unchecked, because cart_checkout raises the right error for them.
    """
    with transaction.atomic():
        cart = _cart_locked(token)
        if cart.status != CartStatus.OPEN or cart.expires_at <= timezone.now():
            return
        lines = _cart_lines(cart)
        if not lines:
            return
        priced = _checkout_price(cart, lines)
        changes = _price_changes(cart, priced, expected_total)
        if not changes:
            return
        _shown(cart, CartPricing(basket=priced), now=timezone.now())
    raise PriceChanged(
        "Prices changed since the cart was shown: " + "; ".join(changes) + ". Show the new basket and check out with its total.",
        priced_basket=priced,
        fields={"expected_total": [f"The total is now {priced.total}."]},
    )


def cart_checkout(
    *, token: str, expected_total: Decimal, loyalty_points: int | None = None, actor=None, api_key=None
) -> tuple[Cart, Order]:
    """Place the cart as a web order with exactly the prices last shown, redeem its coupons, reserve its units.

    Locks the cart. Raises PriceChanged when the pricing differs from the snapshot or from
    `expected_total`, Conflict for a coupon that no longer applies (`coupon_used_up` among others) or
    units out of stock, and ValidationFailed for an empty cart or one without a delivery choice. Nothing
    is written in any of these cases. `loyalty_points` are spent as a tender, capped at the total.
    """
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        cart = _cart_locked(token)
        _check_open(cart, now=now)
        lines = _cart_lines(cart)
        if not lines:
            raise ValidationFailed(f"Cart {cart.token} is empty: add a line before checking out.", code="cart_empty",
                                   fields={"lines": ["At least one line."]})
        if not cart.shipping_country and cart.pickup_location_id is None:
            raise ValidationFailed("Choose shipping (an address) or pickup (a store) before checking out.", code="delivery_missing",
                                   fields={"delivery": ["Choose shipping or pickup."]})
        priced = _checkout_price(cart, lines)
        changes = _price_changes(cart, priced, expected_total)
        if changes:
            raise PriceChanged(
                "Prices changed since the cart was shown: " + "; ".join(changes) + ". Show the new basket and check out with its total.",
                priced_basket=priced,
                fields={"expected_total": [f"The total is now {priced.total}."]},
            )
        # NOTE: a pickup order reserves its units where web orders do (the location with the most
        # available), not at the pickup store. Moving them there is left to fulfillment routing.
        order, _created = order_place_web(
            priced_basket=priced,
            customer_id=cart.customer_id,
            delivery=Delivery(
                country=cart.shipping_country, region=cart.shipping_region, postal_code=cart.shipping_postal_code,
                pickup_location_id=cart.pickup_location_id,
            ),
            coupon_codes=tuple(cart.coupon_codes),
            loyalty_points=loyalty_points,
            external_ref=f"cart:{cart.token}",
            source=CHECKOUT_SOURCE,
            actor=actor,
            api_key=api_key,
        )
        cart.status = CartStatus.CHECKED_OUT
        cart.order = order
        cart.priced_snapshot = _snapshot(priced)
        cart.priced_at = now
        cart.save(update_fields=["status", "order", "priced_snapshot", "priced_at", "updated_at"])
        return cart, order


def carts_abandon_expired(*, now: datetime | None = None) -> int:
    """Mark open carts past their expiry as abandoned; returns how many. Safe to run at any time."""
    now = now or timezone.now()
    return Cart.objects.filter(status=CartStatus.OPEN, expires_at__lte=now).update(status=CartStatus.ABANDONED, updated_at=now)
