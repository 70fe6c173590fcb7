"""Model instances from hand-written SQL, for the hot paths' reads (issue 11).

`rows_as(Model, sql, params)` is `list(Model.objects.raw(sql, params))`: one instance per row,
each column that is a field of the model converted as the ORM converts it (the backend's and
the field's converters: JSON with the field's decoder, SQLite's text as decimals and moments),
every other column set on the instance as it came (an annotation), the model's fields the query
did not select deferred. What it saves is RawQuerySet's work on every call (resolving the
columns against the model, building a compiler and its converters, the init order): under the
server that was about a seventh of a reverse's Python time (bench/profile_server.py); here it is
worked out once per model and column list and kept (a few dozen entries: one per statement).
"""

from __future__ import annotations

import threading

from django.db import connection
from django.db.models.base import DEFERRED
from django.db.models.sql import Query

_plans: dict = {}
_lock = threading.Lock()


def rows_as(model, sql: str, params) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = tuple(column[0] for column in cursor.description)
        rows = cursor.fetchall()
    if not rows:
        return []
    key = (model, columns, connection.vendor)
    plan = _plans.get(key)
    if plan is None:
        plan = _plan(model, columns)
        with _lock:
            _plans[key] = plan
    order, converters, extras = plan
    alias = connection.alias
    out = []
    for row in rows:
        values = list(row)
        for index, functions, expression in converters:
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
        instance = model.from_db(alias, None, [DEFERRED if i is None else values[i] for i in order])
        for index, name in extras:
            setattr(instance, name, values[index])
        out.append(instance)
    return out


def _plan(model, columns: tuple[str, ...]):
    """(for each concrete field in order, its column's index or None; the converters of the
    field columns; the other columns, by index and name)."""
    by_column = {f.column: f for f in model._meta.concrete_fields}
    index_of: dict = {}
    extras = []
    fields = []
    for index, name in enumerate(columns):
        field = by_column.get(name)
        if field is not None and field.attname not in index_of:
            index_of[field.attname] = index
            fields.append(field)
        else:
            fields.append(None)
            if field is None:  # a repeated field column (a join's) is left out, never set over the field
                extras.append((index, name))
    order = [index_of.get(f.attname) for f in model._meta.concrete_fields]
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, None)
    expressions = [f.get_col(model._meta.db_table) if f is not None else None for f in fields]
    converters = [
        (index, functions, expression)
        for index, (functions, expression) in compiler.get_converters(expressions).items()
    ]
    return order, converters, extras
