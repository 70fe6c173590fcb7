"""JSON with exact decimals (issue 8, item 8): amounts are Decimals from the parser to the
database and back out, never floats on the way.

- `jsonable(value)` turns validated payloads (Decimals, datetimes, UUIDs) into JSON values.
  With `exact=True` it keeps the Decimals, for the fields and responses written with
  `ExactJSONEncoder` (an event's stored payload and result, every API response); otherwise they
  become int or float (free-form metadata and tags, which are not amounts).
- `ExactJSONEncoder` writes a Decimal as its exact number text (`999999999999.9997`, not the
  float `999999999999.9998`). `DecimalJSONDecoder` reads fractional numbers back as Decimals
  (PostgreSQL's jsonb keeps numbers as `numeric`, exactly).
- `canonical(raw)` is the text that two JSON bodies meaning the same thing share (key order and
  spacing aside; `1.50` and `1.5` are one amount), for the idempotency body hash.
"""

import json
import re
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from rest_framework.utils.encoders import JSONEncoder as DRFJSONEncoder

# A Decimal travels through json.dumps as a marked string, then the marks are replaced by the
# number text. No string of the API's can hold a NUL (core.parsers refuses them; PostgreSQL
# cannot store one), so a marked string is never a value someone sent.
_MARK = "\x00#"
_MARKED = re.compile(r'"\\u0000#(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def number_text(value: Decimal, *, normalize: bool = True) -> str:
    """`12.0000` -> `12`, `5.50` -> `5.5` (normalize), else the digits as they are; never an exponent."""
    return format(value.normalize() if normalize else value, "f")


def _marked(value, normalize: bool):
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return f"{_MARK}{number_text(value, normalize=normalize)}\x00"
    if isinstance(value, dict):
        return {key: _marked(item, normalize) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_marked(item, normalize) for item in value]
    return value


class _Exact:
    normalize = True
    _marking = False

    def encode(self, o):
        # The C encoder walks the value and asks `default` for each Decimal (a marked string):
        # no walk of the whole value in Python first (it cost more than the encoding itself).
        self._marking = True
        try:
            text = super().encode(o)
        finally:
            self._marking = False
        return _MARKED.sub(lambda match: match.group(1), text)

    def default(self, o):
        if self._marking and isinstance(o, Decimal):
            return _marked(o, self.normalize)
        return super().default(o)


class ExactJSONEncoder(_Exact, DRFJSONEncoder):
    """DRF's encoder (datetimes, UUIDs, ...) with Decimals as exact numbers (`12`, `5.5`)."""


class StoredJSONEncoder(ExactJSONEncoder):
    """For stored payloads: Decimals keep the digits they were sent with (`120.50`)."""

    normalize = False


class DecimalJSONDecoder(json.JSONDecoder):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)


def exact_dumps(value, **kwargs) -> str:
    return json.dumps(value, cls=ExactJSONEncoder, **kwargs)


def _refuse(name):
    raise ValueError(f"{name} is not a JSON number")


def canonical(raw: bytes) -> bytes:
    """The body as canonical JSON text (sorted keys, no spaces, numbers as exact normalized
    decimals), or the raw bytes themselves when they are not JSON."""
    try:
        document = json.loads(raw or b"{}", parse_float=Decimal, parse_constant=_refuse)
        return exact_dumps(document, sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON (or too deep): the API's parser answers the 400
        return raw


def jsonable(value, *, exact: bool = False):
    if isinstance(value, Decimal):
        if exact:
            return value
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item, exact=exact) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item, exact=exact) for item in value]
    return value
