"""Streaming the ledger out for a data warehouse or an auditor (backoffice's `export_ledger`):
the ledger rows of a period, and a snapshot of every wallet's totals, in constant memory.

- Rows are read by keyset pagination on the primary key (`id > last ORDER BY id LIMIT n`), one
  query per chunk: memory holds one chunk, whatever the size of the ledger, and the query count
  grows with the chunks (tests/exporting prove both). A server-side cursor (`.iterator()`) would
  stream too, but needs a transaction-bound cursor on PostgreSQL and cannot be observed chunk by
  chunk; keyset pages are plain queries that any pooler passes through.
- The period is half-open on `created_at`: [start, end). `parse_bound` reads a date as a whole
  day of the programme's time zone (`--to` inclusive) and a date-time as it is (`--to` exclusive),
  like `fulfill_expired_events`. Rows are ordered by id, the order they were written in.
- `consistent_snapshot` runs the whole export in one read-only REPEATABLE READ transaction on
  PostgreSQL: the ledger rows and the wallet totals are read from the same snapshot, so the
  snapshot's balances are the sum of the ledger as exported, even while events keep arriving.
- Values are text that parses back exactly: amounts are decimal strings with the columns' 4
  places (`12.5000`, never a float, in CSV and in JSONL alike), times ISO 8601 in UTC, ids as
  they are, `details` a JSON object (JSON text in a CSV cell). None is an empty CSV cell, null
  in JSONL.

This module knows only the wallets' tables; the command (backoffice) adds the imported history
(importing.HistoricalTransaction) through the same `keyset` and `Writer`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, QuerySet, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.amounts import exact
from core.clock import day_start
from core.json import ExactJSONEncoder
from wallets.models import Transaction, WalletLine, WalletTotal

CHUNK = 2000
FORMATS = ("csv", "jsonl")
# (column, field of values_list): the ledger rows as exported
LEDGER = [
    ("id", "id"),
    ("created_at", "created_at"),
    ("type", "type"),
    ("amount", "amount"),
    ("cost", "cost"),
    ("customer_id", "wallet__customer_id"),
    ("wallet_id", "wallet_id"),
    ("reward_id", "reward_id"),
    ("brand_id", "brand_id"),
    ("campaign_id", "campaign_id"),
    ("event_id", "event_id"),
    ("line_id", "line_id"),
    ("details", "details"),
]
SNAPSHOT_COLUMNS = ["customer_id", "wallet_id", "reward_id", "balance", "reserved", "pending", "debt", "total", "as_of"]


class BadBound(ValueError):
    """A --from or --to that is neither a date nor an ISO 8601 date-time."""


def parse_bound(text: str, *, end: bool) -> datetime:
    """A period bound: `YYYY-MM-DD` is a whole day of the programme's time zone (as `end`, the
    next day's midnight: the day is included); an ISO 8601 date-time is taken as it is (naive:
    the programme's time zone)."""
    text = text.strip()
    try:
        day = parse_date(text) if len(text) == 10 else None
        moment = None if day is not None else parse_datetime(text)
    except ValueError:  # well formed, but no such day or time
        day = moment = None
    if day is not None:
        return day_start(day + timedelta(days=1) if end else day)
    if moment is None:
        raise BadBound(f"not a date: {text!r} (YYYY-MM-DD or an ISO 8601 date-time)")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


@contextmanager
def consistent_snapshot():
    """One transaction for the whole export: read-only REPEATABLE READ on PostgreSQL (every query
    sees the same snapshot), a plain transaction elsewhere. Inside an outer transaction (tests)
    the isolation level cannot change any more: the outer one's is used."""
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def keyset_pages(queryset: QuerySet, fields: list[str], *, chunk_size: int = CHUNK) -> Iterator[list[tuple]]:
    """`values_list(*fields)` of `queryset` in id order, one query (one list) of at most
    `chunk_size` rows at a time (the first field must be the primary key)."""
    last = None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        rows = list(page.order_by("pk").values_list(*fields)[:chunk_size])
        if rows:
            yield rows
        if len(rows) < chunk_size:
            return
        last = rows[-1][0]


def keyset(queryset: QuerySet, fields: list[str], *, chunk_size: int = CHUNK) -> Iterator[tuple]:
    """The rows of `keyset_pages`, one by one."""
    for page in keyset_pages(queryset, fields, chunk_size=chunk_size):
        yield from page


