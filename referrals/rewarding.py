"""Rewarding a referral (docs/referrals.md), called by referrals.hooks inside the referred
customer's event transaction:

- `referrals_qualify` (the event is being applied, its grants not yet credited): each of the
  customer's LINKED referrals of a REFERRALS campaign running for this event (its trigger, its
  brand or global, at `issued_at`) is evaluated by the engine like a behaviour campaign, on the
  event and the referred customer as they stood before it: `referee_rules` for the referred
  customer, `rules` for the referrer. The event qualifies when either grants anything; then one
  use of the code is counted (one conditional UPDATE: never past `max_uses`; of two referred
  customers racing for the last use one wins, the other's event simply does not qualify), the
  referee's grants join the event's own (PENDING while it is held, its budget and the edit lock
  as for any campaign), and the referrer's are kept in the event's `result.referral`.
- `referrer_reward` (the event RESOLVED, at once or when fulfilled): the referrer's grants are
  credited as a separate RESOLVED event of the built-in REFERRAL type on the referrer's wallet
  (`data.cause_event_id`, `data.referral_id`), with its own ledger trail, cut to the campaign's
  budget like any grant; the referral is REWARDED.
- `referrals_undoing` (the event about to be reversed; or cancelled or expired while held):
  the uses are given back, the referrals are LINKED again (a later event may qualify),
  and each REFERRAL event is reversed by events.services.event_reverse (debt rules included), so
  that both sides net to zero. A REFERRAL event reversed on its own (an operator's call) takes
  back the referrer's reward only: the use stays counted (the referee was referred and rewarded).

Lock order, the same on every path (so that none can deadlock): event rows (the referred
customer's event, then the referrers' REFERRAL events), the referred customer's wallet, the
referrers' wallets (id order), the codes' rows (id order), the campaign rows (budgets). Wallets
go referred-before-referrer, never by id across the two: emit locks the referred customer's
wallet before any hook runs; links never close a cycle (referrals.services), so this order is
one order. The referrer's wallet is locked before the code and budget rows even though it is
credited last.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q

from campaigns.engine import Grant, evaluate
from campaigns.services import campaign_budgets_add, campaign_budgets_lock
from core.exceptions import LimitExceeded
from core.json import jsonable
from events.models import Event
from events.rewarding import event_facts, grants_cut_to_budgets, grants_under_campaign_locks
from events.services.outcome import NO_BEHAVIORAL_CONSENT, event_result
from events.status import Source, event_transition
from referrals.models import Referral, ReferralCode
from wallets.ledger import wallet_ledger
from wallets.locks import wallet_lock, wallets_lock
from wallets.models import Customer
from wallets.profile import BEHAVIORAL, consent_allows
from wallets.services import wallet_accumulate

REFERRAL = "REFERRAL"


def _grant_out(grant: Grant) -> dict:
    return {
        "rule_id": grant.rule_id,
        "reward_id": str(grant.reward_id),
        "amount": str(grant.amount),
        "expiration": grant.expiration,
    }


def referrals_qualify(*, event, running: list, decimals: dict, hold: bool, now) -> tuple[list[dict], list[Grant]]:
    """(the qualified referrals for `result.referral.qualified`, the referee's grants)."""
    by_id = {str(c.referrer.id): c for c in running}
    linked = list(
        Referral.objects.filter(
            referee_id=event.customer_id, campaign_id__in=list(by_id), qualified_event_id__isnull=True
        ).order_by("code_id")
    )
    if not linked:
        return [], []
    customer = Customer.objects.only("id", "tags", "registration_date", "tier_id", "consent").get(pk=event.customer_id)
    if not consent_allows(customer.consent, BEHAVIORAL):
        return [], []
    facts = event_facts(
        event_type=event.type_id,
        payload=dict(event.data),
        customer=customer,
        version=event.programme_version,
        at=event.issued_at,
    )
    candidates = []
    for referral in linked:
        campaign = by_id[str(referral.campaign_id)]
        for_referee = evaluate([campaign.referee], facts, decimals)
        for_referrer = evaluate([campaign.referrer], facts, decimals)
        if for_referee or for_referrer:
            candidates.append((referral, campaign, for_referee, for_referrer))
    if not candidates:
        return [], []
    if not hold:  # credited in this transaction: locked before the codes and budgets (module docstring)
        wallets_lock(customer_ids=sorted({referral.referrer_id for referral, *_ in candidates}))
    qualified, grants = [], []
    for referral, campaign, for_referee, for_referrer in candidates:
        used = (
            ReferralCode.objects.filter(pk=referral.code_id)
            .filter(Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")))
            .update(uses_count=F("uses_count") + 1)
        )
        if not used:
            continue  # the code's last use went to another referred customer
        Referral.objects.filter(pk=referral.pk).update(qualified_event_id=event.pk, qualified_at=now)
        grants += grants_under_campaign_locks(for_referee, [campaign.referee], decimals)
        qualified.append(
            {
                "referral_id": referral.pk,
                "campaign_id": str(referral.campaign_id),
                "referrer_id": referral.referrer_id,
                "grants": [_grant_out(g) for g in for_referrer],  # the referrer's, credited when it resolves
            }
        )
    return qualified, grants


def referrer_reward(*, event, entry: dict, now) -> Event | None:
    """Credit one qualified referral's referrer (module docstring); None if it is no longer
    this event's to reward (undone meanwhile, or rewarded already)."""
    referral = (
        Referral.objects.select_for_update()
        .filter(pk=entry["referral_id"], qualified_event_id=event.pk, referrer_event_id__isnull=True)
        .first()
    )
    if referral is None:
        return None
    referrer = Customer.objects.only("id", "consent").get(pk=referral.referrer_id)
    allowed = consent_allows(referrer.consent, BEHAVIORAL)
    campaign_id = uuid.UUID(entry["campaign_id"])
    grants = [
        Grant(campaign_id, g["rule_id"], g["reward_id"], Decimal(g["amount"]), g["expiration"])
        for g in entry.get("grants") or []
    ]
    record = Event(
        id=uuid.uuid4(),
        customer_id=referral.referrer_id,
        brand_id=event.brand_id,
        type_id=REFERRAL,
        fulfilled=True,
        issued_at=now,
        data=jsonable(
            {
                "customer_id": referral.referrer_id,
                "brand_id": event.brand_id,
                "type": REFERRAL,
                "referral_id": referral.pk,
                "campaign_id": str(campaign_id),
                "referee_id": referral.referee_id,
                "cause_event_id": str(event.pk),
            },
            exact=True,
        ),
    )
    try:
        with transaction.atomic():  # the referrer's wallet limit refuses only the referrer's reward
            with wallet_ledger(
                customer_id=referral.referrer_id, event_id=record.id, now=now, reward_ids=[g.reward_id for g in grants]
            ) as ledger:
                grants = _within_budget(grants if allowed else [], ledger, campaign_id)
                lines = wallet_accumulate(
                    ledger=ledger, grants=grants, hold=False, issued_at=now, brand_id=event.brand_id
                )
            record.programme_version = getattr(event, "programme_version", None)  # what it announces
            event_transition(
                record,
                Event.Status.RESOLVED,
                at=now,
                source=Source.ENGINE,
                insert=True,
                reason=f"referral {referral.pk}: {referral.referee_id}'s event {event.pk}",
                changes={
                    "rewarding_campaigns": [
                        {"campaign_id": str(campaign_id), "rule_id": rule}
                        for rule in dict.fromkeys(g.rule_id for g in grants)
                    ],
                    "result": event_result(
                        record,
                        ledger.wallet.pk,
                        accumulations=lines,
                        redemptions=[],
                        now=now,
                        campaigns_skipped=None if allowed else NO_BEHAVIORAL_CONSENT,
                    ),
                },
            )
    except LimitExceeded:
        return None  # the referral stays QUALIFIED, unrewarded (docs/referrals.md)
    Referral.objects.filter(pk=referral.pk).update(referrer_event_id=record.pk, rewarded_at=now)
    return record


def _within_budget(grants: list[Grant], ledger, campaign_id) -> list[Grant]:
    """The grants cut to what the campaign's budget has left, counted used (its row locked after
    the referrer's wallet, like every budget): events.rewarding.grants_cut_to_budgets."""
    if not grants:
        return grants
    budget, used = campaign_budgets_lock([campaign_id]).get(campaign_id, (None, Decimal(0)))
    if budget is None:
        return grants
    decimals = {g.reward_id: ledger.rewards[str(g.reward_id)].decimals for g in grants}
    out, counted = grants_cut_to_budgets(grants, left={str(campaign_id): budget - used}, decimals=decimals)
    campaign_budgets_add({campaign_id: sum(counted.values(), Decimal(0))})
    return out


# ---- undoing -----------------------------------------------------------------------------------------


def qualified_of(event) -> list[dict]:
    """The referrals this event qualified, from its stored result (no query)."""
    return ((event.result or {}).get("referral") or {}).get("qualified") or []


def referrals_undoing(*, event, entries: list[dict], now) -> None:
    """Before an event that qualified referrals is undone (reversed; or, held, cancelled or
    expired) and before its wallet's ledger block: lock the referrers' REFERRAL events, the
    event's wallet, the referrers' wallets; give the codes' uses back, make the referrals LINKED
    again, and reverse the REFERRAL events (event_reverse: debt rules included), all in the lock
    order of the module docstring."""
    from events.services.transitions import event_reverse  # it calls the hooks that call this

    referrals = list(
        Referral.objects.filter(pk__in=[e["referral_id"] for e in entries], qualified_event_id=event.pk).order_by(
            "code_id"
        )
    )
    if not referrals:
        return
    rewarded = sorted(str(r.referrer_event_id) for r in referrals if r.referrer_event_id)
    if rewarded:
        list(Event.objects.select_for_update().filter(pk__in=rewarded).order_by("pk").values_list("pk", flat=True))
    wallet_lock(customer_id=event.customer_id)
    if rewarded:
        wallets_lock(customer_ids=sorted({r.referrer_id for r in referrals if r.referrer_event_id}))
    for referral in referrals:  # by code id
        ReferralCode.objects.filter(pk=referral.code_id, uses_count__gt=0).update(uses_count=F("uses_count") - 1)
    Referral.objects.filter(pk__in=[r.pk for r in referrals]).update(
        qualified_event_id=None, qualified_at=None, referrer_event_id=None, rewarded_at=None, undone_at=now
    )
    resolved = Event.objects.filter(pk__in=rewarded, status=Event.Status.RESOLVED).order_by("pk")
    for record_id in resolved.values_list("pk", flat=True):  # one reversed by hand stays as it is
        event_reverse(
            event_id=record_id, reason=f"the referred customer's event {event.pk} was undone", source=Source.ENGINE
        )
