import pytest

from catalog.barcodes import EAN8, EAN13, GTIN14, InvalidBarcode, gtin_check_digit, gtin_normalise


def test_ean13_valid():
    assert gtin_normalise("4006381333931") == ("4006381333931", EAN13)


def test_upca_becomes_ean13():
    assert gtin_normalise("036000291452") == ("0036000291452", EAN13)


def test_ean8_valid():
    assert gtin_normalise("96385074") == ("96385074", EAN8)


def test_gtin14_valid():
    assert gtin_normalise("10012345678902") == ("10012345678902", GTIN14)


def test_surrounding_spaces_ignored():
    assert gtin_normalise(" 4006381333931\n") == ("4006381333931", EAN13)


def test_check_digit_computation():
    assert gtin_check_digit("400638133393") == "1"
    assert gtin_check_digit("03600029145") == "2"
    assert gtin_check_digit("9638507") == "4"


def test_bad_check_digit_names_expected():
    with pytest.raises(InvalidBarcode) as error:
        gtin_normalise("4006381333932")
    assert error.value.code == "invalid_barcode"
    assert "4006381333932" in error.value.message
    assert "check digit 2" in error.value.message
    assert "give 1" in error.value.message


def test_bad_upca_check_digit():
    with pytest.raises(InvalidBarcode) as error:
        gtin_normalise("036000291453")
    assert "give 2" in error.value.message


def test_letters_rejected():
    with pytest.raises(InvalidBarcode) as error:
        gtin_normalise("40063813339AB")
    assert "'40063813339AB'" in error.value.message
    assert "digits" in error.value.message


@pytest.mark.parametrize("code", ["1234567", "123456789", "12345678901", "123456789012345"])
def test_wrong_length_rejected(code):
    with pytest.raises(InvalidBarcode) as error:
        gtin_normalise(code)
    assert f"has {len(code)} digits" in error.value.message


@pytest.mark.parametrize("code", ["", "   ", None])
def test_empty_rejected(code):
    with pytest.raises(InvalidBarcode) as error:
        gtin_normalise(code)
    assert "empty" in error.value.message


def test_non_ascii_digits_rejected():
    with pytest.raises(InvalidBarcode):
        gtin_normalise("４００６３８１３３３９３１")