@dataclass
class Stream:
    """Rows to write (dicts of the columns) and how many there will be (for the progress bar)."""

    columns: list[str]
    total: int
    rows: Iterator[dict]


def period_stream(queryset: QuerySet, columns: list[tuple[str, str]], *, chunk_size: int = CHUNK) -> Stream:
    """The rows of `queryset` (already limited to the period) as dicts of `columns`. One
    aggregate first counts them and finds their first and last id, so that every chunk query
    scans the primary key between those two and no further."""
    found = queryset.aggregate(n=Count("pk"), lo=Min("pk"), hi=Max("pk"))
    if not found["n"]:
        return Stream([c for c, _f in columns], 0, iter(()))
    bounded = queryset.filter(pk__gte=found["lo"], pk__lte=found["hi"])
    names = [c for c, _f in columns]
    tuples = keyset(bounded, [f for _c, f in columns], chunk_size=chunk_size)
    return Stream(names, found["n"], (dict(zip(names, row, strict=True)) for row in tuples))


def ledger_stream(*, start: datetime, end: datetime, chunk_size: int = CHUNK) -> Stream:
    """The ledger rows created in [start, end), in id order."""
    rows = Transaction.objects.filter(created_at__gte=start, created_at__lt=end)
    return period_stream(rows, LEDGER, chunk_size=chunk_size)


def snapshot_stream(*, now: datetime, chunk_size: int = CHUNK) -> Stream:
    """Every wallet total (one row per customer and reward the wallet has held), in total id
    order, as balances are reported at `now`: `total` is the spendable amount (balance less
    reserved, less what sits on lines already past their date; wallets.selectors.wallet_view),
    `balance`, `reserved`, `pending` and `debt` as stored. One more query per chunk reads the
    chunk's lines past their date (the partial index line_due_idx)."""
    fields = ["id", "wallet__customer_id", "wallet_id", "reward_id", "balance", "reserved", "pending", "debt"]

    def rows() -> Iterator[dict]:
        for page in keyset_pages(WalletTotal.objects.all(), fields, chunk_size=chunk_size):
            yield from _snapshot_rows(page, now)

    return Stream(SNAPSHOT_COLUMNS, WalletTotal.objects.count(), rows())


def _snapshot_rows(chunk: list[tuple], now: datetime) -> Iterator[dict]:
    stale = (
        WalletLine.objects.filter(
            state=WalletLine.State.AVAILABLE, expiration_date__lte=now, wallet_id__in={r[2] for r in chunk}
        )
        .values_list("wallet_id", "reward_id")
        .annotate(free=Sum(F("remaining") - F("reserved")))
        .order_by()
    )
    past = {(wallet_id, reward_id): exact(free) for wallet_id, reward_id, free in stale}
    for _id, customer_id, wallet_id, reward_id, balance, reserved, pending, debt in chunk:
        balance, reserved = exact(balance), exact(reserved)
        yield {
            "customer_id": customer_id,
            "wallet_id": wallet_id,
            "reward_id": reward_id,
            "balance": balance,
            "reserved": reserved,
            "pending": exact(pending),
            "debt": exact(debt),
            "total": balance - reserved - past.get((wallet_id, reward_id), Decimal(0)),
            "as_of": now,
        }


# ---- writing ---------------------------------------------------------------------------------------


def text_of(value, *, in_csv: bool):
    """A value as exported: amounts as exact decimal text (4 places), times ISO 8601 in UTC."""
    if value is None:
        return "" if in_csv else None
    if isinstance(value, Decimal):
        return format(exact(value), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, cls=ExactJSONEncoder, sort_keys=True, ensure_ascii=False) if in_csv else value
    return value


class Writer:
    """Writes rows to an open text stream as CSV (a header, then one line per row) or JSONL
    (one JSON object per line)."""

    def __init__(self, out, *, fmt: str, columns: list[str]):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.out, self.fmt, self.columns = out, fmt, columns
        self.rows = 0
        if fmt == "csv":
            self._csv = csv.writer(out, lineterminator="\n")
            self._csv.writerow(columns)

    def write(self, row: dict) -> None:
        if self.fmt == "csv":
            self._csv.writerow([text_of(row[c], in_csv=True) for c in self.columns])
        else:
            values = {c: text_of(row[c], in_csv=False) for c in self.columns}
            self.out.write(json.dumps(values, cls=ExactJSONEncoder, ensure_ascii=False) + "\n")
        self.rows += 1
