"""A JSON parser for money: numbers become Decimal (never float), NaN and Infinity are refused,
and no string anywhere in the body (keys included) may hold a NUL or a lone surrogate, which
PostgreSQL cannot store."""
import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


def _parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - json only hands us valid literals
        raise ValueError(f"invalid number {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"{text} is not a finite number")
    return value


def find_bad_string(value, path: str = "") -> str | None:
    """Return the path of the first string holding a NUL or a lone surrogate, else None."""
    if isinstance(value, str):
        if "\x00" in value:
            return path or "(body)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "(body)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if find_bad_string(key, sub) or find_bad_string(item, sub):
                return sub
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_bad_string(item, f"{path}[{index}]")
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length and length.isdigit() and int(length) > limit:
            raise ParseError(f"request body over {limit} bytes")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"request body over {limit} bytes")
        if not raw.strip():
            return {}
        try:
            data = json.loads(
                raw.decode("utf-8"), parse_float=_parse_decimal, parse_constant=_refuse_constant
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from exc
        bad = find_bad_string(data)
        if bad:
            raise ParseError(f"{bad}: strings may not contain NUL characters or lone surrogates")
        return data
