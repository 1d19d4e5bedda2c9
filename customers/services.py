"""Writes to customer profiles: identities, addresses, consent, wish lists, and merging two profiles.

Identities are unique per kind across all customers, so any e-mail, phone, loyalty card number or
external id finds at most one person. `Customer.email`, `.phone` and `.external_id` mirror the primary
identity of each kind and are rewritten by `_mirror_primary_identities` after every identity change.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from commerce.audit import audit_record
from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.outbox import outbox_publish

from .models import (
    Address,
    ConsentChannel,
    ConsentEvent,
    ConsentSource,
    Customer,
    CustomerIdentity,
    IdentityKind,
    WishList,
    WishListItem,
)
from .normalization import FIELD_NAMES, identity_normalize

logger = logging.getLogger(__name__)

# Published when a profile is merged into another: {"kept_customer_id": int, "merged_customer_id": int}.
# Apps that keep data per customer (loyalty, orders) register a handler that moves their rows.
CUSTOMER_MERGED_TOPIC = "customer.merged"

# The order in which `customer_get_or_create_by_identity` trusts identities when they point to different
# people: an id issued by a system or printed on a card is more specific than a shared family e-mail.
IDENTITY_PRECEDENCE = (IdentityKind.EXTERNAL, IdentityKind.CARD, IdentityKind.EMAIL, IdentityKind.PHONE)

# Mirrors on Customer of the primary identity of each kind; loyalty cards have none.
_MIRROR_FIELDS = {IdentityKind.EMAIL: "email", IdentityKind.PHONE: "phone", IdentityKind.EXTERNAL: "external_id"}

NAME_MAX_LENGTH = 100

# A marker for "argument not given", so that None can mean "clear the value".
UNSET = object()


def _identities_from_arguments(*, email=None, phone=None, external_id=None, card_number=None) -> dict[str, str]:
    """Normalise the identities given as keyword arguments, skipping None and empty strings."""
    given = {IdentityKind.EMAIL: email, IdentityKind.PHONE: phone, IdentityKind.EXTERNAL: external_id, IdentityKind.CARD: card_number}
    normalized = {}
    for kind, value in given.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        normalized[kind] = identity_normalize(kind, value)
    return normalized


def _clean_name(value, *, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} {value!r} is not text.", code="invalid_name", fields={field: ["Must be a string."]})
    name = value.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(
            f"{field} is {len(name)} characters long: use at most {NAME_MAX_LENGTH}.",
            code="invalid_name",
            fields={field: [f"At most {NAME_MAX_LENGTH} characters."]},
        )
    return name


def _identity_taken(kind: str, value: str, owner_id: int) -> Conflict:
    field = FIELD_NAMES[kind]
    return Conflict(
        f"{field} {value} already belongs to customer {owner_id}: look that customer up instead, "
        f"or merge the two profiles.",
        code="identity_taken",
        fields={field: [f"{value} belongs to customer {owner_id}."]},
    )


def _mirror_primary_identities(customer: Customer) -> None:
    """Copy the primary e-mail, phone and external id onto the customer row."""
    primaries = dict(
        CustomerIdentity.objects.filter(customer=customer, is_primary=True).values_list("kind", "value")
    )
    changed = []
    for kind, field in _MIRROR_FIELDS.items():
        value = primaries.get(kind)
        if getattr(customer, field) != value:
            setattr(customer, field, value)
            changed.append(field)
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])


@transaction.atomic
def customer_mirror_primary_identities(*, customer_id: int) -> Customer:
    """Rewrite the customer's e-mail, phone and external id from its primary identities, after edits in the admin."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    _mirror_primary_identities(customer)
    return customer


