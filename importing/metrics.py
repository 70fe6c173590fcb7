"""Imported metrics (a customer record's `metrics`): read, checked against one another, and
written as brandless monthly buckets (wallets.MetricBucket, brand null: figures of unknown brand,
which `verify_ledger` does not rebuild from events).

A record's `metrics` is an object keyed by period: `"lifetime"` and/or months `"YYYY-MM"` of the
programme's time zone, each `{number_of_purchases, spend_total, events: {type: count},
last_visit}`. Each month becomes that month's bucket as given. What `lifetime` holds beyond the
months goes to the bucket of the customer's registration month (lifetime metrics then add up to
the lifetime sent; the months, this year, last quarter... add up to what the months said). A
lifetime below the months' sum is refused. The lifetime's last visit, when later than every
month's, is kept in the bucket of its own month (created empty if no month was given for it).
"""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from core.bulk import Table
from core.clock import month_of
from importing.records import RecordError, amount, moment
from wallets.models import MetricBucket

MAX_PERIODS = 241  # `lifetime` and 20 years of months
MAX_EVENT_TYPES = 100
MAX_COUNT = 10**9  # a count of purchases or of events
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
ZERO = Decimal(0)


def _figures(raw, where: str) -> dict:
    if not isinstance(raw, dict):
        raise RecordError("invalid", f"{where}: must be an object")
    purchases = _count(raw.get("number_of_purchases", 0), f"{where}.number_of_purchases")
    try:
        spend = amount({"spend_total": raw.get("spend_total", 0)}, "spend_total")
        last_visit = moment(raw, "last_visit", past=True)
    except RecordError as exc:
        raise RecordError(exc.code, f"{where}.{exc.message}")
    if spend < 0:
        raise RecordError("invalid", f"{where}.spend_total: must not be negative")
    events = raw.get("events") or {}
    if not isinstance(events, dict) or len(events) > MAX_EVENT_TYPES:
        raise RecordError("invalid", f"{where}.events: an object of at most {MAX_EVENT_TYPES} event types")
    for name in events:
        if not 0 < len(name) <= 64:
            raise RecordError("invalid", f"{where}.events: event types of 1 to 64 characters")
    events = {name: _count(n, f"{where}.events.{name}") for name, n in events.items()}
    return {"number_of_purchases": purchases, "spend_total": spend, "events": events, "last_visit": last_visit}


def _count(value, where: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise RecordError("invalid", f"{where}: a whole number from 0 to {MAX_COUNT}")
    return value


def metrics_clean(raw: dict) -> dict:
    """`{"months": {first day: figures}, "rest": figures or None}`: the months as given, and
    what `lifetime` holds beyond them (None without a lifetime), for the registration month.
    A lifetime below the months' sum, or with a last visit before one of theirs, is refused;
    a lifetime's last visit later than all of theirs goes to its own month's bucket."""
    if len(raw) > MAX_PERIODS:
        raise RecordError("invalid", f"metrics: at most {MAX_PERIODS} periods")
    months: dict[date, dict] = {}
    this_month = _this_month()
    for period, figures in raw.items():
        if period == "lifetime":
            continue
        match = _MONTH.match(period) if isinstance(period, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise RecordError("invalid", f'metrics.{period}: periods are "lifetime" and months "YYYY-MM"')
        month = date(int(match.group(1)), int(match.group(2)), 1)
        if month > this_month:
            raise RecordError("invalid", f"metrics.{period}: a month in the future")
        months[month] = _figures(figures, f"metrics.{period}")
        visit = months[month]["last_visit"]
        if visit is not None and month_of(visit) != month:
            raise RecordError("invalid", f"metrics.{period}.last_visit: not in that month")
    if "lifetime" not in raw:
        return {"months": months, "rest": None}
    lifetime = _figures(raw["lifetime"], "metrics.lifetime")
    rest = {
        "number_of_purchases": lifetime["number_of_purchases"] - sum(m["number_of_purchases"] for m in months.values()),
        "spend_total": lifetime["spend_total"] - sum((m["spend_total"] for m in months.values()), ZERO),
        "events": dict(lifetime["events"]),
        "last_visit": None,
    }
    for figures in months.values():
        for name, n in figures["events"].items():
            rest["events"][name] = rest["events"].get(name, 0) - n
    if rest["number_of_purchases"] < 0 or rest["spend_total"] < 0 or any(n < 0 for n in rest["events"].values()):
        raise RecordError("invalid", "metrics.lifetime: less than the months given add up to")
    rest["events"] = {name: n for name, n in rest["events"].items() if n}
    visits = [m["last_visit"] for m in months.values() if m["last_visit"] is not None]
    last = lifetime["last_visit"]
    if visits and (last is None or last < max(visits)):
        if last is not None:
            raise RecordError("invalid", "metrics.lifetime.last_visit: before a month's last visit")
    elif last is not None and (not visits or last > max(visits)):
        month = month_of(last)
        if month in months and months[month]["last_visit"] is not None:
            raise RecordError("invalid", f"metrics.lifetime.last_visit: later than {month:%Y-%m}'s last visit")
        bucket = months.setdefault(month, _empty())
        bucket["last_visit"] = last
    return {"months": months, "rest": rest}


_clock = [0.0, None]  # (monotonic time, this month): read at most once a second


def _this_month() -> date:
    if _clock[1] is None or time.monotonic() - _clock[0] > 1.0:
        _clock[:] = [time.monotonic(), month_of(timezone.now())]
    return _clock[1]


def _empty() -> dict:
    return {"number_of_purchases": 0, "spend_total": ZERO, "events": {}, "last_visit": None}


def buckets_write(records: list[dict], *, now: datetime) -> None:
    """The brandless buckets of `records` (their customers just written): one COPY."""
    zone = timezone.get_current_timezone()  # month_of's, read once for the batch
    buckets = Table(
        MetricBucket,
        ["customer_id", "month", "number_of_purchases", "spend_total", "events", "last_visit"],
        batch=len(records) * MAX_PERIODS + 1,
    )
    for rec in records:
        months, rest = rec["metrics"]["months"], rec["metrics"]["rest"]
        if not months and rest is None:
            continue
        months = {month: dict(figures) for month, figures in months.items()}
        if rest is not None and (rest["number_of_purchases"] or rest["spend_total"] or rest["events"]):
            local = (rec["registration_date"] or now).astimezone(zone)
            home = months.setdefault(date(local.year, local.month, 1), _empty())
            home["number_of_purchases"] += rest["number_of_purchases"]
            home["spend_total"] += rest["spend_total"]
            home["events"] = {
                name: home["events"].get(name, 0) + rest["events"].get(name, 0)
                for name in {**home["events"], **rest["events"]}
            }
        for month, f in months.items():
            buckets.add(rec["id"], month, f["number_of_purchases"], f["spend_total"], json.dumps(f["events"]),
                        f["last_visit"])  # fmt: skip
    buckets.write()
