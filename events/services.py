"""The event lifecycle (SPEC section 2): emit, fulfill, reverse, expire.

    (new) --emit--> RESOLVED | PENDING (held, `fulfilled: false`) | FAILED (422, nothing moved)
    PENDING --fulfill--> RESOLVED        PENDING --expiry run--> EXPIRED
    PENDING --reverse--> CANCELLED       RESOLVED --reverse--> REVERSED

Invariants: every action is one transaction (all of its ledger rows, lines, totals, metrics
and the event's status, or none); an event reaches one terminal status exactly once (the
status is checked under the event's row lock, so of two racing actions the second sees the
first's result and gets InvalidTransition); a reversed, cancelled or expired event nets to
zero on every balance and metric.

Lock order, everywhere: the event row, then the wallet row (`wallet_lock`). Emit has no event
row to lock yet: it locks the wallet and inserts the event last; the partial unique index on
(brand, type, purchase_id) of live events refuses a duplicate purchase.

Deadlines are compared on the database's clock (`db_now`, or `Now()` in SQL).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from campaigns import cache as programme_cache
from campaigns.engine import evaluate
from campaigns.models import Brand, EventType, Reward
from campaigns.redemption import redemption_problem
from core.clock import db_now
from core.exceptions import (
    BusinessRuleError,
    Conflict,
    InsufficientBalance,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from core.json import jsonable
from events import rules as campaign_rules
from events.models import Event, EventTransition
from wallets import services as wallet_services
from wallets.ledger import Ledger
from wallets.models import Customer, Transaction, WalletLine
from wallets.selectors import customer_metrics, line_dict, month_of, wallet_summary
from wallets.services import Redemption

Status = Event.Status
ZERO = Decimal(0)


# ---- emit -----------------------------------------------------------------------------------------


def event_emit(*, payload: dict, source: str = "api", actor=None) -> Event:
    """Apply one event synchronously and return it (RESOLVED or held PENDING).

    `payload` is the validated emit body (Decimals, aware datetimes). Raises NotFound (brand,
    customer), InvalidInput (event type, reward), Conflict `duplicate_purchase`, and
    InsufficientBalance / BusinessRuleError after storing the event as FAILED.
    """
    event, event_type, redemptions = _prepare(payload)
    _apply_or_fail(event, event_type, payload, redemptions, insert=True, source=source, actor=actor)
    return event


def event_fulfill_expired(*, event_id, source: str = "command", actor=None) -> Event:
    """Apply late an EXPIRED held event (the shop fulfilled it after the window): a new RESOLVED
    event with the same payload, issued at the original time and linked by `replaces`; its
    redemptions are taken again from what the wallet holds now. EXPIRED stays terminal; the
    unique link makes a second run a Conflict. Raises NotFound, InvalidTransition (not EXPIRED),
    Conflict (already applied), and what event_emit raises (InsufficientBalance stores FAILED)."""
    original = event_get(event_id=event_id)
    if original.status != Status.EXPIRED:
        raise InvalidTransition(action="fulfill an expired", status=original.status)
    if Event.objects.filter(replaces=original).exclude(status=Status.FAILED).exists():
        raise Conflict(f"event {original.pk} was already fulfilled late", code="already_fulfilled")
    payload = json.loads(json.dumps(original.data), parse_float=Decimal)
    payload.update(issued_at=original.issued_at, fulfilled=True)
    payload.pop("reserve", None)
    event, event_type, redemptions = _prepare(payload)
    event.replaces = original
    Event.objects.filter(replaces=original, status=Status.FAILED).update(replaces=None)  # an earlier failed try
    _apply_or_fail(event, event_type, payload, redemptions, insert=True, source=source, actor=actor)
    return event


def expired_events(*, issued_from: datetime, issued_to: datetime):
    """EXPIRED held events issued in [issued_from, issued_to) not yet fulfilled late."""
    return (Event.objects.filter(status=Status.EXPIRED, issued_at__gte=issued_from, issued_at__lt=issued_to)
            .exclude(replaced_by__status__in=Event.LIVE).order_by("issued_at", "id"))


def event_enqueue(*, payload: dict, source: str = "api", actor=None) -> Event:
    """`?async=true`: check the references, store the event PENDING and queued, and queue its
    processing for a Celery worker once the transaction commits. The purchase id is claimed now
    (a duplicate is refused at once). Raises what event_emit raises before applying."""
    event, _event_type, _redemptions_ = _prepare(payload)
    event.status, event.resolved_at, event.queued = Status.PENDING, None, True
    event.queue_message_id = str(uuid.uuid4())
    now = timezone.now()
    try:
        with transaction.atomic():
            event.save(force_insert=True)
            _record(event, "", Status.PENDING, now, source, actor, "queued")
            transaction.on_commit(lambda: _send_process(event))
    except IntegrityError as exc:
        _raise_duplicate(event, exc)
    return event


def _send_process(event: Event) -> None:
    from events.tasks import process_event

    process_event.apply_async(args=[str(event.pk)], task_id=event.queue_message_id)


def event_process_queued(*, event_id) -> Event | None:
    """The worker's half of `?async=true`: apply a queued event exactly once, under its row lock
    (lock order: event, then wallet). Safe to run twice: a redelivered task finds the event no
    longer queued and does nothing. A refused event is stored FAILED (its reason kept)."""
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id, queued=True, status=Status.PENDING).first()
        if event is None:
            return None
        now = timezone.now()
        event.queued, event.processing_at = False, now
        _record(event, Status.PENDING, Status.PROCESSING, now, "task", None, "")
        payload = json.loads(json.dumps(event.data), parse_float=Decimal)
        payload["issued_at"] = event.issued_at
        try:
            with transaction.atomic():
                redemptions = _redemptions(payload)
                if event.fulfilled:
                    event.status, event.resolved_at = Status.RESOLVED, now
                else:
                    event.reservation_expires_at = event.issued_at + timedelta(days=event.reserve)
                _apply_emit(event, event.type, payload, redemptions, now, False, "task", None)
        except (InsufficientBalance, BusinessRuleError, InvalidInput) as exc:
            _store_failed(event, exc, now, "task", None, insert=False)
    return event


def event_requeue_stale(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Queued events whose task was lost (the process died between commit and send, or the
    broker dropped it) are sent again. Processing is idempotent, so a duplicate is harmless."""
    stale = list(Event.objects.filter(queued=True, status=Status.PENDING, created_at__lt=timezone.now() - older_than))
    for event in stale:
        _send_process(event)
    return len(stale)


