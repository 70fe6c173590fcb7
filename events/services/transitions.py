"""What happens to an event after it was emitted, by hand or by API: fulfil, reverse, cancel.

    PENDING (held) --fulfill--> RESOLVED     PENDING (held or queued) --reverse--> CANCELLED
    RESOLVED --reverse--> REVERSED           anything else --> InvalidTransition (409, with the status)

The engine's own TIER_ADJUSTMENT events (events.metrics.ENGINE_RECORDS) are never reversed, by
anyone (API, admin, command, task: the same service refuses them all, Conflict
`not_reversible`): they record a tier move that no ledger row, metric or budget backs, so
"reversing" one would only relabel it REVERSED while the tier stays. A tier move is undone by
reversing the customer's event that caused it (its `cause_event_id`), which recomputes the tier.

Invariants: each action is one transaction; the status is checked under the event's row lock,
so of two racing actions the second sees the first's result and gets InvalidTransition; a
reversed or cancelled event nets to zero on every balance, metric and budget (every row negates
a stored amount, nothing is recomputed from today's rules).

Lock order: the event row, then the wallet (`event_ledger`), then campaign budget rows by id.
Deadlines are compared on the database's clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from core.clock import db_now
from core.exceptions import Conflict, InvalidInput, InvalidTransition, NotFound
from core.rows import rows_as
from events import extensions
from events.announce import programme_version_column
from events.metrics import ENGINE_RECORDS
from events.models import Event
from events.rewarding import budgets_give_back, customer_tier_recompute
from events.services.outcome import event_ledger, event_metrics_apply, event_result
from events.status import Source, event_transition
from wallets.models import WalletLine
from wallets.services import wallet_post_pending, wallet_release, wallet_reverse

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from wallets.ledger import Ledger

Status = Event.Status


def event_fulfill(
    *, event_id, source: Source = Source.API, actor: AbstractBaseUser | None = None, brands: set[str] | None = None
) -> Event:
    """Credit a held event: its pending lines become spendable, its reservations are consumed,
    metrics are updated. Locks the event, then the wallet. Raises NotFound (also for an event
    outside `brands`, a brand-restricted key's), InvalidTransition (not a held PENDING event,
    still queued, or past its reservation deadline)."""
    with transaction.atomic():
        event, clock = _lock_event(event_id, brands)
        if event.queued:
            raise InvalidTransition(
                action="fulfill", status=event.status, details="the event is still queued for processing"
            )
        if event.status != Status.PENDING or event.fulfilled:
            raise InvalidTransition(action="fulfill", status=event.status)
        if event.reservation_expires_at and clock >= event.reservation_expires_at:
            raise InvalidTransition(
                action="fulfill",
                status=event.status,
                details=f"the reservation expired at {event.reservation_expires_at.isoformat()}; the event is due to expire",
            )
        now = timezone.now()
        with event_ledger(event, now, with_customer=True) as ledger:  # the customer for the tier check
            wallet_post_pending(ledger=ledger)
        buckets = event_metrics_apply(event, event.data, sign=1, with_buckets=True)
        event_settle(
            event,
            ledger.wallet.pk,
            Status.RESOLVED,
            at=now,
            source=source,
            actor=actor,
            changes={"fulfilled": True},
            ledger=ledger,
            buckets=buckets,
        )
        extensions.event_resolved(event, now)
        customer_tier_recompute(
            customer=ledger.customer, event=event, now=now, version=event.programme_version, upgrade_only=True
        )
    return event


def event_reverse(
    *,
    event_id,
    reason: str,
    source: Source = Source.API,
    actor: AbstractBaseUser | None = None,
    brands: set[str] | None = None,
) -> Event:
    """Undo an event: RESOLVED -> REVERSED (accumulations taken back, redemptions returned,
    metrics restored) or PENDING -> CANCELLED (a held event's pending lines dropped and
    reservations released; a queued one is simply never applied). Locks the event, then the
    wallet. Raises InvalidInput (no reason), NotFound (also for an event outside `brands`),
    Conflict `not_reversible` (the engine's own TIER_ADJUSTMENT, whoever asks), InvalidTransition."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "a non-empty reason is required"})
    with transaction.atomic():
        event, _clock = _lock_event(event_id, brands)
        if event.type_id in ENGINE_RECORDS:
            cause = (event.data or {}).get("cause_event_id")
            raise Conflict(
                f"{event.type_id} events are the engine's record of a tier move and are not reversible; "
                f"reverse the event that caused it ({cause}) and the tier is recomputed",
                code="not_reversible",
                status=event.status,
            )
        now = timezone.now()
        if event.status == Status.PENDING and event.queued:
            # nothing was applied yet: the worker will find it cancelled and do nothing
            event_transition(
                event,
                Status.CANCELLED,
                at=now,
                source=source,
                actor=actor,
                reason=reason,
                changes={"queued": False, "reason": reason},
            )
        elif event.status == Status.PENDING and not event.fulfilled:
            event_release(
                event,
                drop_state=WalletLine.State.REVERSED,
                to=Status.CANCELLED,
                at=now,
                source=source,
                actor=actor,
                reason=reason,
            )
        elif event.status == Status.RESOLVED:
            extensions.event_undoing(event, now)  # before the wallet and campaign rows (events.extensions)
            with event_ledger(event, now, with_customer=True) as ledger:  # the customer for the tier check
                budgets_give_back(event_id=event.pk, lines=ledger.event_lines())
                wallet_reverse(ledger=ledger)
            buckets = event_metrics_apply(event, event.data, sign=-1, with_buckets=True)
            event_settle(
                event,
                ledger.wallet.pk,
                Status.REVERSED,
                at=now,
                source=source,
                actor=actor,
                reason=reason,
                ledger=ledger,
                buckets=buckets,
            )
            extensions.event_undone(event, Status.REVERSED, now)
            customer_tier_recompute(
                customer=ledger.customer, event=event, now=now, version=event.programme_version, upgrade_only=False
            )
        else:
            raise InvalidTransition(action="reverse", status=event.status)
    return event


def event_release(
    event: Event,
    *,
    drop_state: str,
    to: str,
    at: datetime,
    source: Source,
    actor: AbstractBaseUser | None = None,
    reason: str,
) -> None:
    """A held event ends unfulfilled (CANCELLED or EXPIRED): its budget is given back, its
    pending lines dropped (to `drop_state`) and its reservations returned. The caller holds the
    event's row lock."""
    extensions.event_undoing(event, at)  # before the wallet and campaign rows (events.extensions)
    with event_ledger(event, at) as ledger:
        budgets_give_back(event_id=event.pk)
        wallet_release(ledger=ledger, drop_state=drop_state)
    event_settle(event, ledger.wallet.pk, to, at=at, source=source, actor=actor, reason=reason)
    extensions.event_undone(event, to, at)


def event_settle(
    event: Event,
    wallet_id,
    to: str,
    *,
    at: datetime,
    source: Source,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    changes: dict | None = None,
    ledger: Ledger | None = None,
    buckets: list | None = None,
) -> None:
    """Move an applied event to `to` with its result brought up to date (its lines as they are
    now, the wallet after the change). `ledger` and `buckets`: what event_result can take from
    the change just written instead of reading it again."""
    if ledger is not None and ledger._event_lines is not None:  # read by the change, as written
        accumulations = ledger.event_lines()
    else:
        accumulations = WalletLine.objects.filter(event_id=event.pk).order_by("id")
    changes = {
        **(changes or {}),
        "result": event_result(
            event,
            wallet_id,
            accumulations=accumulations,
            redemptions=event.result.get("redemptions", []),
            now=at,
            campaigns_skipped=event.result.get("campaigns_skipped"),
            ledger=ledger,
            buckets=buckets,
        )
        | extensions.kept_parts(event.result),  # what the lifecycle's hooks added (a gift card)
    }
    if reason:
        changes["reason"] = reason
    event_transition(event, to, at=at, source=source, actor=actor, reason=reason, changes=changes)


_LOCK_EVENT = (
    "SELECT e.*, statement_timestamp() AS db_now, "
    "(SELECT version FROM campaigns_programmeversion WHERE id = 1) AS programme_version "
    "FROM events_event e WHERE e.id = %s FOR UPDATE OF e"
)


def _lock_event(event_id, brands: set[str] | None = None) -> tuple[Event, datetime]:
    """Lock the event row and read the database clock in the same query. An event outside
    `brands` (when given) is not found, exactly as an unknown id."""
    try:
        # the programme version in the same query: what the change announces (events.announce)
        # and the tiers it recomputes are read with no query of their own
        if connection.vendor == "postgresql":  # in SQL: the queryset cost more to build than it takes
            found = rows_as(Event, _LOCK_EVENT, [uuid.UUID(str(event_id))])
            if not found:
                raise Event.DoesNotExist
            event = found[0]
        else:
            event = (
                Event.objects.select_for_update()
                .annotate(db_now=Now(), programme_version=programme_version_column())
                .get(pk=event_id)
            )
    except (Event.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(f"event {event_id} not found", code="event_not_found") from None
    if brands is not None and event.brand_id not in brands:
        raise NotFound(f"event {event_id} not found", code="event_not_found")
    clock = event.db_now
    if isinstance(clock, str):
        clock = db_now()
    if clock.tzinfo is None:
        clock = timezone.make_aware(clock, timezone.utc)
    return event, clock
