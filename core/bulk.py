"""Set-based writes: rows of one table written in batches, COPY on PostgreSQL and executemany on
SQLite, and primary keys drawn ahead for rows that other rows of the same COPY refer to.

Used where one statement per row would cost too much: the benchmark seeder
(backoffice.seeding) and the programme import (importing). These writes skip `save()`, signals
and model validation: the caller builds only rows the services would build, inside one
transaction of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import psycopg
from django.db import connection
from django.db.models.fields.json import JSONField

BATCH = 20_000  # rows buffered before a write


class Table:
    """Rows of one table, given as tuples of `columns` (attnames); every other column takes its
    field's default (the same for every row). Written in batches: COPY or executemany.

    Values go as they are: a JSON column named in `columns` takes JSON text (json.dumps), an
    amount a Decimal, a moment an aware datetime."""

    def __init__(self, model, columns: list[str], *, batch: int = BATCH):
        fields = {f.attname: f for f in model._meta.concrete_fields}
        rest = [f for name, f in fields.items() if name not in columns and not (f.primary_key and name == "id")]
        self.fields = [fields[c] for c in columns] + rest
        self.tail = tuple(self._json(f, f.get_default()) for f in rest)
        self.table = model._meta.db_table
        self.pg = connection.vendor == "postgresql"
        self.batch = batch
        self.rows: list[tuple] = []
        self.count = 0

    @staticmethod
    def _json(field, value):
        return json.dumps(value) if isinstance(field, JSONField) and value is not None else value

    def add(self, *row) -> None:
        self.rows.append(row + self.tail)
        if len(self.rows) >= self.batch:
            self.write()

    def write(self) -> None:
        if not self.rows:
            return
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        with connection.cursor() as cursor:
            if self.pg:  # psycopg's own cursor: its errors wrapped as Django's (IntegrityError...)
                start = time.monotonic()
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy,
                ):
                    for row in self.rows:
                        copy.write_row(row)
                _log(f"COPY {self.table} ({columns}) FROM STDIN", start)
            else:
                marks = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({columns}) VALUES ({marks})",
                    [tuple(map(_sqlite, r)) for r in self.rows],
                )
        self.count += len(self.rows)
        self.rows = []


def _sqlite(value):
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def next_ids(model, count: int) -> list[int]:
    """`count` fresh values of the model's auto-increment primary key, for rows written with an
    explicit id (other rows refer to them in the same COPY). PostgreSQL draws them from the
    sequence (concurrent writers get others); SQLite takes the ones after the largest id, which
    is safe only once the transaction has written (SQLite then holds its one write lock)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def rows_update(model, rows: list[tuple], *, columns: list[str], same: dict | None = None) -> None:
    """UPDATE rows of `model` by primary key in one statement: `rows` are tuples of (pk,
    *values of `columns`) (attnames), `same` the columns every row takes the same value of.
    PostgreSQL: one UPDATE ... FROM unnest(<one array per column>); SQLite: one executemany.
    Values are converted as each field converts them (JSON with its encoder, amounts, moments)."""
    if not rows:
        return
    same = same or {}
    fields = {f.attname: f for f in model._meta.concrete_fields}
    pk = model._meta.pk
    quote = connection.ops.quote_name
    table = model._meta.db_table
    assigned = [f"{quote(fields[c].column)} = %s" for c in same]
    same_values = [_prep(fields[c], v) for c, v in same.items()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = [pk.attname, *columns]
            arrays = [
                f"%b::{fields[c].db_type(connection) if not isinstance(fields[c], JSONField) else 'jsonb'}[]"
                for c in names
            ]
            assigned += [f"{quote(fields[c].column)} = v.c{k + 1}" for k, c in enumerate(columns)]
            columns_of_v = ", ".join(f"c{k}" for k in range(len(names)))
            sql = (
                f"UPDATE {quote(table)} AS t SET {', '.join(assigned)} "
                f"FROM unnest({', '.join(arrays)}) AS v({columns_of_v}) WHERE t.{quote(pk.column)} = v.c0"
            )
            params = [*same_values, *([_prep(fields[c], row[k]) for row in rows] for k, c in enumerate(names))]
            # A server-binding psycopg cursor on the same connection, parameters sent binary:
            # Django's cursor binds client-side, as text, and a text array escapes every quote
            # of every JSON value in Python. Logged as Django logs its own queries.
            start = time.monotonic()
            with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as raw:
                raw.execute(sql, params)
            _log(sql, start)
        else:
            assigned += [f"{quote(fields[c].column)} = %s" for c in columns]
            cursor.executemany(
                f"UPDATE {quote(table)} SET {', '.join(assigned)} WHERE {quote(pk.column)} = %s",
                [
                    (
                        *same_values,
                        *(_prep(fields[c], v) for c, v in zip(columns, row[1:], strict=True)),
                        _prep(pk, row[0]),
                    )
                    for row in rows
                ],
            )


def _log(sql: str, start: float) -> None:
    """Record a statement sent past Django's cursor (COPY, binary parameters) in
    `connection.queries`, as Django's debug cursor records its own (CaptureQueriesContext)."""
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - start:.3f}"})


def _prep(field, value):
    """A value as the database takes it: JSON as text (the field's encoder), the rest as the
    field prepares it (SQLite: UUIDs as hex, moments and amounts as text)."""
    if value is None:
        return None
    if isinstance(field, JSONField):
        return json.dumps(value, cls=field.encoder)
    if connection.vendor == "postgresql":
        return value
    return field.get_db_prep_value(value, connection)


_INSERTS: dict = {}  # (model, rows) -> the statement: at most a few models x _INSERT_MAX_ROWS
_INSERT_MAX_ROWS = 20


def insert_objects(objs: list) -> None:
    """`Model.objects.bulk_create(objs)` for new rows of one model: the same columns and values
    (each field's `pre_save`, auto timestamps included, and `get_db_prep_save`, as Django's
    insert compiler takes them), the auto-increment ids set on the objects from `RETURNING`, no
    signals (bulk_create sends none either). On PostgreSQL the statement's text is built once per
    model and row count instead of by the ORM's compiler on every call (issue 11: the Ledger's
    inserts of each emit, fulfil and reverse); elsewhere, and past _INSERT_MAX_ROWS rows, it is
    bulk_create."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql" or len(objs) > _INSERT_MAX_ROWS:
        model.objects.bulk_create(objs)  # (many rows: the compiler's cost is small beside theirs)
        return
    meta = model._meta
    auto = meta.pk if meta.pk.attname == "id" and meta.pk.get_internal_type().endswith("AutoField") else None
    fields = [f for f in meta.concrete_fields if f is not auto]
    key = (model, len(objs))
    sql = _INSERTS.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row] * len(objs))}" + (f" RETURNING {quote(auto.column)}" if auto else "")
        )
        _INSERTS[key] = sql
    params = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        params.extend(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = cursor.fetchall() if auto else ()
    for obj, row in zip(objs, ids, strict=False):
        setattr(obj, auto.attname, row[0])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