def _prepare(payload: dict) -> tuple[Event, EventType, list[Redemption]]:
    """Resolve the references of an emit body and build the (unsaved) event."""
    brand = Brand.objects.filter(pk=payload["brand_id"]).first()
    if brand is None:
        raise NotFound(f"brand {payload['brand_id']!r} not found", code="brand_not_found")
    if not Customer.objects.filter(pk=payload["customer_id"]).exists():
        raise NotFound(f"customer {payload['customer_id']!r} not found", code="customer_not_found")
    event_type = EventType.objects.filter(pk=payload["type"]).first()
    if event_type is None:
        raise InvalidInput({"type": f"unknown event type {payload['type']!r}"})
    redemptions = _redemptions(payload)
    if event_type.tracking_only and redemptions:
        raise InvalidInput({"redeem": f"{event_type.pk} is a tracking-only event type: it cannot redeem"})
    now = timezone.now()
    issued_at = payload.get("issued_at") or now
    hold = payload.get("fulfilled", True) is False
    reserve = payload.get("reserve") or 1
    order = payload.get("order") or {}
    event = Event(
        id=uuid.uuid4(), customer_id=payload["customer_id"], brand=brand, type=event_type,
        status=Status.PENDING if hold else Status.RESOLVED, fulfilled=not hold, reserve=reserve,
        purchase_id=order.get("purchase_id"), platform=payload.get("platform") or "",
        data=jsonable(payload), issued_at=issued_at,
        reservation_expires_at=issued_at + timedelta(days=reserve) if hold else None,
        resolved_at=None if hold else now,
    )
    return event, event_type, redemptions


def _apply_or_fail(event, event_type, payload, redemptions, *, insert: bool, source, actor) -> None:
    now = timezone.now()
    try:
        with transaction.atomic():
            _apply_emit(event, event_type, payload, redemptions, now, insert, source, actor)
    except IntegrityError as exc:
        _raise_duplicate(event, exc)
    except (InsufficientBalance, BusinessRuleError) as exc:
        _store_failed(event, exc, now, source, actor, insert=insert)
        exc.extra["event_id"] = str(event.pk)
        raise


def _raise_duplicate(event: Event, exc: IntegrityError):
    existing = _live_duplicate(event)
    if existing is None:
        raise exc
    raise Conflict(
        f"a live event for purchase {event.purchase_id!r} exists", code="duplicate_purchase",
        event_id=str(existing.pk),
    ) from None


