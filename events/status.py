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

from django.db import connection
from django.db.models.sql import InsertQuery, UpdateQuery

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
    transition = EventTransition(
        event=event,
        from_status=previous,
        to_status=to,
        at=at,
        source=source,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason,
    )
    if connection.vendor == "postgresql":
        _write_with_transition(event, transition, insert=insert, fields=list(changes))
    else:
        if insert:
            event.save(force_insert=True)
        else:
            event.save(update_fields=list(changes))
        transition.save(force_insert=True)
    from events.announce import event_announce  # it renders events (events.serializers)

    event_announce(event, previous, to)


def _write_with_transition(event: Event, transition: EventTransition, *, insert: bool, fields: list[str]) -> None:
    """The event's insert (or the update of `fields`) and its transition row in one statement
    (PostgreSQL: the event's write in a WITH clause), built by Django's own SQL compilers, so
    the rows are exactly what `save()` writes (auto_now_add and every field's conversion). The
    transition's id is not read back (nothing uses it). No signal is sent for either model (none
    is connected to them)."""
    if insert:
        event_sql, event_params = _insert_sql(event)
    else:
        query = UpdateQuery(Event)
        query.add_update_fields(
            [(field, None, field.pre_save(event, False)) for field in (Event._meta.get_field(name) for name in fields)]
        )
        query.add_filter("pk", event.pk)
        event_sql, event_params = query.get_compiler(connection=connection).as_sql()
    transition_sql, transition_params = _insert_sql(transition)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH e AS ({event_sql}) {transition_sql}", (*event_params, *transition_params))
    for obj in (event, transition) if insert else (transition,):
        obj._state.adding, obj._state.db = False, connection.alias


def _insert_sql(obj) -> tuple[str, tuple]:
    """The INSERT that `obj.save(force_insert=True)` sends (without RETURNING), and its params."""
    meta = obj._meta
    fields = [f for f in meta.local_concrete_fields if not (f is meta.auto_field and obj.pk is None)]
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    [(sql, params)] = query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


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


def events_transition(
    events: list[Event],
    to: str,
    *,
    at: datetime,
    source: Source,
    reason: str = "",
    changes: dict[str, Any] | None = None,
    changes_of: dict | None = None,
) -> None:
    """`event_transition` of many events at once (the batched expiry): each is checked against
    `Event.TRANSITIONS`, gets `changes` (the same for every event) and its own `changes_of[pk]`
    (the same fields for each), the status's timestamp and its transition row; written in one
    UPDATE and one COPY whatever their number, and announced (events.announce.events_announce).
    The caller holds their row locks. Raises InvalidTransition, before writing, if the table
    refuses one."""
    from core.bulk import Table, rows_update
    from events.announce import events_announce  # it renders events (events.serializers)

    previous = {}
    for event in events:
        if to not in Event.TRANSITIONS.get(event.status, ()):
            raise InvalidTransition(action=ACTIONS.get(to, "change"), status=event.status or "new")
        previous[event.pk] = event.status
    same = {**(changes or {}), "status": to}
    if to in Event.TIMESTAMP_OF:
        same[Event.TIMESTAMP_OF[to]] = at
    changes_of = changes_of or {}
    own = sorted({name for fields in changes_of.values() for name in fields})
    for event in events:
        for name, value in same.items():
            setattr(event, name, value)
        for name, value in changes_of.get(event.pk, {}).items():
            setattr(event, name, value)
    rows_update(Event, [(e.pk, *(getattr(e, name) for name in own)) for e in events], columns=own, same=same)
    table = Table(EventTransition, ["event_id", "from_status", "to_status", "at", "source", "actor_id", "reason"])
    for event in events:
        table.add(event.pk, previous[event.pk], to, at, getattr(source, "value", source), None, reason)
    table.write()
    by_previous: dict = {}
    for event in events:
        by_previous.setdefault(previous[event.pk], []).append(event)
    for status, group in by_previous.items():
        events_announce(group, status, to)
