"""Emitting events: synchronously (`event_emit`), queued for a worker (`event_enqueue`, then
`event_process_queued`), and late for a held event that expired although the shop fulfilled
it (`event_fulfill_expired`).

    (new) --emit--> RESOLVED | PENDING (held, `fulfilled: false`) | FAILED (422, nothing moved)
    (new) --?async=true--> PENDING (queued) --worker--> PROCESSING --> RESOLVED | PENDING (held) | FAILED

Invariants: each emit is one transaction (its ledger rows, lines, totals, metrics, budgets and
the event row, or none); a refused redemption stores the event FAILED with nothing moved; the
partial unique index on (brand, type, purchase_id) of live events refuses a duplicate purchase,
whatever credential or retry sent it.

Order of checks, the same synchronously and with `?async=true` (an event failing two gets the
first one's answer):
  1. the input (400 `validation_error`: references, event type, rewards, amounts) and where
     each redemption is asked (422 `reward_not_redeemable_here`, the event stored FAILED);
  2. a live event with the same purchase id (409 `duplicate_purchase`, nothing stored);
  3. the balance (422 `insufficient_balance`, stored FAILED) and the other refusals that depend
     on the wallet or the programme at that moment: synchronously only; a queued event is judged
     by the worker (stored FAILED then).
The unique index speaks only when the event is inserted, which comes after the balance was
judged: a synchronous refusal at step 3 first looks for the live duplicate (a read: a duplicate
committed after it is not seen, and the event is refused all the same, stored FAILED, which is
not live). The queued path runs step 1's placement check before inserting the queued event.

Lock order: emit has no event row to lock yet: it locks the wallet (`wallet_ledger`), then the
edit locks of the campaigns that fired (shared advisory locks: an edit of a campaign and an event
firing it are serialised, and an event that finds a fired campaign edited since the programme
was compiled is evaluated again), then the budgeted campaigns' rows by id, and inserts the event
last. The worker locks the queued event first, then the wallet. An edit takes its campaign's
edit lock, then its row.
"""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import cache as programme_cache
from campaigns.engine import evaluate
from campaigns.models import EventType
from core.exceptions import (
    BusinessRuleError,
    Busy,
    Conflict,
    InsufficientBalance,
    InvalidInput,
    InvalidTransition,
    LimitExceeded,
)
from events import extensions
from events.models import Event
from events.redemptions import placements_check, redemptions_asked
from events.rewarding import (
    ProgrammeChanged,
    campaigns_within_limits,
    customer_tier_recompute,
    event_facts,
    grants_under_campaign_locks,
)
from events.selectors import event_get
from events.services.outcome import NO_BEHAVIORAL_CONSENT, event_metrics_apply, event_result, unique
from events.services.references import customer_found_or_404, event_prepare, references_again
from events.status import Source, event_transition
from wallets.ledger import wallet_ledger
from wallets.profile import BEHAVIORAL, consent_allows
from wallets.services import Redemption, wallet_accumulate, wallet_redeem

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Event.Status


def event_emit(*, payload: dict, source: Source = Source.API, actor: AbstractBaseUser | None = None) -> Event:
    """Apply one event synchronously and return it (RESOLVED or held PENDING).

    `payload` is the validated emit body (Decimals, aware datetimes). Raises NotFound (brand,
    customer), InvalidInput (event type, reward), Conflict `duplicate_purchase`, and
    InsufficientBalance / BusinessRuleError after storing the event as FAILED, in the order of
    checks of the module docstring (a placement refusal before a duplicate, a duplicate before
    the balance); LimitExceeded (`event_grant_limit`, `wallet_limit`) with nothing stored.
    """
    event, event_type, redemptions = event_prepare(payload, customer_check=False)
    _apply_or_fail(event, event_type, payload, redemptions, source=source, actor=actor)
    return event


def event_fulfill_expired(*, event_id, source: Source = Source.COMMAND, actor: AbstractBaseUser | None = None) -> Event:
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
    payload = _stored_payload(original)
    payload["fulfilled"] = True
    payload["customer_id"] = original.customer_id  # the customer's id now (it may have been re-keyed)
    payload.pop("reserve", None)
    event, event_type, redemptions = event_prepare(payload)
    event.replaces = original
    Event.objects.filter(replaces=original, status=Status.FAILED).update(replaces=None)  # an earlier failed try
    _apply_or_fail(event, event_type, payload, redemptions, source=source, actor=actor)
    return event