def _apply_emit(event, event_type, payload, redemptions, now, insert, source, actor) -> None:
    _check_placement(redemptions, payload)
    hold = not event.fulfilled
    wallet = wallet_services.wallet_lock(customer_id=event.customer_id)
    customer = Customer.objects.only("id", "tags", "registration_date", "tier_id").get(pk=event.customer_id)
    ledger = Ledger(wallet=wallet, event_id=event.id, now=now)
    version = programme_cache.current_version()
    grants = []
    if not event_type.tracking_only:
        campaigns, decimals = programme_cache.running_campaigns(
            brand_id=event.brand_id, trigger=event_type.pk, at=event.issued_at, version=version)
        campaigns = campaign_rules.within_limits(campaigns, wallet=wallet, customer_id=event.customer_id,
                                                 at=event.issued_at)
        if campaigns:
            facts = campaign_rules.facts_for(event_type=event_type.pk, payload=payload, customer=customer,
                                             version=version, at=event.issued_at)
            grants = campaign_rules.within_budgets(evaluate(campaigns, facts, decimals), campaigns, decimals)
    reward_ids = {g.reward_id for g in grants} | {r.reward_id for r in redemptions}
    ledger.rewards = {str(k): v for k, v in Reward.objects.in_bulk(list(reward_ids)).items()} if reward_ids else {}
    # Redemptions are judged against the balance before this event: before its own grants exist,
    # and before they pay any debt.
    taken = wallet_services.wallet_redeem(ledger=ledger, redemptions=redemptions, hold=hold)
    lines = wallet_services.wallet_accumulate(
        ledger=ledger, grants=grants, hold=hold, issued_at=event.issued_at, brand_id=event.brand_id,
        reservation_expires_at=event.reservation_expires_at,
    )
    ledger.flush()
    if not hold:
        _metrics(event, payload, sign=1)
    event.rewarding_campaigns = _unique([{"campaign_id": str(g.campaign_id), "rule_id": g.rule_id} for g in grants])
    event.result = _result(event, ledger.wallet.pk, accumulations=[line_dict(line) for line in lines],
                           redemptions=taken, now=now)
    if insert:
        event.save(force_insert=True)
        _record(event, "", event.status, now, source, actor, "")
    else:
        event.save()
        _record(event, Status.PROCESSING, event.status, now, source, actor, "")
    if not hold:
        campaign_rules.tier_update(customer=customer, event=event, now=now, version=version, upgrade_only=True)


def _redemptions(payload: dict) -> list[Redemption]:
    """Every redemption the event asks for, with where it was asked. Unknown rewards are a 400
    (nothing is stored); where a reward may be redeemed is checked by `_check_placement`, inside
    the event's transaction, so that a refusal stores the event FAILED."""
    order = payload.get("order") or {}
    asked: list[tuple[str, dict]] = [(f"redeem[{i}]", item) for i, item in enumerate(payload.get("redeem") or [])]
    asked += [(f"order.redeem[{i}]", item) for i, item in enumerate(order.get("redeem") or [])]
    for p, product in enumerate(order.get("products") or []):
        asked += [(f"order.products[{p}].redeem[{i}]", item) for i, item in enumerate(product.get("redeem") or [])]
    shipping = order.get("shipping") or {}
    asked += [(f"order.shipping.redeem[{i}]", item) for i, item in enumerate(shipping.get("redeem") or [])]
    if not asked:
        return []
    rewards = {str(pk): r for pk, r in Reward.objects.in_bulk([str(item["id"]) for _, item in asked]).items()}
    out = []
    for place, item in asked:
        reward = rewards.get(str(item["id"]))
        if reward is None:
            raise InvalidInput({f"{place}.id": f"unknown reward {str(item['id'])!r}"})
        out.append(Redemption(reward_id=str(reward.pk), amount=Decimal(str(item["amount"])), place=place,
                              reward_type=reward.type, conditions=reward.conditions or {}))
    return out


def _placement_problem(item: Redemption, order: dict) -> str | None:
    match = PRODUCT_PLACE.match(item.place)
    product = (order.get("products") or [])[int(match.group(1))] if match else None
    return redemption_problem(reward_type=item.reward_type, conditions=item.conditions, path=item.place,
                              amount=item.amount, order=order, product=product)


