"""Normalise the values that identify a customer, so that the same person is found however they are typed.

Each function returns the stored form or raises `ValidationFailed` naming the value and the field.
"""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from commerce.errors import ValidationFailed

from .models import IdentityKind

_email_validator = EmailValidator()

# Characters people type in a phone number besides digits. Letters are rejected even though
# phonenumbers would read "1-800-FLOWERS" as a vanity number, because a letter in a phone field at a
# register is nearly always a typing mistake.
_PHONE_ALLOWED = re.compile(r"^\+?[0-9 ().\-/]+$")
_CARD_NUMBER = re.compile(r"^[A-Z0-9]{6,32}$")
_EXTERNAL_ID_MAX_LENGTH = 100


def email_normalize(value, *, field: str = "email") -> str:
    """Strip and lower-case an e-mail address, then check its syntax."""
    if not isinstance(value, str):
        raise ValidationFailed(
            f"{field} {value!r} is not an e-mail address: send a string such as \"ada@example.com\".",
            code="invalid_email",
            fields={field: ["Must be a string."]},
        )
    email = value.strip().lower()
    try:
        _email_validator(email)
    except ValidationError:
        raise ValidationFailed(
            f"{field} {value!r} is not a valid e-mail address: check it and send it as name@domain.tld.",
            code="invalid_email",
            fields={field: [f"{value!r} is not a valid e-mail address."]},
        ) from None
    return email


def phone_normalize(value, *, field: str = "phone", region: str | None = None) -> str:
    """Turn a phone number into E.164 (+14155552671).

    A number without a leading "+" is read as a number of `region`, by default the PHONE_DEFAULT_REGION setting.
    """
    region = region or settings.PHONE_DEFAULT_REGION
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            f"{field} {value!r} is not a phone number: send digits such as \"+1 415 555 2671\".",
            code="invalid_phone",
            fields={field: ["Must be a non-empty string."]},
        )
    text = value.strip()
    if not _PHONE_ALLOWED.match(text):
        raise ValidationFailed(
            f"{field} {value!r} contains characters other than digits, spaces, '+', '-', '.', '/' and brackets: "
            f"send the number in digits.",
            code="invalid_phone",
            fields={field: [f"{value!r} contains letters or other characters."]},
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            f"{field} {value!r} is not a valid phone number for {region}: check the digits, or start "
            f"with '+' and the country code.",
            code="invalid_phone",
            fields={field: [f"{value!r} is not a valid phone number."]},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def card_number_normalize(value, *, field: str = "card_number") -> str:
    """Remove spaces and dashes from a loyalty card number and upper-case it; 6 to 32 letters or digits."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValidationFailed(
            f"{field} {value!r} is not a card number: send the letters and digits printed on the card.",
            code="invalid_card_number",
            fields={field: ["Must be a string."]},
        )
    card_number = re.sub(r"[\s\-]", "", str(value)).upper()
    if not _CARD_NUMBER.match(card_number):
        raise ValidationFailed(
            f"{field} {value!r} is not a valid loyalty card number: use 6 to 32 letters or digits.",
            code="invalid_card_number",
            fields={field: [f"{value!r} is not 6 to 32 letters or digits."]},
        )
    return card_number


def external_id_normalize(value, *, field: str = "external_id") -> str:
    """Strip an external id (a storefront or ERP customer id); it is otherwise kept as sent."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationFailed(
            f"{field} {value!r} is not an id: send a string.", code="invalid_external_id", fields={field: ["Must be a string."]}
        )
    external_id = str(value).strip()
    if not external_id or len(external_id) > _EXTERNAL_ID_MAX_LENGTH:
        raise ValidationFailed(
            f"{field} {value!r} must be 1 to {_EXTERNAL_ID_MAX_LENGTH} characters long.",
            code="invalid_external_id",
            fields={field: [f"1 to {_EXTERNAL_ID_MAX_LENGTH} characters."]},
        )
    return external_id


NORMALIZERS = {
    IdentityKind.EMAIL: email_normalize,
    IdentityKind.PHONE: phone_normalize,
    IdentityKind.CARD: card_number_normalize,
    IdentityKind.EXTERNAL: external_id_normalize,
}


# The API and service argument that carries each kind of identity.
FIELD_NAMES = {
    IdentityKind.EMAIL: "email",
    IdentityKind.PHONE: "phone",
    IdentityKind.CARD: "card_number",
    IdentityKind.EXTERNAL: "external_id",
}


def identity_normalize(kind: str, value, *, field: str | None = None) -> str:
    if kind not in NORMALIZERS:
        raise ValidationFailed(
            f"Identity kind {kind!r} is unknown: use one of {', '.join(IdentityKind.values)}.",
            code="invalid_identity_kind",
            fields={field or "kind": [f"Unknown kind {kind!r}."]},
        )
    return NORMALIZERS[kind](value, field=field or FIELD_NAMES[kind])