def event_enqueue(*, payload: dict, source: Source = Source.API, actor: AbstractBaseUser | None = None) -> Event:
    """`?async=true`: check the references and where each redemption is asked, store the event
    PENDING and queued, and queue its processing for a Celery worker once the transaction
    commits. The purchase id is claimed now (a duplicate is refused at once). The checks run in
    event_emit's order (module docstring); the balance is the worker's to judge. Raises what
    event_emit raises before applying; a placement refusal stores the event FAILED, as there."""
    event, _event_type, redemptions = event_prepare(payload)
    try:
        placements_check(redemptions, payload)
    except BusinessRuleError as exc:
        _store_failed(event, exc, timezone.now(), source, actor, insert=True)
        exc.extra["event_id"] = str(event.pk)
        raise
    try:
        with transaction.atomic():
            event_transition(
                event,
                Status.PENDING,
                at=timezone.now(),
                source=source,
                actor=actor,
                reason="queued",
                insert=True,
                changes={"queued": True, "queue_message_id": str(uuid.uuid4())},
            )
            transaction.on_commit(lambda: send_process(event))
    except IntegrityError as exc:
        _raise_duplicate(event, exc)
    return event


def send_process(event: Event) -> None:
    """Send the worker's task for a queued event (its task id is the queue message id)."""
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
        event_transition(event, Status.PROCESSING, at=now, source=Source.TASK, changes={"queued": False})
        payload = _stored_payload(event)
        try:
            redemptions = redemptions_asked(payload)
            if not event.fulfilled:
                event.reservation_expires_at = event.issued_at + timedelta(days=event.reserve)
            # Busy (edits kept landing) rolls the whole task back: the event stays queued and
            # the periodic job sends it again
            _apply_current(
                event, event.type, payload, redemptions, now=now, insert=False, source=Source.TASK, actor=None
            )
        except (InsufficientBalance, BusinessRuleError, InvalidInput) as exc:
            _store_failed(event, exc, now, Source.TASK, None, insert=False)
    return event


def _stored_payload(event: Event) -> dict:
    """An event's stored payload as a validated one (Decimals, its issued_at)."""
    payload = copy.deepcopy(event.data)  # its amounts are Decimals already (core.json)
    payload["issued_at"] = event.issued_at
    return payload


# How many times one event is evaluated again because a campaign it fired was edited while it
# was being applied (each edit is one operator's save: a handful in a row at most).
MAX_EVALUATIONS = 10


def _apply_current(event, event_type, payload, redemptions, **kwargs) -> None:
    """`_apply` in a savepoint, against the programme as it stands under the campaigns' row
    locks: when a campaign the event fired was edited after the compiled programme was read
    (ProgrammeChanged, events.rewarding.grants_under_campaign_locks), the savepoint is rolled
    back (its locks with it) and the event is evaluated again with the programme re-read. Raises
    Busy (503, nothing stored) if edits keep landing in between MAX_EVALUATIONS times."""
    for _ in range(MAX_EVALUATIONS):
        try:
            with transaction.atomic():
                _apply(event, event_type, payload, redemptions, **kwargs)
            return
        except ProgrammeChanged:
            programme_cache.clear()  # recompiled from the rows as they stand now
    raise Busy("the campaigns this event fires are being edited; send it again", code="programme_changing")


def _apply_or_fail(event, event_type, payload, redemptions, *, source, actor) -> None:
    """Apply a new event, its checks in the one order (module docstring): where each redemption
    is asked, then a live event with the same purchase id, then the balance (and whatever else
    applying refuses). A refusal stores the event FAILED; a duplicate, or an event past the
    event grant or wallet limit (LimitExceeded), stores nothing."""
    now = timezone.now()
    try:
        placements_check(redemptions, payload)
        try:
            _apply_current(event, event_type, payload, redemptions, now=now, insert=True, source=source, actor=actor)
        except (InsufficientBalance, BusinessRuleError):
            # The unique index only speaks when the event is inserted, after the balance was
            # judged: look for the live duplicate first, so that it answers before the balance.
            existing = _live_duplicate(event)
            if existing is not None:
                raise _duplicate_conflict(event, existing) from None
            raise
    except IntegrityError as exc:
        _raise_duplicate(event, exc)
    except LimitExceeded:
        # past the event grant or wallet limit: refused like an input out of its bounds, with
        # nothing stored (no FAILED event); the worker's path stores it FAILED (it exists already)
        raise
    except (InsufficientBalance, BusinessRuleError) as exc:
        customer_found_or_404(event.customer_id)  # a placement refusal comes before the wallet lock
        _store_failed(event, exc, now, source, actor, insert=True)
        exc.extra["event_id"] = str(event.pk)
        raise


