"""What every kind of import shares: the record errors, the outcome of a batch, and the field
readers the record cleaners use (one set of rules for the migration API and `import_programme`).

A record is one JSON object of a migration call (`customers`, `events`, `transactions`), or one
line of a JSON Lines file in exactly that shape (a CSV row is turned into that shape first,
importing.reading). Cleaning a record is pure (no database): its shape, types and bounds. What
depends on the programme (an unknown reward or brand, a customer already imported) is decided
when the batch is written, and answered per record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.amounts import MAX_AMOUNT, QUANTUM, parse_decimal
from core.json import exact_dumps

MAX_BATCH = 1_000  # records one migration call may carry (SPEC section 8)
MAX_TEXT = 255
MAX_KEY = 300
MAX_OBJECT_CHARS = 16_384  # a free-form object of a record (`metadata`, `tags`, `details`), as JSON text
ALREADY_IMPORTED = "already_imported"  # the code of a record skipped as a repeat


class RecordError(Exception):
    """A record that cannot be imported: `code` (machine) and `message` (for a person)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Issue:
    """One record not imported (`code` ALREADY_IMPORTED for one skipped as a repeat)."""

    index: int  # the record's position in its call (0-based), or its line in a file (1-based)
    id: str  # the record's key (a customer id, an event's key, a transaction's key)
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "id": self.id, "code": self.code, "message": self.message}


@dataclass
class BatchResult:
    imported: int = 0
    skipped: list[Issue] = field(default_factory=list)  # already imported: nothing written
    errors: list[Issue] = field(default_factory=list)  # refused: nothing written

    def answer(self, issue: Issue) -> None:
        """A record not imported: skipped when it is a repeat, refused otherwise."""
        (self.skipped if issue.code == ALREADY_IMPORTED else self.errors).append(issue)


def import_lock() -> None:
    """Serialise imports (every kind, every worker, the command): a PostgreSQL advisory lock held
    until the caller's transaction ends, so that a batch checks what is already imported and
    writes it with no other import in between. SQLite serialises writers on its own."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('loyalty.importing'))")


# ---- field readers: each raises RecordError naming the field ----------------------------------


def text(raw: dict, name: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise RecordError("required", f"{name}: this field is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError("invalid", f"{name}: must be a string")
    value = str(value).strip()
    if len(value) > max_length:
        raise RecordError("invalid", f"{name}: at most {max_length} characters")
    return value


def uuid_text(raw: dict, name: str) -> str:
    """A required UUID (a reward's id), in its canonical form."""
    value = text(raw, name, required=True, max_length=64)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise RecordError("invalid", f"{name}: must be a UUID") from None


def amount(raw: dict, name: str, *, positive: bool = False, nonzero: bool = False) -> Decimal:
    value = parse_decimal(raw.get(name))
    if value is None:
        raise RecordError("invalid" if name in raw else "required", f"{name}: a number is required")
    if abs(value) > MAX_AMOUNT:
        raise RecordError("invalid", f"{name}: at most {MAX_AMOUNT} in absolute value")
    if value != value.quantize(QUANTUM):
        raise RecordError("invalid", f"{name}: at most 4 decimal places")
    if positive and value <= 0:
        raise RecordError("invalid", f"{name}: must be greater than 0")
    if nonzero and value == 0:
        raise RecordError("invalid", f"{name}: must not be 0")
    return value.quantize(QUANTUM)


def moment(raw: dict, name: str, *, required: bool = False, past: bool = False) -> datetime | None:
    """An ISO 8601 date-time (a bare date is midnight in the programme's time zone; a naive time is
    read in that zone)."""
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise RecordError("required", f"{name}: this field is required")
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = parse_datetime(value)
            if parsed is None and (day := parse_date(value)) is not None:
                parsed = datetime(day.year, day.month, day.day)
        except ValueError:
            parsed = None
    if parsed is None:
        raise RecordError("invalid", f"{name}: an ISO 8601 date-time is required")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if past and parsed > timezone.now():
        raise RecordError("invalid", f"{name}: must not be in the future")
    return parsed


def day(raw: dict, name: str) -> date | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) and len(value) <= 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RecordError("invalid", f"{name}: a date (YYYY-MM-DD) is required")
    return parsed


def obj(raw: dict, name: str) -> dict:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError("invalid", f"{name}: must be an object")
    return value


def bounded_object(raw: dict, name: str, *, max_keys: int | None = None, max_key: int = MAX_TEXT) -> dict:
    """A free-form object (`metadata`, `tags`, `details`), at most MAX_OBJECT_CHARS as JSON and,
    with `max_keys`, at most that many keys of at most `max_key` characters. Its numbers stay as
    parsed (Decimals)."""
    value = obj(raw, name)
    if not value:
        return {}
    if max_keys is not None and (len(value) > max_keys or any(len(key) > max_key for key in value)):
        raise RecordError("invalid", f"{name}: at most {max_keys} keys of at most {max_key} characters")
    if len(exact_dumps(value)) > MAX_OBJECT_CHARS:
        raise RecordError("invalid", f"{name}: at most {MAX_OBJECT_CHARS} characters as JSON")
    return value


def items(raw: dict, name: str, *, max_items: int) -> list:
    value = raw.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError("invalid", f"{name}: must be a list")
    if len(value) > max_items:
        raise RecordError("invalid", f"{name}: at most {max_items} items")
    return value


def record(raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise RecordError("invalid", "a record must be a JSON object")
    return raw
