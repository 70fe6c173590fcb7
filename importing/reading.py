"""Files of records for `import_programme`, read as a stream: JSON Lines or CSV, in constant
memory (one line, or one customer's rows, at a time), yielding `(line_number, record)` where the
record is the raw dict of exactly the migration API's shape, or a RecordError for a line that
could not be read (the reading goes on with the next line).

JSON Lines: one record a line, UTF-8; blank lines are skipped. Numbers are read as Decimal;
NaN, Infinity, NUL characters and lone surrogates are refused (as the API's parser does), and so
are lines over MAX_LINE bytes and objects nested deeper than core.parsers.MAX_DEPTH.

CSV (UTF-8, a header row naming the columns; docs/importing.md lists them): an empty cell is an
absent field, a JSON column holds JSON text. A column the kind does not know is refused (a
typo would otherwise import silently without it). Customers take one row per balance line: the
rows of one customer are consecutive and share its `id`; the customer's columns are read from
the first of them and may be repeated or left blank on the others (a different value is an
error); a row without `reward_id` and `amount` carries no balance line. Events and transactions
take one row each.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from core.parsers import MAX_DEPTH, find_bad_value, too_deep
from importing.records import RecordError

MAX_LINE = 1 << 20  # bytes of one JSON line (the API's body limit is of the same order)
FORMATS = ("jsonl", "csv")

CUSTOMER_COLUMNS = (
    "id", "name", "email", "registration_date", "gender", "dob", "document_type", "document_number", "country",
    "is_anonymous", "platforms", "tags", "metadata", "metrics",
)  # fmt: skip
BALANCE_COLUMNS = ("reward_id", "amount", "expiration_date", "brand_id", "channel_id", "store_id", "issued_at")
EVENT_COLUMNS = (
    "id", "customer_id", "brand_id", "type", "purchase_id", "value", "issued_at", "resolved_at", "platform", "order",
)  # fmt: skip
TRANSACTION_COLUMNS = ("id", "customer_id", "reward_id", "brand_id", "type", "amount", "created_at", "details")
JSON_COLUMNS = {"platforms", "tags", "metadata", "metrics", "order", "details", "is_anonymous"}
COLUMNS = {
    "customers": CUSTOMER_COLUMNS + BALANCE_COLUMNS,
    "events": EVENT_COLUMNS,
    "transactions": TRANSACTION_COLUMNS,
}


class FileError(Exception):
    """The file as a whole cannot be read (its header, its encoding): nothing past this point."""


def file_format(path: str | Path, given: str | None = None) -> str:
    """The format asked for, else the one the file's extension names (.jsonl, .ndjson, .csv)."""
    if given:
        if given not in FORMATS:
            raise FileError(f"unknown format {given!r}: {' or '.join(FORMATS)}")
        return given
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise FileError(f"cannot tell the format of {Path(path).name!r} from its extension: give --format")


def records_read(path: str | Path, *, kind: str, fmt: str) -> Iterator[tuple[int, dict | RecordError]]:
    """Stream the file's records: (line number, raw record or RecordError). Raises FileError."""
    if fmt == "jsonl":
        yield from _jsonl(path)
    elif kind == "customers":
        yield from _customer_rows(_csv(path, kind))
    else:
        for number, row in _csv(path, kind):
            yield number, row if isinstance(row, RecordError) else _flat(row, kind)


# ---- JSON Lines ----------------------------------------------------------------------------------


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


def json_value(text: str):
    """A JSON text as the API's parser reads it (Decimal numbers, no NaN or Infinity, no NUL
    or lone surrogate, bounded nesting). Raises RecordError."""
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise RecordError("invalid_json", f"not valid JSON: {exc}")
    # the full walks only when the text could hold what they look for (most lines cannot)
    if (text.count("{") + text.count("[") > MAX_DEPTH) and too_deep(value):
        raise RecordError("invalid_json", f"objects and arrays nest at most {MAX_DEPTH} levels")
    if ("\\u" in text or "\x00" in text) and (bad := find_bad_value(value)):
        raise RecordError("invalid_json", f"{bad[0]}: {bad[1]}")
    return value


