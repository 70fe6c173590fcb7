"""An emit body's references resolved (brand, event type, redemptions, at a programme version
from the programme cache) and its event built, unsaved: the first step of every emit path
(events.services.emit)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from campaigns import cache as programme_cache
from campaigns.models import EventType
from core.exceptions import InvalidInput, NotFound
from core.json import jsonable
from events.metrics import ENGINE_RECORDS, MANUAL_RECORDS, REWARD_RECORDS
from events.models import Event
from events.redemptions import redemptions_asked
from wallets.models import Customer
from wallets.services import Redemption


def event_prepare(payload: dict, *, customer_check: bool = True) -> tuple[Event, EventType, list[Redemption]]:
    """Resolve the references of an emit body and build the (unsaved, status-less) event. The
    brand and event type come from the programme cache at the version read now (one query for
    the three references).

    Without `customer_check` (event_emit, whose `_apply` checks again under the wallet lock):
    the wallet lock finds the customer (`customer_not_found` from wallets.ledger), the customer
    is looked up here only when a later check refuses (so an unknown customer still answers
    first), and the references are resolved at the version this process cached last, without
    a query; events.services.emit._apply resolves them again if the version it reads under the lock differs."""
    version = None if customer_check else programme_cache.known_version()
    if version is None:
        version = programme_cache.current_version()
    brand = programme_cache.brand(payload["brand_id"], version=version)
    if brand is None:
        raise NotFound(f"brand {payload['brand_id']!r} not found", code="brand_not_found")
    if customer_check:
        customer_found_or_404(payload["customer_id"])
    try:
        event_type, redemptions = _references(payload, version)
    except InvalidInput:
        if not customer_check:
            customer_found_or_404(payload["customer_id"])
        raise
    issued_at = payload.get("issued_at") or timezone.now()
    hold = payload.get("fulfilled", True) is False
    reserve = payload.get("reserve") or 1
    event = Event(
        id=uuid.uuid4(),
        customer_id=payload["customer_id"],
        brand=brand,
        type=event_type,
        fulfilled=not hold,
        reserve=reserve,
        purchase_id=(payload.get("order") or {}).get("purchase_id"),
        platform=payload.get("platform") or "",
        data=jsonable(payload, exact=True),
        issued_at=issued_at,
        reservation_expires_at=issued_at + timedelta(days=reserve) if hold else None,
    )
    if not customer_check:
        event._references_version = version  # checked again under the wallet lock (events.services.emit._apply)
    return event, event_type, redemptions


def references_again(event: Event, payload: dict, version: int) -> tuple[EventType, list[Redemption]]:
    """The brand, event type and redemptions resolved again at the programme `version` read
    under the wallet lock, for an event `event_prepare` resolved at another: the programme changed in
    between, and the event is judged by the programme as it stands (NotFound, InvalidInput)."""
    brand = programme_cache.brand(event.brand_id, version=version)
    if brand is None:
        raise NotFound(f"brand {event.brand_id!r} not found", code="brand_not_found")
    event_type, redemptions = _references(payload, version)
    event.brand, event.type = brand, event_type
    return event_type, redemptions


def customer_found_or_404(customer_id: str) -> None:
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")


def _references(payload: dict, version: int) -> tuple[EventType, list[Redemption]]:
    """The event type (from the programme cache) and the redemptions asked; InvalidInput if
    either is refused."""
    event_type = programme_cache.event_type(payload["type"], version=version)
    if event_type is None:
        raise InvalidInput({"type": f"unknown event type {payload['type']!r}"})
    if event_type.pk in ENGINE_RECORDS + REWARD_RECORDS:  # the engine records these itself (events.metrics)
        raise InvalidInput(
            {"type": f"{event_type.pk} events are recorded by the engine itself; they cannot be emitted"}
        )
    if event_type.pk in MANUAL_RECORDS:  # an operator's adjustment (events.services.adjust) only
        raise InvalidInput(
            {"type": f"{event_type.pk} events are an operator's adjustments (admin, adjust_balance); not emitted"}
        )
    redemptions = redemptions_asked(payload, version=version)
    if event_type.tracking_only and redemptions:
        raise InvalidInput({"redeem": f"{event_type.pk} is a tracking-only event type: it cannot redeem"})
    return event_type, redemptions
