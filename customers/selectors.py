"""Reads of customer profiles."""

from django.db.models import Prefetch, Q, QuerySet

from commerce.errors import NotFound, ValidationFailed

from .models import ConsentChannel, ConsentEvent, Customer, CustomerIdentity, IdentityKind, WishList, WishListItem
from .normalization import FIELD_NAMES, identity_normalize

SEARCH_MIN_LENGTH = 2


def customer_find_by_identity(*, kind: str, value) -> Customer | None:
    """Return the customer an identity belongs to, normalising `value` first, or None when no customer has it."""
    normalized = identity_normalize(kind, value)
    identity = CustomerIdentity.objects.select_related("customer").filter(kind=kind, value=normalized).first()
    return identity.customer if identity is not None else None


def customer_lookup(*, kind: str, value) -> Customer:
    """Return the customer with this identity or raise `NotFound` naming the normalised value."""
    normalized = identity_normalize(kind, value)
    identity = CustomerIdentity.objects.select_related("customer").filter(kind=kind, value=normalized).first()
    if identity is None:
        field = FIELD_NAMES[kind]
        raise NotFound(
            f"No customer has the {field} {normalized}: check it with the customer, or create a new profile.",
            code="customer_not_found",
            fields={field: [f"No customer has {normalized}."]},
        )
    return identity.customer


def customer_get(*, customer_id: int, follow_merges: bool = False) -> Customer:
    """Return a customer by id; with `follow_merges`, the profile a merged one now lives in."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist: check the id.", code="customer_not_found")
    if follow_merges and customer.merged_into_id is not None:
        # Merges rewrite earlier pointers to the kept profile, so one step reaches it.
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_list(*, search: str | None = None, include_merged: bool = False) -> QuerySet[Customer]:
    """Customers matching `search` in a name, e-mail, phone, loyalty card number or external id.

    A search that reads as an e-mail, phone or card number also matches its normalised form, so
    "(415) 555-2671" finds +14155552671.
    """
    customers = Customer.objects.all()
    if not include_merged:
        customers = customers.filter(merged_into__isnull=True)
    if search:
        term = search.strip()
        if len(term) < SEARCH_MIN_LENGTH:
            raise ValidationFailed(
                f"Search {search!r} is too short: send at least {SEARCH_MIN_LENGTH} characters.",
                code="search_too_short",
                fields={"q": [f"At least {SEARCH_MIN_LENGTH} characters."]},
            )
        condition = (
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(identities__value__icontains=term)
        )
        parts = term.split()
        if len(parts) == 2:
            condition |= Q(first_name__iexact=parts[0], last_name__iexact=parts[1])
        for kind in (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.CARD):
            try:
                normalized = identity_normalize(kind, term)
            except ValidationFailed:
                continue
            condition |= Q(identities__kind=kind, identities__value=normalized)
        customers = customers.filter(condition).distinct()
    return customers.order_by("last_name", "first_name", "id")


def customer_detail_queryset() -> QuerySet[Customer]:
    """Customers with everything the detail view shows, prefetched."""
    return Customer.objects.prefetch_related(
        "identities",
        "addresses",
        Prefetch("consent_events", queryset=ConsentEvent.objects.order_by("occurred_at", "id")),
        Prefetch("wish_lists", queryset=WishList.objects.prefetch_related(Prefetch("items", queryset=WishListItem.objects.select_related("variant")))),
    )


def consent_current(*, customer: Customer) -> dict[str, ConsentEvent | None]:
    """Return the latest consent event per channel, or None for a channel without events. Uses prefetched events."""
    current: dict[str, ConsentEvent | None] = {channel: None for channel in ConsentChannel.values}
    for event in sorted(customer.consent_events.all(), key=lambda event: (event.occurred_at, event.id)):
        current[event.channel] = event
    return current


def customer_marketing_allowed(*, customer_id: int, channel: str) -> bool:
    """True when the customer's latest consent event on `channel` is a grant."""
    latest = ConsentEvent.objects.filter(customer_id=customer_id, channel=channel).order_by("-occurred_at", "-id").first()
    return bool(latest and latest.granted)