def _jsonl(path) -> Iterator[tuple[int, dict | RecordError]]:
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, 1):
            if len(raw) > MAX_LINE:
                yield number, RecordError("too_long", f"a line holds at most {MAX_LINE} bytes")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, RecordError("invalid_json", "not UTF-8 text")
                continue
            if not text.strip():
                continue
            try:
                yield number, json_value(text)
            except RecordError as exc:
                yield number, exc


# ---- CSV ---------------------------------------------------------------------------------------


def _csv(path, kind: str) -> Iterator[tuple[int, dict | RecordError]]:
    """(first line of the row, {column: non-empty text}) per row."""
    known = COLUMNS[kind]
    with open(path, encoding="utf-8-sig", newline="") as stream:
        try:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                return
            header = [name.strip() for name in header]
            unknown = [name for name in header if name not in known]
            if unknown or len(set(header)) != len(header):
                raise FileError(
                    f"CSV header: unknown or repeated columns {', '.join(unknown) or 'repeated'}; "
                    f"a {kind} file takes {', '.join(known)}"
                )
            number = reader.line_num + 1
            for cells in reader:
                if len(cells) > len(header):
                    yield number, RecordError("invalid", f"{len(cells)} cells for {len(header)} columns")
                elif any(cells):
                    yield number, {name: cell for name, cell in zip(header, cells, strict=False) if cell != ""}
                number = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise FileError(f"not UTF-8 text past line {reader.line_num}: {exc.reason}")
        except csv.Error as exc:
            raise FileError(f"line {reader.line_num}: {exc}")


def _cell_json(row: dict, out: dict, name: str) -> None:
    if name in row:
        try:
            out[name] = json_value(row[name])
        except RecordError as exc:
            raise RecordError(exc.code, f"{name}: {exc.message}")


def _flat(row: dict, kind: str) -> dict | RecordError:
    """An event or transaction row in the record's shape."""
    out = {name: value for name, value in row.items() if name not in JSON_COLUMNS}
    try:
        for name in JSON_COLUMNS & set(row):
            _cell_json(row, out, name)
    except RecordError as exc:
        return exc
    if kind == "events":
        order = out.get("order")
        if order is not None and not isinstance(order, dict):
            return RecordError("invalid", "order: must be a JSON object")
        for name in ("purchase_id", "value"):
            if name in out:
                order = order if order is not None else {}
                order[name] = out.pop(name)
        if order is not None:
            out["order"] = order
    return out


def _customer_rows(rows: Iterator) -> Iterator[tuple[int, dict | RecordError]]:
    """Consecutive rows of one customer id grouped into one record (its balance lines); a row
    with a blank `id` continues the customer above it."""
    started, current, first_line, columns, problem, lines = False, None, 0, {}, None, []
    for number, row in rows:
        if isinstance(row, RecordError):
            yield number, row
            continue
        customer_id = row.get("id")
        if started and customer_id is not None and customer_id != current:
            yield first_line, problem or _customer(columns, lines)
            started = False
        if not started:
            started, current, first_line, problem, lines = True, customer_id, number, None, []
            columns = {name: value for name, value in row.items() if name in CUSTOMER_COLUMNS}
        else:
            for name in CUSTOMER_COLUMNS:
                if name in row and row[name] != columns.get(name):
                    if name in columns:
                        problem = problem or RecordError("invalid", f"{name}: differs between the customer's rows")
                    else:
                        columns[name] = row[name]
        line = {name: row[name] for name in BALANCE_COLUMNS if name in row}
        if line and len(lines) <= 50:  # one more than a record may hold, so that its cleaning refuses it
            lines.append(line)
    if started:
        yield first_line, problem or _customer(columns, lines)


def _customer(columns: dict, lines: list[dict]) -> dict | RecordError:
    out = {name: value for name, value in columns.items() if name not in JSON_COLUMNS}
    try:
        for name in JSON_COLUMNS & set(columns):
            _cell_json(columns, out, name)
    except RecordError as exc:
        return exc
    if lines:
        out["balance"] = lines
    return out