def _apply(
    event: Event,
    event_type: EventType,
    payload: dict,
    redemptions: list[Redemption],
    *,
    now,
    insert: bool,
    source: Source,
    actor,
) -> None:
    """Evaluate the campaigns (unless the customer's consent says `behavioral_campaigns: false`:
    then none is, the result says so, and redemptions and metrics apply as usual), move the
    money, count the metrics, store the event, move the tier."""
    hold = not event.fulfilled
    with wallet_ledger(customer_id=event.customer_id, event_id=event.id, now=now, with_customer=True) as ledger:
        customer, version = ledger.customer, ledger.programme_version
        if getattr(event, "_references_version", version) != version:
            event_type, redemptions = references_again(event, payload, version)
        placements_check(redemptions, payload)
        event.programme_version = version  # for what the status change announces (events.announce)
        grants = []
        no_consent = not event_type.tracking_only and not consent_allows(customer.consent, BEHAVIORAL)
        if not event_type.tracking_only and not no_consent:
            campaigns, decimals = extensions.campaigns_for(
                event, payload, version
            ) or programme_cache.running_campaigns(
                brand_id=event.brand_id, trigger=event_type.pk, at=event.issued_at, version=version
            )
            campaigns = campaigns_within_limits(
                campaigns, wallet=ledger.wallet, customer_id=event.customer_id, at=event.issued_at
            )
            if campaigns:
                facts = event_facts(
                    event_type=event_type.pk, payload=payload, customer=customer, version=version, at=event.issued_at
                )
                grants = grants_under_campaign_locks(evaluate(campaigns, facts, decimals), campaigns, decimals)
        # loaded before the hooks, which read the grants' rewards (their type) from the ledger;
        # loaded again after them only if a hook added a grant of another reward
        ledger.load_rewards({g.reward_id for g in grants} | {r.reward_id for r in redemptions}, version=version)
        grants, parts = extensions.grants_adjusted(event, grants, ledger, hold)
        ledger.load_rewards({g.reward_id for g in grants}, version=version)
        # Redemptions are judged against the balance before this event: before its own grants
        # exist, and before they pay any debt.
        taken = wallet_redeem(ledger=ledger, redemptions=redemptions, hold=hold)
        lines = wallet_accumulate(
            ledger=ledger,
            grants=grants,
            hold=hold,
            issued_at=event.issued_at,
            brand_id=event.brand_id,
            reservation_expires_at=event.reservation_expires_at,
        )
    buckets = None if hold else event_metrics_apply(event, payload, sign=1, with_buckets=True)
    changes = {
        "rewarding_campaigns": unique([{"campaign_id": str(g.campaign_id), "rule_id": g.rule_id} for g in grants]),
        "result": event_result(
            event,
            ledger.wallet.pk,
            accumulations=lines,
            redemptions=taken,
            now=now,
            campaigns_skipped=NO_BEHAVIORAL_CONSENT if no_consent else None,
            ledger=ledger,
            buckets=buckets,
        )
        | parts,
        "reservation_expires_at": event.reservation_expires_at,
    }
    event_transition(
        event,
        Status.PENDING if hold else Status.RESOLVED,
        at=now,
        source=source,
        actor=actor,
        insert=insert,
        changes=changes,
    )
    extensions.event_applied(event, customer, payload, hold, now)
    if not hold:
        customer_tier_recompute(customer=customer, event=event, now=now, version=version, upgrade_only=True)


def _live_duplicate(event: Event) -> Event | None:
    """The live (PENDING or RESOLVED) event with this event's brand, type and purchase id."""
    if not event.purchase_id:
        return None
    return Event.objects.filter(
        brand_id=event.brand_id, type_id=event.type_id, purchase_id=event.purchase_id, status__in=Event.LIVE
    ).first()


def _duplicate_conflict(event: Event, existing: Event) -> Conflict:
    return Conflict(
        f"a live event for purchase {event.purchase_id!r} exists",
        code="duplicate_purchase",
        event_id=str(existing.pk),
    )


def _raise_duplicate(event: Event, exc: IntegrityError):
    """The insert hit an IntegrityError: a Conflict `duplicate_purchase` if a live event holds
    the purchase id (the partial unique index), else the error itself."""
    existing = _live_duplicate(event)
    if existing is None:
        raise exc
    raise _duplicate_conflict(event, existing) from None


def _store_failed(event: Event, exc, now, source: Source, actor, *, insert: bool) -> None:
    reason = str(exc.details)
    with transaction.atomic():
        event_transition(
            event,
            Status.FAILED,
            at=now,
            source=source,
            actor=actor,
            reason=reason,
            insert=insert,
            changes={
                "reservation_expires_at": None,
                "resolved_at": None,
                "queued": False,
                "reason": reason,
                "error_code": exc.code,
                "result": {},
                "rewarding_campaigns": [],
            },
        )
