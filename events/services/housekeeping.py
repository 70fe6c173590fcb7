"""The periodic task's work (`housekeeping_run`, django-celery-beat every minute): expire due
held events, expire due wallet lines, re-send queued events whose task was lost, purge old
idempotency records.

Every job is safe to run in several workers at once and to repeat: held events are claimed in
batches with FOR UPDATE SKIP LOCKED (a batch's wallets are then locked in id order, so two runs
never deadlock; a batch is released together, in a fixed number of statements: `events_release`), wallets with due lines are skipped while another worker holds them, and a
re-sent task finds its event already applied and does nothing. Deadlines default to the
database's clock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from campaigns.services import campaign_budgets_add, campaign_budgets_lock
from core.amounts import exact
from core.clock import db_now
from core.exceptions import NotFound
from core.json import jsonable
from events import extensions
from events.announce import programme_version_column
from events.codes import codes_purge
from events.idempotency import idempotency_purge
from events.metrics import BY_BRAND
from events.models import Event
from events.selectors import events_due, events_expired_unfulfilled
from events.services.emit import send_process
from events.services.outcome import render_result
from events.services.transitions import event_release
from events.status import Source, events_transition
from wallets.announce import expiring_announce
from wallets.ledger import wallets_ledger
from wallets.locks import wallets_lock
from wallets.models import MetricBucket, WalletLine
from wallets.selectors import lifetime_metrics, wallet_view_now, wallet_views_base
from wallets.services import held_batch_load, held_batch_release, wallet_expire_due
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
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 100, source: Source = Source.TASK
) -> list:
    """Expire held events past their reservation deadline, in batches of `batch_size`
    (LOYALTY_EVENT_EXPIRY_BATCH_SIZE), each batch one transaction whose events are claimed with
    FOR UPDATE SKIP LOCKED: runs at once share the work and never release twice. `now` defaults
    to the database's clock. Returns expired ids, in deadline order within each batch."""
    batch_size = batch_size or settings.LOYALTY_EVENT_EXPIRY_BATCH_SIZE
    expired = []
    for _ in range(max_batches):
        with transaction.atomic():
            batch = _claim(now=now, size=batch_size)
            # Lock the batch's wallets up front in id order: two runs whose batches share
            # customers would otherwise take them in deadline order and deadlock.
            wallets_lock(customer_ids={event.customer_id for event in batch})
            stamp = now or timezone.now()
            # An event an app's hooks act on (its result carries a part they added, or it is of
            # a type only an app records: events.extensions) takes the one-event path, whole;
            # the others, on which no hook acts, are released together.
            alone = [event.pk for event in batch if event.hooked]
            if alone:
                whole = Event.objects.annotate(programme_version=programme_version_column()).in_bulk(alone)
                for pk in alone:
                    event_release(
                        whole[pk],
                        drop_state=WalletLine.State.EXPIRED,
                        to=Status.EXPIRED,
                        at=stamp,
                        source=source,
                        reason=REASON,
                    )
            events_release(
                [event for event in batch if not event.hooked],
                drop_state=WalletLine.State.EXPIRED,
                to=Status.EXPIRED,
                at=stamp,
                source=source,
                reason=REASON,
            )
            expired += [event.pk for event in batch]
        if len(batch) < batch_size:
            break
    return expired


def _claim(*, now: datetime | None, size: int) -> list[Event]:
    """The next `size` due events, locked, skipping those another run holds. Only the columns
    the expiry needs are read (decoding a payload, a result and their moments cost more than
    the rest of an event's expiry): what it reads of the result comes as columns (its
    redemptions, why no campaign was evaluated, whether an app's hooks act on it: `hooked`),
    and events.announce reads the rest for all of them at once when an endpoint listens."""
    hooked = Q(type_id__in=list(extensions.RECORDED_BY_APPS))
    if extensions.RESULT_PARTS:
        hooked |= Q(result__has_any_keys=sorted(extensions.RESULT_PARTS))
    return list(
        events_due(now=now)
        .select_for_update(skip_locked=True)
        .only("id", "customer_id", "brand_id", "type_id", "status")
        .annotate(
            programme_version=programme_version_column(),  # for events.announce
            hooked=ExpressionWrapper(hooked, output_field=BooleanField()),
            stored_redemptions=KeyTransform("redemptions", "result"),
            campaigns_skipped=KeyTextTransform("campaigns_skipped", "result"),
        )
        .order_by("reservation_expires_at", "id")[:size]
    )


REASON = "reservation window ended"


