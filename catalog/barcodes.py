"""GTIN validation and normalisation with the GS1 mod-10 check digit.

Accepted lengths are 8 (EAN-8), 12 (UPC-A), 13 (EAN-13) and 14 (GTIN-14). A UPC-A code is the same
number as the EAN-13 code with a leading 0, so it is stored in that form: one item, one row.
"""

from commerce.errors import ValidationFailed

EAN8 = "EAN-8"
EAN13 = "EAN-13"
GTIN14 = "GTIN-14"

# The kind each accepted length is stored as, after UPC-A is widened to EAN-13.
KIND_BY_LENGTH = {8: EAN8, 12: EAN13, 13: EAN13, 14: GTIN14}


class InvalidBarcode(ValidationFailed):
    code = "invalid_barcode"


def gtin_check_digit(body: str) -> str:
    """Compute the GS1 check digit for `body`, the GTIN digits without their last one."""
    total = 0
    # Weights alternate 3, 1, 3 ... starting from the digit next to the check digit.
    for position, digit in enumerate(reversed(body)):
        weight = 3 if position % 2 == 0 else 1
        total += int(digit) * weight
    return str((10 - total % 10) % 10)


def gtin_normalise(value) -> tuple[str, str]:
    """Validate a GTIN and return (normalised gtin, kind).

    Surrounding whitespace is ignored. UPC-A (12 digits) comes back as EAN-13 with a leading 0.
    Raises InvalidBarcode naming the value and the reason: non-digits, wrong length, or a bad check digit.
    """
    text = str(value).strip() if value is not None else ""
    if not text:
        raise InvalidBarcode("The barcode is empty: send the 8, 12, 13 or 14 digits printed under the bars.", fields={"barcode": ["Empty."]})
    if not (text.isascii() and text.isdigit()):
        raise InvalidBarcode(
            f"Barcode {text!r} contains characters other than digits: a GTIN has only the digits 0-9.",
            fields={"barcode": ["Only digits are allowed."]},
        )
    if len(text) not in KIND_BY_LENGTH:
        raise InvalidBarcode(
            f"Barcode {text} has {len(text)} digits: a GTIN has 8 (EAN-8), 12 (UPC-A), 13 (EAN-13) or 14 (GTIN-14).",
            fields={"barcode": [f"Wrong length {len(text)}."]},
        )
    expected = gtin_check_digit(text[:-1])
    if text[-1] != expected:
        raise InvalidBarcode(
            f"Barcode {text} has check digit {text[-1]}, but the digits before it give {expected}: check the code for a typing error.",
            fields={"barcode": [f"Bad check digit {text[-1]}, expected {expected}."]},
        )
    kind = KIND_BY_LENGTH[len(text)]
    if len(text) == 12:
        text = "0" + text
    return text, kind
