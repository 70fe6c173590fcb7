"""A JSON parser for money: numbers become Decimal (never float), NaN and Infinity are refused
naming where they stood, no string anywhere in the body (keys included) may hold a NUL or a
lone surrogate, which PostgreSQL cannot store, and objects and arrays nest at most 32 levels."""

import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class _NonFinite(str):
    """NaN or Infinity as parsed, kept so the refusal can name where it stood."""


def _refuse_constant(name: str) -> "_NonFinite":
    return _NonFinite(name)


def _parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - json only hands us valid literals
        raise ValueError(f"invalid number {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"{text} is not a finite number")
    return value


MAX_DEPTH = 32  # objects and arrays nested in one another, the body's own included


def too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def find_bad_value(value, path: str = "") -> tuple[str, str] | None:
    """(path, problem) of the first NaN/Infinity or string holding a NUL or a lone surrogate
    (keys included), else None. Paths are shown with bad characters escaped."""
    if isinstance(value, _NonFinite):
        return path or "body", f"{value} is not a valid JSON number"
    if isinstance(value, str):
        if "\x00" in value:
            return path or "body", "strings may not contain NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body", "strings may not contain lone surrogates"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            shown = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
            sub = f"{path}.{shown}" if path else shown
            found = find_bad_value(key, sub) or find_bad_value(item, sub)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_bad_value(item, f"{path}[{index}]")
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        # a view may allow a larger body (`max_body_bytes`: the migration calls carry 1,000 records)
        view = (parser_context or {}).get("view")
        limit = getattr(view, "max_body_bytes", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length and length.isdigit() and int(length) > limit:
            raise ParseError(f"request body over {limit} bytes")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"request body over {limit} bytes")
        if not raw:  # no body at all; whitespace alone is not JSON
            return {}
        try:
            data = json.loads(raw.decode("utf-8"), parse_float=_parse_decimal, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from exc
        if too_deep(data):
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels")
        bad = find_bad_value(data)
        if bad:
            raise ParseError(f"{bad[0]}: {bad[1]}")
        return data
