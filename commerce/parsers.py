"""The JSON parser of the API: PostgreSQL text cannot hold NUL characters, so a body with one is rejected."""

from rest_framework.parsers import JSONParser

from .errors import ValidationFailed


def _find_nul(value, path: str = "") -> str | None:
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_nul(key, path or "body") if isinstance(key, str) and "\x00" in key else _find_nul(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        where = _find_nul(data)
        if where:
            raise ValidationFailed(
                f"{where} contains a NUL character (\\u0000), which cannot be stored: remove it and send the request again.",
                code="invalid_character",
                fields={where: ["Contains a NUL character."]},
            )
        return data
