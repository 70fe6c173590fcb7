"""Set-based writes: rows of one table written in batches, COPY on PostgreSQL and executemany on
SQLite, and primary keys drawn ahead for rows that other rows of the same COPY refer to.

Used where one statement per row would cost too much: the benchmark seeder
(backoffice.seeding) and the programme import (importing). These writes skip `save()`, signals
and model validation: the caller builds only rows the services would build, inside one
transaction of its own.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

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
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy,
                ):
                    for row in self.rows:
                        copy.write_row(row)
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
