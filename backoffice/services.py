"""The dashboard rollup: the one writer of the summary tables (backoffice.models).

Lifecycle: the periodic task (django-celery-beat, every 5 minutes) and `manage.py
rollup_dashboard` call `dashboard_rollup`, which recomputes the days of a window (today and
yesterday by default, in the programme's time zone) from the append-only ledger rows
(wallets.Transaction, by `created_at`) and event transitions (events.EventTransition, by `at`):
delete the window's summary rows, insert them again from one GROUP BY per table.

Invariants: a completed day's figures never change (its rows are never updated or deleted), so
rows outside the window are left alone; a row committed late (its transaction began before
midnight) still lands in yesterday, which the next run recomputes. Re-running changes nothing.

Lock order: the RollupRun row only (no ledger, event or wallet lock is taken; the reads are
plain SELECTs), so two runs (two beats, a slow run overlapping the next) wait for each other
instead of inserting the same day twice. Nothing here runs in the emit, fulfil or reverse paths.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from backoffice.models import EventStatusDay, LedgerDay, RollupRun
from core.amounts import exact
from core.clock import day_start
from events.models import EventTransition
from wallets.models import Transaction


def rollup_window(*, now: datetime, days: int) -> tuple[date, date, datetime, datetime]:
    """(first day, last day, first instant, end instant) of the `days` days ending with `now`'s day."""
    last = timezone.localdate(now)
    first = last - timedelta(days=max(days, 1) - 1)
    return first, last, day_start(first), day_start(last + timedelta(days=1))


def dashboard_rollup(*, now: datetime | None = None, days: int = 2) -> dict:
    """Recompute the summary rows of the `days` days ending today (or `now`'s day) from the
    ledger rows and event transitions, under the RollupRun row lock. Safe to run twice."""
    now = now or timezone.now()
    first, last, since, until = rollup_window(now=now, days=days)
    started = time.monotonic()
    try:
        with transaction.atomic():
            RollupRun.objects.get_or_create(pk=1)
    except IntegrityError:  # another run created it first
        pass
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        run = RollupRun.objects.select_for_update().get(pk=1)
        ledger = (
            Transaction.objects.filter(created_at__gte=since, created_at__lt=until)
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values_list("day", "type", "reward_id", "campaign_id")
            .annotate(
                credit=Sum("amount", filter=Q(amount__gt=0)),
                debit=Sum("amount", filter=Q(amount__lt=0)),
                n=Count("id"),
            )
            .order_by()
        )
        ledger_days = [
            LedgerDay(
                day=day,
                type=type_,
                reward_id=reward_id,
                campaign_id=campaign_id,
                credit=exact(credit),
                debit=exact(debit),
                rows=n,
            )
            for day, type_, reward_id, campaign_id, credit, debit, n in ledger
        ]
        statuses = (
            EventTransition.objects.filter(at__gte=since, at__lt=until)
            .annotate(day=TruncDate("at", tzinfo=tz))
            .values_list("day", "to_status")
            .annotate(n=Count("id"))
            .order_by()
        )
        status_days = [EventStatusDay(day=day, status=status, count=n) for day, status, n in statuses]
        LedgerDay.objects.filter(day__gte=first, day__lte=last).delete()
        EventStatusDay.objects.filter(day__gte=first, day__lte=last).delete()
        LedgerDay.objects.bulk_create(ledger_days, batch_size=2000)
        EventStatusDay.objects.bulk_create(status_days, batch_size=2000)
        run.finished_at = timezone.now()
        run.first_day, run.last_day = first, last
        run.took_ms = int((time.monotonic() - started) * 1000)
        run.save(update_fields=["finished_at", "first_day", "last_day", "took_ms"])
    return {
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "ledger_rows": len(ledger_days),
        "status_rows": len(status_days),
        "took_ms": run.took_ms,
    }