def events_release(events: list[Event], *, drop_state: str, to: str, at: datetime, source: Source, reason: str) -> None:
    """`event_release` of many held events at once, the same moves in a fixed number of
    statements whatever their number: budgets given back, pending lines dropped, reservations
    returned (RELEASE rows; EXPIRATION or REVERSAL where the line expired or was reversed
    meanwhile), totals, each event's result (its lines, the wallet just after its own release,
    the customer's lifetime metrics), status, transition and webhooks. The caller holds the
    events' row locks and has locked their wallets in id order. For events no extension hook acts
    on (`_claim`: `hooked` false), so none is called; `stored_redemptions` and
    `campaigns_skipped` are what each event's stored result holds of them."""
    if not events:
        return
    with wallets_ledger(customer_ids={event.customer_id for event in events}, now=at) as ledgers:
        wallet_of = {ledger.wallet.customer_id: wallet_id for wallet_id, ledger in ledgers.items()}
        missing = {event.customer_id for event in events} - set(wallet_of)
        if missing:
            raise NotFound(f"customer {sorted(missing)[0]!r} not found", code="customer_not_found")
        held = held_batch_load(ledgers=ledgers, holds=[(event.pk, wallet_of[event.customer_id]) for event in events])
        granted: dict = defaultdict(Decimal)
        for event in events:
            for line in held.lines.get(event.pk, ()):
                if line.budgeted:
                    granted[line.campaign_id] += line.amount
        granted = {cid: exact(amount) for cid, amount in granted.items() if amount}
        if granted:
            campaign_budgets_lock(granted)
            campaign_budgets_add({cid: -amount for cid, amount in granted.items()})
        results = _Results(events, held, at)
        for event in events:
            ledger = held_batch_release(held, event_id=event.pk, drop_state=drop_state)
            results.add(event, ledger)
    changes = {"reason": reason} if reason else {}
    events_transition(
        events,
        to,
        at=at,
        source=source,
        reason=reason,
        changes=changes,
        changes_of={event.pk: {"result": results.of[event.pk]} for event in events},
    )


class _Results:
    """Each event's `result` as event_settle stores it, rendered as event_result renders it
    (events.services.outcome.render_result) from what the batch holds in memory: the wallet as it stands just
    after the event's own release (wallets.selectors.wallet_view_now), the customer's lifetime
    metrics (read once per customer: a release changes no metric)."""

    def __init__(self, events: list[Event], held, at: datetime):
        self.at = at
        self.of: dict = {}
        self.touched: dict = defaultdict(list)  # wallet id -> the lines the batch changes in memory
        for line in held.reserved_lines.values():
            self.touched[line.wallet_id].append(line)
        self.base = wallet_views_base(wallet_ids=held.ledgers, now=at, exclude_line_ids=held.reserved_lines)
        self.lines = held.lines
        buckets: dict = defaultdict(list)
        for bucket in MetricBucket.objects.filter(customer_id__in={event.customer_id for event in events}):
            buckets[bucket.customer_id].append(bucket)
        self.buckets = buckets
        self.customers: dict = {}

    def add(self, event: Event, ledger) -> None:
        touched = self.touched[ledger.wallet.pk] + [
            line for line in ledger.new_lines if line.wallet_id == ledger.wallet.pk
        ]
        value = {
            "accumulations": self.lines.get(event.pk, []),
            "redemptions": event.stored_redemptions or [],
            "wallet": wallet_view_now(ledger=ledger, base=self.base, lines=touched, now=self.at),
            "customer": {"id": event.customer_id, "metrics": {"lifetime": self._lifetime(event.customer_id)[0]}},
        }
        if event.campaigns_skipped:
            value["campaigns_skipped"] = event.campaigns_skipped
        # What the compiled EventResultOut renders is JSON already (no UUID, no datetime):
        # event_result's jsonable() would only copy it.
        result = render_result(value)
        result["customer"][BY_BRAND] = self._lifetime(event.customer_id)[1]
        self.of[event.pk] = result

    def _lifetime(self, customer_id):
        """(lifetime, lifetime by brand) as event_result computes them."""
        if customer_id not in self.customers:
            buckets = self.buckets.get(customer_id, [])
            lifetime = lifetime_metrics(buckets)
            by_brand = {
                brand_id: lifetime_metrics([b for b in buckets if b.brand_id == brand_id])
                for brand_id in {b.brand_id for b in buckets if b.brand_id}
            }
            self.customers[customer_id] = (lifetime, jsonable(by_brand, exact=True))
        return self.customers[customer_id]


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
