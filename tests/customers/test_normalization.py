import pytest
from django.test import override_settings

from commerce.errors import ValidationFailed
from customers.normalization import card_number_normalize, email_normalize, external_id_normalize, phone_normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
        ("ADA@EXAMPLE.COM", "ada@example.com"),
        ("a+tag@sub.example.org", "a+tag@sub.example.org"),
    ],
)
def test_email_normalized(raw, expected):
    assert email_normalize(raw) == expected


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@@example.com", "ada example@x.com", "ada@example"])
def test_email_invalid_names_value(raw):
    with pytest.raises(ValidationFailed) as error:
        email_normalize(raw)
    assert error.value.code == "invalid_email"
    assert repr(raw) in error.value.message
    assert "email" in error.value.fields


def test_email_not_string_rejected():
    with pytest.raises(ValidationFailed) as error:
        email_normalize(42)
    assert error.value.code == "invalid_email"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("(415) 555-2671", "+14155552671"),
        ("415.555.2671", "+14155552671"),
        (" +1 415 555 2671 ", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("1-415-555-2671", "+14155552671"),
    ],
)
def test_phone_to_e164_default_us(raw, expected):
    assert phone_normalize(raw) == expected


@override_settings(PHONE_DEFAULT_REGION="GB")
def test_phone_default_region_from_settings():
    assert phone_normalize("020 7946 0958") == "+442079460958"


@pytest.mark.parametrize("raw", ["1-800-FLOWERS", "415 555 26x1", "phone", "+1 415 555 2671 ext"])
def test_phone_with_letters_rejected(raw):
    with pytest.raises(ValidationFailed) as error:
        phone_normalize(raw)
    assert error.value.code == "invalid_phone"
    assert repr(raw) in error.value.message
    assert "letters" in error.value.fields["phone"][0]


@pytest.mark.parametrize("raw", ["12", "555", "+1 000 000 0000", "   ", "+999 123"])
def test_phone_invalid_number_rejected(raw):
    with pytest.raises(ValidationFailed) as error:
        phone_normalize(raw)
    assert error.value.code == "invalid_phone"
    assert repr(raw) in error.value.message


def test_card_number_normalized():
    assert card_number_normalize(" 1234 5678-90ab ") == "1234567890AB"
    assert card_number_normalize(123456789) == "123456789"


@pytest.mark.parametrize("raw", ["12345", "1234*5678", "x" * 33, ""])
def test_card_number_invalid(raw):
    with pytest.raises(ValidationFailed) as error:
        card_number_normalize(raw)
    assert error.value.code == "invalid_card_number"
    assert repr(raw) in error.value.message


def test_external_id_stripped_and_bounded():
    assert external_id_normalize("  shop-77 ") == "shop-77"
    with pytest.raises(ValidationFailed) as error:
        external_id_normalize("   ")
    assert error.value.code == "invalid_external_id"