def _check_placement(redemptions: list[Redemption], payload: dict) -> None:
    """Each redemption inside the order must be allowed there (campaigns.redemption). A refusal
    is a 422 naming the place and the reward, and the event is stored FAILED (SPEC section 2)."""
    order = payload.get("order") or {}
    for item in redemptions:
        problem = _placement_problem(item, order)
        if problem:
            raise BusinessRuleError(f"{item.place}: reward {item.reward_id} ({item.reward_type}): {problem}",
                                    code="reward_not_redeemable_here", place=item.place, reward_id=item.reward_id)


PRODUCT_PLACE = re.compile(r"^order\.products\[(\d+)\]")


def redeem_preview(*, payload: dict) -> dict:
    """What the redemptions of an emit body would do, changing nothing: each with its result or
    error (placement, conditions, balance as it stands now), and the order's value before and
    after the discounts (amount x the reward's conversion factor). Raises what emit raises for
    unknown brand, customer or reward."""
    if not Brand.objects.filter(pk=payload["brand_id"]).exists():
        raise NotFound(f"brand {payload['brand_id']!r} not found", code="brand_not_found")
    customer = Customer.objects.select_related("wallet").filter(pk=payload["customer_id"]).first()
    if customer is None:
        raise NotFound(f"customer {payload['customer_id']!r} not found", code="customer_not_found")
    redemptions = _redemptions(payload)
    order = payload.get("order") or {}
    spendable = {t["reward_id"]: Decimal(str(t["total"])) for t in
                 wallet_summary(wallet_id=customer.wallet.pk, now=timezone.now(), with_lines=False)["totals"]}
    factors = {str(r.pk): r.conversion_factor for r in Reward.objects.filter(pk__in={i.reward_id for i in redemptions})}
    results, discount = [], ZERO
    for item in redemptions:
        problem, code = _placement_problem(item, order), "reward_not_redeemable_here"
        left = spendable.get(item.reward_id, ZERO)
        if problem is None and item.amount > left:
            problem, code = f"asked {item.amount}, spendable {max(left, ZERO)}", "insufficient_balance"
        value = (item.amount * factors[item.reward_id]).quantize(Decimal("0.0001")) \
            if factors.get(item.reward_id) is not None else None
        if problem is None:
            spendable[item.reward_id] = left - item.amount
            if value is not None and item.place.startswith("order"):  # top-level redeem is no order discount
                discount += value
        results.append({"place": item.place, "reward_id": item.reward_id, "amount": item.amount, "value": value,
                        "status": "OK" if problem is None else "ERROR",
                        "error": None if problem is None else {"error": code, "details": problem}})
    order_value = order.get("value")
    return jsonable({
        "redemptions": results,
        "valid": all(r["status"] == "OK" for r in results),
        "order": {"value": order_value, "discount": discount,
                  "value_after": None if order_value is None else max(order_value - discount, ZERO)},
    })


def _live_duplicate(event: Event) -> Event | None:
    if not event.purchase_id:
        return None
    return Event.objects.filter(brand_id=event.brand_id, type_id=event.type_id, purchase_id=event.purchase_id,
                                status__in=Event.LIVE).first()


def _store_failed(event: Event, exc, now, source, actor, *, insert: bool = True) -> None:
    previous = "" if insert else Status.PROCESSING
    event.status = Status.FAILED
    event.reservation_expires_at = None
    event.failed_at = now
    event.resolved_at = None
    event.queued = False
    event.reason = str(exc.details)
    event.error_code = exc.code
    event.result = {}
    event.rewarding_campaigns = []
    with transaction.atomic():
        event.save(force_insert=insert)
        _record(event, previous, Status.FAILED, now, source, actor, event.reason)


# ---- fulfill / reverse -----------------------------------------------------------------------------------