def _identity_attach(*, customer: Customer, kind: str, value: str, make_primary: bool) -> CustomerIdentity:
    """Give `customer` an already normalised identity; raise `Conflict` when it belongs to someone else."""
    existing = CustomerIdentity.objects.filter(kind=kind, value=value).first()
    if existing is not None and existing.customer_id != customer.pk:
        raise _identity_taken(kind, value, existing.customer_id)
    has_primary = CustomerIdentity.objects.filter(customer=customer, kind=kind, is_primary=True).exclude(
        pk=getattr(existing, "pk", None)
    ).exists()
    should_be_primary = make_primary or not has_primary
    if should_be_primary and has_primary:
        CustomerIdentity.objects.filter(customer=customer, kind=kind, is_primary=True).update(is_primary=False)
    if existing is not None:
        if should_be_primary and not existing.is_primary:
            existing.is_primary = True
            existing.save(update_fields=["is_primary"])
        return existing
    try:
        with transaction.atomic():
            return CustomerIdentity.objects.create(customer=customer, kind=kind, value=value, is_primary=should_be_primary)
    except IntegrityError:
        # Another transaction took the value between the check and the insert.
        owner_id = CustomerIdentity.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
        raise _identity_taken(kind, value, owner_id) from None


def _lock_customer(customer_id: int) -> Customer:
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist: check the id.", code="customer_not_found")
    if customer.merged_into_id is not None:
        raise Conflict(
            f"Customer {customer_id} was merged into customer {customer.merged_into_id}: change that profile instead.",
            code="customer_merged",
        )
    return customer


