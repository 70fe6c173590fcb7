"""What each change of an event's status announces to webhook endpoints (webhooks.outbox).

Called by events.status.event_transition, the one writer of a status, inside the transaction
that makes the change: every path (emit, the worker, fulfil, reverse, cancel, expiry, the
engine's tier moves) announces the same way, and a rolled-back change announces nothing.

    -> RESOLVED           BEHAVIOR_EVENT_FULFILLED; CUSTOMER_ACCUMULATION if it credited lines;
                          CUSTOMER_REDEMPTION if it took redemptions
    -> PENDING (held)     REWARD_RESERVATION if it reserved redemptions
    -> FAILED             BEHAVIOR_EVENT_FAILED
    -> REVERSED/CANCELLED BEHAVIOR_EVENT_REVERSED; REWARD_RESERVATION_CANCELLED if a held event's
                          reservations were released
    -> EXPIRED            BEHAVIOR_EVENT_EXPIRED; REWARD_RESERVATION_CANCELLED likewise
    TIER_ADJUSTMENT       TIER_UPGRADE or TIER_DOWNGRADE (its own status changes announce nothing)

An endpoint restricted to a brand gets that brand's events only, and sees of each result what a
key restricted to that brand sees (events.selectors.result_for_brands).
"""

from __future__ import annotations

import copy

from django.db.models import Subquery

from campaigns.models import ProgrammeVersion
from events.models import Event
from events.selectors import result_for_brands, visible_rewards
from events.serializers import EventOut
from webhooks.outbox import subscribers, webhook_announce, webhooks_announce

Status = Event.Status


def programme_version_column() -> Subquery:
    """The programme version as a column of the query that locks an event (events.services):
    what event_announce needs, read with no query of its own."""
    return Subquery(ProgrammeVersion.objects.filter(pk=1).values("version")[:1])


def event_announce(event: Event, previous: str, to: str) -> None:
    """Write the deliveries this status change announces (module docstring). A change that
    announces nothing (a queued insert, PROCESSING) reads nothing."""
    if event.type_id == "TIER_ADJUSTMENT":
        if to == Status.RESOLVED:
            version = getattr(event, "programme_version", None)
            if subscribers(version):
                _tier_move(event, version)
        return
    names = _names(event, previous, to)
    if not names:
        return
    version = getattr(event, "programme_version", None)  # read earlier in this transaction, if it was
    if not subscribers(version):
        return
    for name in names:
        webhook_announce(name, brand_id=event.brand_id, data=_builder(name, event), version=version)


def events_announce(events: list[Event], previous: str, to: str) -> None:
    """`event_announce` of many events that made the same change (the batched expiry): the
    same deliveries, one per event, name and endpoint, written in one statement. Nothing is
    read when nobody listens. Not for TIER_ADJUSTMENT events (their own path announces)."""
    if not events:
        return
    version = getattr(events[0], "programme_version", None)
    if not subscribers(version):
        return
    deferred = sorted(events[0].get_deferred_fields())  # left unread by the caller: read once for all
    if deferred:
        by_pk = {event.pk: event for event in events}
        for row in Event.objects.filter(pk__in=list(by_pk)).values("pk", *deferred):
            for name in deferred:
                setattr(by_pk[row["pk"]], name, row[name])
    webhooks_announce(
        [
            (name, event.brand_id, _builder(name, event))
            for event in events
            if event.type_id != "TIER_ADJUSTMENT"
            for name in _names(event, previous, to)
        ],
        version=version,
    )


def _names(event: Event, previous: str, to: str) -> list[str]:
    result = event.result or {}
    names = []
    if to == Status.RESOLVED:
        names.append("BEHAVIOR_EVENT_FULFILLED")
        if result.get("accumulations"):
            names.append("CUSTOMER_ACCUMULATION")
        if result.get("redemptions"):
            names.append("CUSTOMER_REDEMPTION")
    elif to == Status.PENDING and not event.queued and result.get("redemptions"):
        names.append("REWARD_RESERVATION")
    elif to == Status.FAILED:
        names.append("BEHAVIOR_EVENT_FAILED")
    elif to in (Status.REVERSED, Status.CANCELLED, Status.EXPIRED):
        names.append("BEHAVIOR_EVENT_EXPIRED" if to == Status.EXPIRED else "BEHAVIOR_EVENT_REVERSED")
        if previous == Status.PENDING and result.get("redemptions"):
            names.append("REWARD_RESERVATION_CANCELLED")
    return names


def _scoped(event: Event, brands: set[str] | None) -> dict:
    """The event's result as an endpoint of `brands` (None: every brand) may see it."""
    result = event.result or {}
    if brands is None:
        return result
    return result_for_brands(result, brands=brands, rewards=visible_rewards(brands))


def _builder(name: str, event: Event):
    def build(brands: set[str] | None) -> dict:
        result = _scoped(event, brands)
        if name.startswith("BEHAVIOR_EVENT_"):
            shown = copy.copy(event)
            shown.result = result
            return {"event": EventOut(shown).data}
        base = {"customer_id": event.customer_id, "event_id": str(event.pk), "brand_id": event.brand_id}
        wallet = result.get("wallet")
        if name == "CUSTOMER_ACCUMULATION":
            return {**base, "lines": result.get("accumulations", []), "wallet": wallet}
        if name == "CUSTOMER_REDEMPTION":
            return {**base, "redemptions": result.get("redemptions", []), "wallet": wallet}
        if name == "REWARD_RESERVATION":
            return {
                **base,
                "reservations": result.get("redemptions", []),
                "expires_at": event.reservation_expires_at,
                "wallet": wallet,
            }
        # REWARD_RESERVATION_CANCELLED
        return {**base, "status": event.status, "lines": result.get("redemptions", []), "wallet": wallet}

    return build


def _tier_move(adjustment: Event, version) -> None:
    data = adjustment.data or {}
    up = (data.get("to_level") or 0) > (data.get("from_level") or 0)
    webhook_announce(
        "TIER_UPGRADE" if up else "TIER_DOWNGRADE",
        brand_id=adjustment.brand_id,
        data={
            "customer_id": adjustment.customer_id,
            "from_tier_id": data.get("from_tier_id"),
            "to_tier_id": data.get("to_tier_id"),
            "from_level": data.get("from_level"),
            "to_level": data.get("to_level"),
            "cause_event_id": data.get("cause_event_id"),
            "at": adjustment.issued_at,
        },
        version=version,
    )
