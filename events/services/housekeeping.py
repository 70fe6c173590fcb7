"""The periodic task's work (`housekeeping_run`, django-celery-beat every minute): expire due
held events, expire due wallet lines, re-send queued events whose task was lost, purge old
idempotency records.

Every job is safe to run in several workers at once and to repeat: held events are claimed in
batches with FOR UPDATE SKIP LOCKED (a batch's wallets are then locked in id order, so two runs
never deadlock), wallets with due lines are skipped while another worker holds them, and a
re-sent task finds its event already applied and does nothing. Deadlines default to the
database's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.clock import db_now
from events.announce import programme_version_column
from events.codes import codes_purge
from events.idempotency import idempotency_purge
from events.models import Event
from events.selectors import events_due, events_expired_unfulfilled
from events.services.emit import send_process
from events.services.transitions import event_release
from events.status import Source
from wallets.announce import expiring_announce
from wallets.ledger import wallets_lock
from wallets.models import WalletLine
from wallets.services import wallet_expire_due
from webhooks.retention import deliveries_purge, notices_purge

Status = Event.Status


def housekeeping_run(*, now: datetime | None = None) -> dict:
    """The periodic task, its jobs in order: due held events, due wallet lines, queued events
    whose task was lost, idempotency records older than 24 hours, spent and long-expired
    customer one-time codes, today's BIRTHDAY events (events.lifecycle), lines about to expire
    (REWARDS_EXPIRING webhooks, wallets.announce), webhook deliveries past their retention
    (webhooks.retention). Returns the counts."""
    from events.lifecycle import birthdays_record  # it emits through events.services

    events = event_expire_due(now=now)
    lines = wallet_expire_due(now=now or db_now(), batch_size=settings.LOYALTY_EXPIRY_BATCH_SIZE)
    return {
        "events_expired": len(events),
        "lines_expired": lines,
        "requeued": event_requeue_stale(),
        "idempotency_keys_purged": idempotency_purge(),
        "codes_purged": codes_purge(),
        "birthdays": birthdays_record(now=now),
        "expiring_announced": expiring_announce(now=now or db_now()),
        "webhook_deliveries_purged": deliveries_purge(),
        "expiry_notices_purged": notices_purge(),
    }


def event_expire_due(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 50, source: Source = Source.TASK
) -> list:
    """Expire held events past their reservation deadline, in batches of `batch_size`, each batch
    one transaction whose events are claimed with FOR UPDATE SKIP LOCKED: runs at once share the
    work and never release twice. `now` defaults to the database's clock. Returns expired ids."""
    batch_size = batch_size or settings.LOYALTY_EXPIRY_BATCH_SIZE
    expired = []
    for _ in range(max_batches):
        with transaction.atomic():
            due = events_due(now=now)
            batch = list(
                due.select_for_update(skip_locked=True)
                .annotate(programme_version=programme_version_column())  # for events.announce
                .order_by("reservation_expires_at", "id")[:batch_size]
            )
            # Lock the batch's wallets up front in id order: two runs whose batches share
            # customers would otherwise take them in deadline order and deadlock.
            wallets_lock(customer_ids={event.customer_id for event in batch})
            stamp = now or timezone.now()
            for event in batch:
                event_release(
                    event,
                    drop_state=WalletLine.State.EXPIRED,
                    to=Status.EXPIRED,
                    at=stamp,
                    source=source,
                    reason="reservation window ended",
                )
                expired.append(event.pk)
        if len(batch) < batch_size:
            break
    return expired


def event_requeue_stale(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Queued events whose task was lost (the process died between commit and send, or the
    broker dropped it) are sent again. Processing is idempotent, so a duplicate is harmless."""
    stale = list(Event.objects.filter(queued=True, status=Status.PENDING, created_at__lt=timezone.now() - older_than))
    for event in stale:
        send_process(event)
    return len(stale)


MAX_LATE_FULFILMENTS = 500  # events queued by one call of POST /customers/fulfill_expired_events


def events_fulfill_expired_queue(*, issued_from: datetime, issued_to: datetime, brands: set[str] | None = None) -> int:
    """Queue for a Celery worker the late fulfilment (event_fulfill_expired) of the held events
    issued in [issued_from, issued_to) that EXPIRED although the shop fulfilled them: at most
    MAX_LATE_FULFILMENTS, oldest first, only `brands`' when given. The tasks are sent once the
    caller's transaction commits; each one's outcome (a new RESOLVED or FAILED event linked by
    `replaces`) is visible on the event, and a redelivered task applies nothing twice (the
    service refuses a second late fulfilment). Returns how many were queued."""
    from events.tasks import fulfill_expired

    due = events_expired_unfulfilled(issued_from=issued_from, issued_to=issued_to)
    if brands is not None:
        due = due.filter(brand_id__in=brands)
    ids = [str(pk) for pk in due.values_list("pk", flat=True)[:MAX_LATE_FULFILMENTS]]
    for event_id in ids:
        transaction.on_commit(lambda event_id=event_id: fulfill_expired.delay(event_id))
    return len(ids)