@transaction.atomic
def customer_create(
    *,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    card_number: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> Customer:
    """Create a customer with its identities; raise `Conflict` when any identity belongs to someone else."""
    identities = _identities_from_arguments(email=email, phone=phone, external_id=external_id, card_number=card_number)
    customer = Customer.objects.create(
        first_name=_clean_name(first_name, field="first_name"), last_name=_clean_name(last_name, field="last_name")
    )
    for kind, value in identities.items():
        _identity_attach(customer=customer, kind=kind, value=value, make_primary=True)
    _mirror_primary_identities(customer)
    return customer


@transaction.atomic
def customer_update(*, customer_id: int, first_name=UNSET, last_name=UNSET, email=UNSET, phone=UNSET, external_id=UNSET) -> Customer:
    """Change names and primary identities; only the arguments given change.

    A new e-mail, phone or external id becomes the primary one and the previous value stays as a
    secondary identity, so older receipts and orders still find the person. None clears the primary
    mark of that kind. Locks the customer row.
    """
    customer = _lock_customer(customer_id)
    if first_name is not UNSET:
        customer.first_name = _clean_name(first_name, field="first_name")
    if last_name is not UNSET:
        customer.last_name = _clean_name(last_name, field="last_name")
    customer.save(update_fields=["first_name", "last_name", "updated_at"])

    for kind, value in ((IdentityKind.EMAIL, email), (IdentityKind.PHONE, phone), (IdentityKind.EXTERNAL, external_id)):
        if value is UNSET:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            CustomerIdentity.objects.filter(customer=customer, kind=kind, is_primary=True).update(is_primary=False)
            continue
        _identity_attach(customer=customer, kind=kind, value=identity_normalize(kind, value), make_primary=True)
    _mirror_primary_identities(customer)
    return customer


@transaction.atomic
def customer_identity_add(*, customer_id: int, kind: str, value, make_primary: bool = False) -> CustomerIdentity:
    """Add an e-mail, phone, loyalty card number or external id to a customer. Locks the customer row."""
    normalized = identity_normalize(kind, value)
    customer = _lock_customer(customer_id)
    identity = _identity_attach(customer=customer, kind=kind, value=normalized, make_primary=make_primary)
    _mirror_primary_identities(customer)
    return identity


@transaction.atomic
def customer_identity_remove(*, customer_id: int, identity_id: int) -> None:
    """Remove an identity; when it was primary, the oldest remaining one of its kind becomes primary."""
    customer = _lock_customer(customer_id)
    identity = CustomerIdentity.objects.filter(pk=identity_id, customer=customer).first()
    if identity is None:
        raise NotFound(
            f"Identity {identity_id} does not belong to customer {customer_id}: list the customer's identities for valid ids.",
            code="identity_not_found",
        )
    identity.delete()
    if identity.is_primary:
        successor = CustomerIdentity.objects.filter(customer=customer, kind=identity.kind).order_by("id").first()
        if successor is not None:
            successor.is_primary = True
            successor.save(update_fields=["is_primary"])
    _mirror_primary_identities(customer)


def customer_get_or_create_by_identity(
    *,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    card_number: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> tuple[Customer, bool]:
    """Find the one customer these identities belong to, or create one; return (customer, created).

    Orders of every channel call this so that the same person is one customer. When the identities
    point to different customers, the match by the most specific identity wins (`IDENTITY_PRECEDENCE`)
    and the identities of the other customers are left where they are, to be merged by staff.
    Identities that belong to no customer yet are added to the customer found. Blank names are filled in,
    existing names are not overwritten. Safe to call concurrently for the same new person: the
    loser of the insert race retries and finds the winner's row.
    """
    identities = _identities_from_arguments(email=email, phone=phone, external_id=external_id, card_number=card_number)
    if not identities:
        raise ValidationFailed(
            "No identity given: send at least one of email, phone, card_number or external_id.",
            code="identity_missing",
            fields={field: ["Send at least one identity."] for field in FIELD_NAMES.values()},
        )
    first_name = _clean_name(first_name, field="first_name")
    last_name = _clean_name(last_name, field="last_name")
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _get_or_create_by_identities(identities, first_name=first_name, last_name=last_name)
        except IntegrityError:
            if attempt == 2:
                raise
            logger.info("Customer identity insert raced with another transaction; looking it up again")
    raise AssertionError("unreachable")


def _get_or_create_by_identities(identities: dict[str, str], *, first_name: str, last_name: str) -> tuple[Customer, bool]:
    found = {
        row.kind: row.customer_id
        for row in CustomerIdentity.objects.filter(
            kind__in=list(identities), value__in=list(identities.values())
        ).only("kind", "value", "customer_id")
        if identities.get(row.kind) == row.value
    }
    if not found:
        customer = Customer.objects.create(first_name=first_name, last_name=last_name)
        for kind, value in identities.items():
            CustomerIdentity.objects.create(customer=customer, kind=kind, value=value, is_primary=True)
        _mirror_primary_identities(customer)
        return customer, True

    winner_kind = next(kind for kind in IDENTITY_PRECEDENCE if kind in found)
    customer = Customer.objects.select_for_update().get(pk=found[winner_kind])
    if len(set(found.values())) > 1:
        logger.warning(
            "Identities %s point to different customers %s; using customer %s found by %s",
            sorted(identities), sorted(set(found.values())), customer.pk, winner_kind,
        )
    for kind, value in identities.items():
        if kind in found:
            continue
        has_primary = CustomerIdentity.objects.filter(customer=customer, kind=kind, is_primary=True).exists()
        CustomerIdentity.objects.create(customer=customer, kind=kind, value=value, is_primary=not has_primary)
    names = {"first_name": first_name, "last_name": last_name}
    filled = [field for field, value in names.items() if value and not getattr(customer, field)]
    for field in filled:
        setattr(customer, field, names[field])
    if filled:
        customer.save(update_fields=[*filled, "updated_at"])
    _mirror_primary_identities(customer)
    return customer, False


# Addresses

_ADDRESS_FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")
_ADDRESS_REQUIRED = ("line1", "city", "country")


def _address_values(values: dict, *, partial: bool) -> dict:
    unknown = sorted(set(values) - set(_ADDRESS_FIELDS) - {"is_default_shipping", "is_default_billing"})
    if unknown:
        raise ValidationFailed(
            f"Unknown address field(s) {', '.join(unknown)}: use {', '.join(_ADDRESS_FIELDS)}.",
            code="invalid_address",
            fields={field: ["Unknown field."] for field in unknown},
        )
    cleaned = {}
    for field in _ADDRESS_FIELDS:
        if field not in values:
            if not partial and field in _ADDRESS_REQUIRED:
                raise ValidationFailed(f"Address {field} is missing.", code="invalid_address", fields={field: ["Required."]})
            continue
        value = values[field]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValidationFailed(f"Address {field} {value!r} is not text.", code="invalid_address", fields={field: ["Must be a string."]})
        value = value.strip()
        if field in _ADDRESS_REQUIRED and not value:
            raise ValidationFailed(f"Address {field} must not be blank.", code="invalid_address", fields={field: ["Required."]})
        max_length = Address._meta.get_field(field).max_length
        if len(value) > max_length and field != "country":
            raise ValidationFailed(
                f"Address {field} is {len(value)} characters long: use at most {max_length}.",
                code="invalid_address",
                fields={field: [f"At most {max_length} characters."]},
            )
        cleaned[field] = value
    if "country" in cleaned:
        country = cleaned["country"].upper()
        if len(country) != 2 or not country.isalpha():
            raise ValidationFailed(
                f"Address country {values['country']!r} is not a two-letter ISO 3166-1 code such as \"US\".",
                code="invalid_address",
                fields={"country": ["Two-letter ISO 3166-1 code."]},
            )
        cleaned["country"] = country
    if cleaned.get("phone"):
        from .normalization import phone_normalize

        cleaned["phone"] = phone_normalize(cleaned["phone"], field="phone", region=cleaned.get("country") or None)
    return cleaned


def _address_set_defaults(address: Address, *, is_default_shipping, is_default_billing) -> None:
    """Make `address` the default for shipping and/or billing, clearing the flag on the customer's other addresses."""
    for flag, wanted in (("is_default_shipping", is_default_shipping), ("is_default_billing", is_default_billing)):
        if wanted is None:
            continue
        if wanted:
            Address.objects.filter(customer_id=address.customer_id, **{flag: True}).exclude(pk=address.pk).update(**{flag: False})
        setattr(address, flag, bool(wanted))


@transaction.atomic
def address_create(*, customer_id: int, values: dict) -> Address:
    """Add an address. The customer's first address becomes the default for shipping and billing unless `values` sets the default flags."""
    customer = _lock_customer(customer_id)
    cleaned = _address_values(values, partial=False)
    first = not Address.objects.filter(customer=customer).exists()
    address = Address.objects.create(customer=customer, **cleaned)
    _address_set_defaults(
        address,
        is_default_shipping=values.get("is_default_shipping", first),
        is_default_billing=values.get("is_default_billing", first),
    )
    address.save(update_fields=["is_default_shipping", "is_default_billing"])
    return address


@transaction.atomic
def address_update(*, customer_id: int, address_id: int, values: dict) -> Address:
    customer = _lock_customer(customer_id)
    address = _address_of(customer, address_id)
    for field, value in _address_values(values, partial=True).items():
        setattr(address, field, value)
    _address_set_defaults(
        address, is_default_shipping=values.get("is_default_shipping"), is_default_billing=values.get("is_default_billing")
    )
    address.save()
    return address


@transaction.atomic
def address_delete(*, customer_id: int, address_id: int) -> None:
    customer = _lock_customer(customer_id)
    _address_of(customer, address_id).delete()


def _address_of(customer: Customer, address_id: int) -> Address:
    address = Address.objects.filter(pk=address_id, customer=customer).first()
    if address is None:
        raise NotFound(
            f"Address {address_id} does not belong to customer {customer.pk}: list the customer's addresses for valid ids.",
            code="address_not_found",
        )
    return address


# Consent


@transaction.atomic
def consent_record(
    *,
    customer_id: int,
    channel: str,
    granted: bool,
    source: str,
    occurred_at=None,
    text: str = "",
    actor=None,
    api_key=None,
) -> ConsentEvent:
    """Append a grant or withdrawal of marketing consent on `channel` to the customer's history."""
    if channel not in ConsentChannel.values:
        raise ValidationFailed(
            f"Consent channel {channel!r} is unknown: use one of {', '.join(ConsentChannel.values)}.",
            code="invalid_consent",
            fields={"channel": [f"Unknown channel {channel!r}."]},
        )
    if source not in ConsentSource.values:
        raise ValidationFailed(
            f"Consent source {source!r} is unknown: use one of {', '.join(ConsentSource.values)}.",
            code="invalid_consent",
            fields={"source": [f"Unknown source {source!r}."]},
        )
    if not isinstance(granted, bool):
        raise ValidationFailed(
            f"Consent granted {granted!r} is not true or false.", code="invalid_consent", fields={"granted": ["Must be a boolean."]}
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + timezone.timedelta(minutes=5):
        raise ValidationFailed(
            f"Consent time {occurred_at.isoformat()} is in the future: send the time the customer gave or withdrew consent.",
            code="invalid_consent",
            fields={"occurred_at": ["Must not be in the future."]},
        )
    customer = _lock_customer(customer_id)
    return ConsentEvent.objects.create(
        customer=customer,
        channel=channel,
        granted=granted,
        source=source,
        occurred_at=occurred_at,
        text=(text or "")[:500],
        recorded_by=actor if getattr(actor, "pk", None) else None,
        api_key=api_key,
    )


# Wish lists

WISH_LIST_NAME_MAX_LENGTH = 100


def _wish_list_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(
            f"Wish list name {name!r} is blank: send a name such as \"Birthday\".",
            code="invalid_wish_list",
            fields={"name": ["Required."]},
        )
    name = name.strip()
    if len(name) > WISH_LIST_NAME_MAX_LENGTH:
        raise ValidationFailed(
            f"Wish list name is {len(name)} characters long: use at most {WISH_LIST_NAME_MAX_LENGTH}.",
            code="invalid_wish_list",
            fields={"name": [f"At most {WISH_LIST_NAME_MAX_LENGTH} characters."]},
        )
    return name


def _wish_list_name_taken(customer_id: int, name: str) -> Conflict:
    return Conflict(
        f"Customer {customer_id} already has a wish list named {name!r}: choose another name.",
        code="wish_list_name_taken",
        fields={"name": [f"{name!r} is taken."]},
    )


@transaction.atomic
def wish_list_create(*, customer_id: int, name) -> WishList:
    customer = _lock_customer(customer_id)
    name = _wish_list_name(name)
    if WishList.objects.filter(customer=customer, name=name).exists():
        raise _wish_list_name_taken(customer.pk, name)
    return WishList.objects.create(customer=customer, name=name)


@transaction.atomic
def wish_list_rename(*, customer_id: int, wish_list_id: int, name) -> WishList:
    customer = _lock_customer(customer_id)
    wish_list = _wish_list_of(customer, wish_list_id)
    name = _wish_list_name(name)
    if WishList.objects.filter(customer=customer, name=name).exclude(pk=wish_list.pk).exists():
        raise _wish_list_name_taken(customer.pk, name)
    wish_list.name = name
    wish_list.save(update_fields=["name", "updated_at"])
    return wish_list


@transaction.atomic
def wish_list_delete(*, customer_id: int, wish_list_id: int) -> None:
    customer = _lock_customer(customer_id)
    _wish_list_of(customer, wish_list_id).delete()


@transaction.atomic
def wish_list_item_add(*, customer_id: int, wish_list_id: int, variant, note: str = "") -> WishListItem:
    """Add a variant to a wish list; adding one already on the list returns the existing item."""
    customer = _lock_customer(customer_id)
    wish_list = _wish_list_of(customer, wish_list_id)
    item, created = WishListItem.objects.get_or_create(wish_list=wish_list, variant=variant, defaults={"note": (note or "")[:200]})
    if created:
        wish_list.save(update_fields=["updated_at"])
    return item


@transaction.atomic
def wish_list_item_remove(*, customer_id: int, wish_list_id: int, item_id: int) -> None:
    customer = _lock_customer(customer_id)
    wish_list = _wish_list_of(customer, wish_list_id)
    deleted, _ = WishListItem.objects.filter(pk=item_id, wish_list=wish_list).delete()
    if not deleted:
        raise NotFound(
            f"Item {item_id} is not on wish list {wish_list_id}: list the wish list for valid item ids.",
            code="wish_list_item_not_found",
        )


def _wish_list_of(customer: Customer, wish_list_id: int) -> WishList:
    wish_list = WishList.objects.filter(pk=wish_list_id, customer=customer).first()
    if wish_list is None:
        raise NotFound(
            f"Wish list {wish_list_id} does not belong to customer {customer.pk}: list the customer's wish lists for valid ids.",
            code="wish_list_not_found",
        )
    return wish_list


# Merging


@transaction.atomic
def customer_merge(*, kept_customer_id: int, merged_customer_id: int, actor=None, request=None, reason: str = "") -> Customer:
    """Merge one profile of a person into another and return the kept profile.

    Identities, addresses, consent history and wish lists move to the kept profile; the merged one is
    kept with `merged_into` set. Profiles merged earlier into the merged one now point to the kept one.
    Writes an audit row and publishes `CUSTOMER_MERGED_TOPIC` in the same transaction, so that loyalty
    and orders move their rows when the event is delivered. Locks both customers in primary-key order.
    """
    if kept_customer_id == merged_customer_id:
        raise ValidationFailed(
            f"Customer {kept_customer_id} cannot be merged into itself: choose two different profiles.",
            code="merge_same_customer",
            fields={"merged_customer_id": ["Must differ from the kept customer."]},
        )
    locked = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update().filter(pk__in=[kept_customer_id, merged_customer_id]).order_by("pk")
    }
    for customer_id, field in ((kept_customer_id, "kept_customer_id"), (merged_customer_id, "merged_customer_id")):
        customer = locked.get(customer_id)
        if customer is None:
            raise NotFound(f"Customer {customer_id} does not exist: check the id.", code="customer_not_found", fields={field: ["Not found."]})
        if customer.merged_into_id is not None:
            raise Conflict(
                f"Customer {customer_id} was already merged into customer {customer.merged_into_id}: merge with that profile instead.",
                code="customer_merged",
                fields={field: [f"Merged into {customer.merged_into_id}."]},
            )
    kept, merged = locked[kept_customer_id], locked[merged_customer_id]
    merged_contacts = {"email": merged.email, "phone": merged.phone, "external_id": merged.external_id}

    moved_identities = list(CustomerIdentity.objects.filter(customer=merged).values_list("kind", "value"))
    kept_primary_kinds = set(CustomerIdentity.objects.filter(customer=kept, is_primary=True).values_list("kind", flat=True))
    CustomerIdentity.objects.filter(customer=merged, kind__in=kept_primary_kinds).update(is_primary=False)
    CustomerIdentity.objects.filter(customer=merged).update(customer=kept)

    # The merged row must give up its mirrored e-mail and phone before the kept row takes them.
    merged.email = merged.phone = merged.external_id = None
    merged.merged_into = kept
    merged.merged_at = timezone.now()
    merged.save(update_fields=["email", "phone", "external_id", "merged_into", "merged_at", "updated_at"])
    Customer.objects.filter(merged_into=merged).update(merged_into=kept)

    for flag in ("is_default_shipping", "is_default_billing"):
        if Address.objects.filter(customer=kept, **{flag: True}).exists():
            Address.objects.filter(customer=merged, **{flag: True}).update(**{flag: False})
    moved_addresses = Address.objects.filter(customer=merged).update(customer=kept)
    moved_consents = ConsentEvent.objects.filter(customer=merged).update(customer=kept)
    moved_wish_lists, moved_items = _wish_lists_move(kept=kept, merged=merged)

    names_filled = [field for field in ("first_name", "last_name") if not getattr(kept, field) and getattr(merged, field)]
    for field in names_filled:
        setattr(kept, field, getattr(merged, field))
    if names_filled:
        kept.save(update_fields=[*names_filled, "updated_at"])
    _mirror_primary_identities(kept)

    audit_record(
        request=request,
        actor=actor,
        action="customer.merged",
        obj=kept,
        data={
            "merged_customer_id": merged.pk,
            "merged_contacts": merged_contacts,
            "identities": [f"{kind}:{value}" for kind, value in moved_identities],
            "addresses": moved_addresses,
            "consent_events": moved_consents,
            "wish_lists": moved_wish_lists,
            "wish_list_items": moved_items,
            "reason": (reason or "")[:500],
        },
    )
    outbox_publish(topic=CUSTOMER_MERGED_TOPIC, payload={"kept_customer_id": kept.pk, "merged_customer_id": merged.pk})
    logger.info("Merged customer %s into customer %s", merged.pk, kept.pk)
    return kept


def _wish_lists_move(*, kept: Customer, merged: Customer) -> tuple[int, int]:
    """Move the merged profile's wish lists; a list whose name the kept profile already uses is combined with it.

    Returns (lists moved or combined, items moved).
    """
    kept_lists = {wish_list.name: wish_list for wish_list in WishList.objects.filter(customer=kept)}
    lists = 0
    items = 0
    for wish_list in WishList.objects.filter(customer=merged):
        lists += 1
        target = kept_lists.get(wish_list.name)
        if target is None:
            wish_list.customer = kept
            wish_list.save(update_fields=["customer", "updated_at"])
            items += wish_list.items.count()
            continue
        present = set(target.items.values_list("variant_id", flat=True))
        items += wish_list.items.exclude(variant_id__in=present).update(wish_list=target)
        wish_list.delete()
    return lists, items
