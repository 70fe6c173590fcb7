"""The one writer of an event's status (`event_transition`).

Every path that changes a status goes through it: emit (sync, async, late fulfilment), the
worker, failure, fulfil, reverse, cancel, expiry and the engine's TIER_ADJUSTMENT events. It
checks `Event.TRANSITIONS`, sets the status's timestamp, saves exactly the fields that changed
and writes the `EventTransition` row (who, when, from which source, why), so the table, the
event and its recorded history cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.exceptions import InvalidTransition
from events.models import Event, EventTransition

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Event.Status
Source = EventTransition.Source
ACTIONS = {
    Status.RESOLVED: "fulfill",
    Status.REVERSED: "reverse",
    Status.CANCELLED: "reverse",
    Status.EXPIRED: "expire",
    Status.PROCESSING: "process",
    Status.FAILED: "fail",
    Status.PENDING: "hold",
}


def event_transition(
    event: Event,
    to: str,
    *,
    at: datetime,
    source: Source,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    changes: dict[str, Any] | None = None,
    insert: bool = False,
) -> None:
    """Move `event` to `to` (an insert when `insert`: its first status) with `changes` to its
    other fields, and record the transition. The caller holds the event's row lock (or is
    inserting it) inside its transaction. Raises InvalidTransition if the table refuses."""
    previous = Event.NEW if insert else event.status
    if to not in Event.TRANSITIONS.get(previous, ()):
        raise InvalidTransition(action=ACTIONS.get(to, "change"), status=previous or "new")
    changes = dict(changes or {})
    changes["status"] = to
    if to in Event.TIMESTAMP_OF:
        changes[Event.TIMESTAMP_OF[to]] = at
    for name, value in changes.items():
        setattr(event, name, value)
    if insert:
        event.save(force_insert=True)
    else:
        event.save(update_fields=list(changes))
    EventTransition.objects.create(
        event=event,
        from_status=previous,
        to_status=to,
        at=at,
        source=source,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason,
    )
    from events.announce import event_announce  # it renders events (events.serializers)

    event_announce(event, previous, to)


def events_record_history(events: list[Event], *, source: Source, reason: str = "") -> None:
    """Insert events that happened elsewhere (importing: a programme's history moving in) as
    RESOLVED at their own `resolved_at`, each with its one transition, in a fixed number of
    statements whatever their number. They announce nothing: no webhook for history."""
    if Status.RESOLVED not in Event.TRANSITIONS[Event.NEW]:
        raise InvalidTransition(action="fulfill", status="new")
    for event in events:
        event.status = Status.RESOLVED
    Event.objects.bulk_create(events)
    EventTransition.objects.bulk_create(
        EventTransition(
            event=event,
            from_status=Event.NEW,
            to_status=Status.RESOLVED,
            at=event.resolved_at,
            source=source,
            reason=reason,
        )
        for event in events
    )
