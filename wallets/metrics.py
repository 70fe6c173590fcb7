"""A customer's metric buckets (one per month and brand): counting a RESOLVED event in or out.
The caller holds the customer's wallet lock, which serialises writes to the buckets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection

from core.rows import rows_as
from wallets.models import MetricBucket


def metrics_apply(
    *,
    customer_id: str,
    brand_id: str | None,
    month,
    event_type: str,
    is_purchase: bool,
    spend: Decimal,
    issued_at: datetime,
    sign: int,
    last_visit: datetime | None = None,
    last_visit_query: tuple[str, tuple] | None = None,
    with_buckets: bool = False,
) -> list[MetricBucket] | None:
    """Add (sign=1) or take back (sign=-1) one RESOLVED event in its month's bucket at its brand. The
    caller holds the customer's wallet lock, which serialises writes to the buckets. Taking back
    sets the bucket's `last_visit` to `last_visit`, or to what `last_visit_query` (SQL and its
    parameters: one column, at most one row) selects. On PostgreSQL either is one INSERT ... ON
    CONFLICT DO UPDATE (the query inside it), and `with_buckets` then returns every bucket of the
    customer as it stands after it, read by the same statement (else None: the caller reads them
    if it needs them)."""
    if connection.vendor == "postgresql":
        if sign > 0:
            return _metrics_add_upsert(
                customer_id, brand_id, month, event_type, int(is_purchase), spend, issued_at, with_buckets=with_buckets
            )
        return _metrics_take_back_upsert(
            customer_id, brand_id, month, event_type, int(is_purchase), spend, last_visit, last_visit_query,
            with_buckets=with_buckets,
        )  # fmt: skip
    if last_visit_query is not None:
        with connection.cursor() as cursor:
            cursor.execute(*last_visit_query)
            row = cursor.fetchone()
        last_visit = None if row is None else connection.ops.convert_datetimefield_value(row[0], None, connection)
    bucket, _ = MetricBucket.objects.get_or_create(customer_id=customer_id, month=month, brand_id=brand_id)
    bucket.number_of_purchases += sign * int(is_purchase)
    bucket.spend_total += sign * spend
    counts = dict(bucket.events)
    counts[event_type] = counts.get(event_type, 0) + sign
    if counts[event_type] <= 0:
        counts.pop(event_type)
    bucket.events = counts
    if sign > 0:
        bucket.last_visit = max(filter(None, [bucket.last_visit, issued_at]))
    else:
        bucket.last_visit = last_visit
    bucket.save(update_fields=["number_of_purchases", "spend_total", "events", "last_visit"])
    return None


# The bucket's unique constraints are partial (brand set, or brand null), so the conflict target
# names the columns and the predicate of the one that applies: PostgreSQL infers that index only.
_UPSERT = """
INSERT INTO wallets_metricbucket AS b (customer_id, month, brand_id, number_of_purchases, spend_total, events, last_visit)
VALUES (%(customer)s, %(month)s, %(brand)s, %(purchases)s, %(spend)s, jsonb_build_object(%(type)s::text, 1), %(at)s)
ON CONFLICT {target} DO UPDATE SET
    number_of_purchases = b.number_of_purchases + EXCLUDED.number_of_purchases,
    spend_total = b.spend_total + EXCLUDED.spend_total,
    events = b.events || jsonb_build_object(%(type)s::text, COALESCE((b.events ->> %(type)s::text)::int, 0) + 1),
    last_visit = GREATEST(b.last_visit, EXCLUDED.last_visit)
"""
# ... and every bucket of the customer after it: the upserted row from RETURNING, the others from
# the table (the statement's snapshot predates the upsert, so the upserted row's old version is left out).
_BUCKET_COLUMNS = "id, customer_id, month, brand_id, number_of_purchases, spend_total, events, last_visit"
_RETURNING_BUCKETS = (
    "WITH up AS ({upsert} RETURNING " + ", ".join(f"b.{c}" for c in _BUCKET_COLUMNS.split(", ")) + ") "
    f"SELECT {_BUCKET_COLUMNS} FROM up UNION ALL SELECT {_BUCKET_COLUMNS} FROM wallets_metricbucket "
    "WHERE customer_id = %s AND id NOT IN (SELECT id FROM up)"
)
_UPSERT_RETURNING_BUCKETS = _RETURNING_BUCKETS.replace("%s", "%(customer)s")
_TARGET_BRAND = "(customer_id, month, brand_id) WHERE brand_id IS NOT NULL"
_TARGET_NO_BRAND = "(customer_id, month) WHERE brand_id IS NULL"


def _metrics_add_upsert(
    customer_id, brand_id, month, event_type, purchases, spend, issued_at, *, with_buckets: bool
) -> list[MetricBucket] | None:
    """metrics_apply(sign=1) in one statement instead of a select, an insert and an update."""
    ops = connection.ops
    sql = _UPSERT.format(target=_TARGET_BRAND if brand_id is not None else _TARGET_NO_BRAND)
    params = {
        "customer": customer_id,
        "month": month,
        "brand": brand_id,
        "purchases": purchases,
        "spend": ops.adapt_decimalfield_value(spend, 20, 4),
        "type": event_type,
        "at": ops.adapt_datetimefield_value(issued_at),
    }
    if with_buckets:
        return rows_as(MetricBucket, _UPSERT_RETURNING_BUCKETS.format(upsert=sql.strip()), params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return None


# Taking an event back (get_or_create, then the counts less the event's, its type's count gone
# at zero, last_visit as given) in one statement; positional parameters, so that the caller's
# last-visit query (an ORM queryset's SQL) can sit inside it.
_TAKE_BACK = """
INSERT INTO wallets_metricbucket AS b (customer_id, month, brand_id, number_of_purchases, spend_total, events, last_visit)
VALUES (%s, %s, %s, %s, %s, '{{}}'::jsonb, {last_visit})
ON CONFLICT {target} DO UPDATE SET
    number_of_purchases = b.number_of_purchases + EXCLUDED.number_of_purchases,
    spend_total = b.spend_total + EXCLUDED.spend_total,
    events = CASE WHEN COALESCE((b.events ->> %s::text)::int, 0) - 1 <= 0 THEN b.events - %s::text
             ELSE b.events || jsonb_build_object(%s::text, (b.events ->> %s::text)::int - 1) END,
    last_visit = EXCLUDED.last_visit
"""


def _metrics_take_back_upsert(
    customer_id, brand_id, month, event_type, purchases, spend, last_visit, last_visit_query, *, with_buckets: bool
) -> list[MetricBucket] | None:
    ops = connection.ops
    if last_visit_query is not None:
        visit_sql, visit_params = f"({last_visit_query[0]})", list(last_visit_query[1])
    else:
        visit_sql, visit_params = "%s", [ops.adapt_datetimefield_value(last_visit)]
    sql = _TAKE_BACK.format(
        last_visit=visit_sql, target=_TARGET_BRAND if brand_id is not None else _TARGET_NO_BRAND
    ).strip()
    params = [customer_id, month, brand_id, -purchases, ops.adapt_decimalfield_value(-spend, 20, 4)]
    params += visit_params + [event_type] * 4
    if with_buckets:
        sql = _RETURNING_BUCKETS.format(upsert=sql)
        return rows_as(MetricBucket, sql, [*params, customer_id])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return None