def _lock_event(event_id) -> tuple[Event, datetime]:
    """Lock the event row and read the database clock in the same query."""
    try:
        event = Event.objects.select_for_update().annotate(db_now=Now()).get(pk=event_id)
    except (Event.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(f"event {event_id} not found", code="event_not_found") from None
    clock = event.db_now
    if isinstance(clock, str):
        clock = db_now()
    if clock.tzinfo is None:
        clock = timezone.make_aware(clock, timezone.utc)
    return event, clock


def event_fulfill(*, event_id, source: str = "api", actor=None) -> Event:
    """Credit a held event: its pending lines become spendable, its reservations are consumed,
    metrics are updated. Locks the event, then the wallet. Raises NotFound, InvalidTransition
    (not a held PENDING event, or past its reservation deadline)."""
    with transaction.atomic():
        event, clock = _lock_event(event_id)
        if event.queued:
            raise Conflict("the event is still queued for processing", code="invalid_transition",
                           status=event.status)
        if event.status != Status.PENDING or event.fulfilled:
            raise InvalidTransition(action="fulfill", status=event.status)
        if event.reservation_expires_at and clock >= event.reservation_expires_at:
            raise InvalidTransition(
                action="fulfill", status=event.status,
                details=f"the reservation expired at {event.reservation_expires_at.isoformat()}; the event is due to expire",
            )
        now = timezone.now()
        ledger = _ledger_for(event, now)
        wallet_services.wallet_post_pending(ledger=ledger)
        ledger.flush()
        _metrics(event, event.data, sign=1)
        event.fulfilled = True
        _move(event, ledger.wallet.pk, Status.RESOLVED, now, source, actor, "")
        campaign_rules.tier_update(customer=_customer(event), event=event, now=now, upgrade_only=True)
    return event


def event_reverse(*, event_id, reason: str, source: str = "api", actor=None) -> Event:
    """Undo an event: RESOLVED -> REVERSED (accumulations taken back, redemptions returned,
    metrics restored) or held PENDING -> CANCELLED (pending lines dropped, reservations
    released). Locks the event, then the wallet. Raises InvalidInput (no reason), NotFound,
    InvalidTransition."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "a non-empty reason is required"})
    with transaction.atomic():
        event, _clock = _lock_event(event_id)
        now = timezone.now()
        if event.status == Status.PENDING and event.queued:
            # nothing was applied yet: the worker will find it cancelled and do nothing
            _cancel_queued(event, now, source, actor, reason)
        elif event.status == Status.PENDING and not event.fulfilled:
            ledger = _ledger_for(event, now)
            campaign_rules.budgets_give_back(event_id=event.pk)
            wallet_services.wallet_release(ledger=ledger, drop_state=WalletLine.State.REVERSED)
            ledger.flush()
            _move(event, ledger.wallet.pk, Status.CANCELLED, now, source, actor, reason)
        elif event.status == Status.RESOLVED:
            ledger = _ledger_for(event, now)
            campaign_rules.budgets_give_back(event_id=event.pk)
            wallet_services.wallet_reverse(ledger=ledger)
            ledger.flush()
            _metrics(event, event.data, sign=-1)
            _move(event, ledger.wallet.pk, Status.REVERSED, now, source, actor, reason)
            campaign_rules.tier_update(customer=_customer(event), event=event, now=now, upgrade_only=False)
        else:
            event.ensure_can_become(Status.REVERSED, action="reverse")
    return event


# ---- expiry ------------------------------------------------------------------------------------------------


def event_expire_due(*, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 50,
                     source: str = "task") -> list:
    """Expire held events past their reservation deadline, in batches of `batch_size`, each batch
    one transaction whose events are claimed with FOR UPDATE SKIP LOCKED: runs at once share the
    work and never release twice. `now` defaults to the database's clock. Returns expired ids."""
    batch_size = batch_size or settings.LOYALTY_EXPIRY_BATCH_SIZE
    expired = []
    for _ in range(max_batches):
        with transaction.atomic():
            due = Event.objects.filter(status=Status.PENDING, fulfilled=False, queued=False,
                                       reservation_expires_at__lte=now if now is not None else Now())
            batch = list(due.select_for_update(skip_locked=True).order_by("reservation_expires_at", "id")[:batch_size])
            # Lock the batch's wallets up front in id order: two runs whose batches share
            # customers would otherwise take them in deadline order and deadlock.
            wallet_services.wallets_lock(customer_ids={event.customer_id for event in batch})
            stamp = now or timezone.now()
            for event in batch:
                ledger = _ledger_for(event, stamp)
                campaign_rules.budgets_give_back(event_id=event.pk)
                wallet_services.wallet_release(ledger=ledger, drop_state=WalletLine.State.EXPIRED)
                ledger.flush()
                _move(event, ledger.wallet.pk, Status.EXPIRED, stamp, source, None, "reservation window ended")
                expired.append(event.pk)
        if len(batch) < batch_size:
            break
    return expired


def expire_due(*, now: datetime | None = None) -> dict:
    """The periodic job: due held events, then due wallet lines, then queued events whose task
    was lost."""
    events = event_expire_due(now=now)
    lines = wallet_services.wallet_expire_due(now=now or db_now(), batch_size=settings.LOYALTY_EXPIRY_BATCH_SIZE)
    from events.idempotency import idempotency_purge

    return {"events_expired": len(events), "lines_expired": lines, "requeued": event_requeue_stale(),
            "idempotency_keys_purged": idempotency_purge()}


def due_events(*, now: datetime | None = None):
    """The held events an expiry run would expire now (for --dry-run)."""
    return Event.objects.filter(status=Status.PENDING, fulfilled=False, queued=False,
                                reservation_expires_at__lte=now if now is not None else Now())


# ---- helpers ---------------------------------------------------------------------------------------------------


def _ledger_for(event: Event, now: datetime) -> Ledger:
    wallet = wallet_services.wallet_lock(customer_id=event.customer_id)
    ledger = Ledger(wallet=wallet, event_id=event.id, now=now)
    # every reward this event can move: its lines' and its ledger rows' (one query)
    touched = Q(pk__in=WalletLine.objects.filter(event_id=event.id).values("reward_id")) | Q(
        pk__in=Transaction.objects.filter(event_id=event.id).values("reward_id"))
    ledger.rewards = {str(r.pk): r for r in Reward.objects.filter(touched)}
    return ledger


def _customer(event: Event) -> Customer:
    return Customer.objects.only("id", "tags", "registration_date", "tier_id").get(pk=event.customer_id)


def _metrics(event: Event, payload: dict, *, sign: int) -> None:
    order = payload.get("order") or {}
    spend = Decimal(str(order.get("value") or 0)) if event.type_id == "PURCHASE" else ZERO
    month = month_of(event.issued_at)
    last_visit = None
    if sign < 0:
        last_visit = (
            Event.objects.filter(customer_id=event.customer_id, status=Status.RESOLVED)
            .exclude(pk=event.pk).filter(issued_at__gte=_month_start(month), issued_at__lt=_month_start(month, 1))
            .order_by("-issued_at").values_list("issued_at", flat=True).first()
        )
    wallet_services.metrics_apply(
        customer_id=event.customer_id, month=month, event_type=event.type_id,
        is_purchase=event.type_id == "PURCHASE", spend=spend, issued_at=event.issued_at, sign=sign,
        last_visit=last_visit,
    )


def _month_start(month, add: int = 0) -> datetime:
    index = month.year * 12 + month.month - 1 + add
    return timezone.make_aware(datetime(index // 12, index % 12 + 1, 1))


def _move(event: Event, wallet_id, to: str, now: datetime, source: str, actor, reason: str) -> None:
    event.ensure_can_become(to, action=_ACTIONS.get(to, "change"))
    previous = event.status
    event.status = to
    setattr(event, Event.TIMESTAMP_OF[to], now)
    fields = ["status", Event.TIMESTAMP_OF[to], "fulfilled", "result"]
    if reason:
        event.reason = reason
        fields.append("reason")
    accumulations = [line_dict(line) for line in WalletLine.objects.filter(event_id=event.pk).order_by("id")]
    event.result = _result(event, wallet_id, accumulations=accumulations,
                           redemptions=event.result.get("redemptions", []), now=now)
    event.save(update_fields=fields)
    _record(event, previous, to, now, source, actor, reason)


_ACTIONS = {Status.RESOLVED: "fulfill", Status.REVERSED: "reverse", Status.CANCELLED: "reverse",
            Status.EXPIRED: "expire"}


def _cancel_queued(event, now, source, actor, reason) -> None:
    previous = event.status
    event.status, event.cancelled_at, event.reason, event.queued = Status.CANCELLED, now, reason, False
    event.save(update_fields=["status", "cancelled_at", "reason", "queued"])
    _record(event, previous, Status.CANCELLED, now, source, actor, reason)


def _record(event, from_status, to_status, now, source, actor, reason) -> None:
    EventTransition.objects.create(event=event, from_status=from_status, to_status=to_status, at=now,
                                   actor=actor if getattr(actor, "pk", None) else None, source=source,
                                   reason=reason)


def _result(event: Event, wallet_id, *, accumulations, redemptions, now) -> dict:
    wallet = wallet_summary(wallet_id=wallet_id, now=now, with_lines=False)
    return jsonable({
        "accumulations": accumulations,
        "redemptions": redemptions,
        "wallet": wallet,
        "customer": {"id": event.customer_id, "metrics": {"lifetime": customer_metrics(
            customer_id=event.customer_id, now=now)["lifetime"]}},
    })


def _unique(items: list[dict]) -> list[dict]:
    seen, out = set(), []
    for item in items:
        key = tuple(item.values())
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def event_get(*, event_id) -> Event:
    try:
        return Event.objects.get(pk=event_id)
    except (Event.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(f"event {event_id} not found", code="event_not_found") from None
