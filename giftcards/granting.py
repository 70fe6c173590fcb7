"""How a campaign's GIFT_CARD grant becomes codes: the event lifecycle's hooks
(events.extensions), registered in GiftcardsConfig.ready().

- Granting (`gift_cards_hand_out`, a grants hook): a grant of a GIFT_CARD reward of amount N
  asks for N whole cards (the fraction is dropped; at most MAX_CARDS_PER_GRANT a grant). Each
  card is one unused, unexpired code of the reward's pool, taken with `SELECT ... FOR UPDATE
  SKIP LOCKED` (two events granting at once take different codes and neither waits for the
  other; SQLite has no row locks and serialises writers) and given to the customer and the
  event. The grant is kept for what was handed out: its wallet line holds that many cards (so
  the ledger agrees with the codes), a budgeted grant gives its budget back what it did not
  hand out, and a pool with too few codes never fails the event: the grant shrinks (or is
  dropped) and `result.gift_card_unfilled` says which grant got less and why (`pool_empty`).
  `result.gift_card` lists the codes handed out (Masivo's shape, plus `status`).
- A held event (`fulfilled: false`) takes its codes at once, HELD: nobody else can get them,
  the customer cannot redeem them yet. Fulfilment makes them GRANTED (`rewarded_at` then);
  cancellation or expiry puts them back in the pool (the result says RETURNED).
- A reversed event voids its GRANTED codes (VOID: the customer has seen them, so they are never
  handed out again); a code already REDEEMED stays redeemed (the card was spent at the shop:
  the engine cannot take it back; the result says REDEEMED so the operator can settle it). Its
  wallet line is reversed like any other.

No query for an event without a GIFT_CARD grant: the grants' rewards are in `ledger.rewards`
before the hook runs, and the later hooks look for `gift_card` in the event's stored result.
Lock order: the event (if any), its wallet (the caller's), the campaign rows (already locked by
the budget check), then pool codes (skipped when locked, never waited for).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from decimal import Decimal

from django.db.models import Q
from django.db.models.functions import Now

from campaigns.models import Reward
from campaigns.services import campaign_budgets_add
from core.exceptions import Busy
from core.json import jsonable
from events.models import Event
from events.serializers import GiftCardOut
from giftcards.models import GiftCardCode

Status = GiftCardCode.Status
MAX_CARDS_PER_GRANT = 100
PARTS = ("gift_card", "gift_card_unfilled")


def _is_gift_card(ledger, grant) -> bool:
    reward = ledger.rewards.get(str(grant.reward_id))
    return reward is not None and reward.type == Reward.Type.GIFT_CARD


def gift_cards_hand_out(event: Event, grants: list, ledger, hold: bool) -> tuple[list, dict]:
    """The grants hook: GIFT_CARD grants become codes (module docstring)."""
    if not any(_is_gift_card(ledger, g) for g in grants):
        return grants, {}
    kept, cards, unfilled = [], [], []
    give_back: dict = defaultdict(Decimal)
    for grant in grants:
        if not _is_gift_card(ledger, grant):
            kept.append(grant)
            continue
        wanted = min(int(grant.amount), MAX_CARDS_PER_GRANT)
        taken = _take(event, grant.reward_id, wanted, hold=hold, now=ledger.now) if wanted else []
        if taken:
            kept.append(dataclasses.replace(grant, amount=Decimal(len(taken))))
        if grant.budgeted and grant.amount != len(taken):
            give_back[grant.campaign_id] -= grant.amount - len(taken)
        if len(taken) < wanted:
            unfilled.append(
                {
                    "reward_id": str(grant.reward_id),
                    "campaign_id": str(grant.campaign_id),
                    "rule_id": grant.rule_id,
                    "wanted": wanted,
                    "handed_out": len(taken),
                    "reason": "pool_empty",
                }
            )
        cards.extend(taken)
    if give_back:
        campaign_budgets_add(dict(give_back))  # the rows are locked already (grants_under_campaign_locks)
    parts = {"gift_card": [card_view(c) for c in cards]}
    if unfilled:
        parts["gift_card_unfilled"] = unfilled
    return kept, parts


def _take(event: Event, reward_id, wanted: int, *, hold: bool, now) -> list[GiftCardCode]:
    """Up to `wanted` free codes of the reward's pool, now the event's customer's (HELD or
    GRANTED), oldest first. Raises Busy if a code changed hands between the lock and the
    update (cannot happen under the row locks; a guard for databases without them)."""
    free = (
        GiftCardCode.objects.select_for_update(skip_locked=True)
        .filter(reward_id=reward_id, status=Status.AVAILABLE)
        .filter(Q(expired_at__isnull=True) | Q(expired_at__gt=Now()))
        .order_by("id")
        .only("id", "code", "reward_id", "description", "expired_at")[:wanted]
    )
    cards = list(free)
    if not cards:
        return []
    changes = {
        "status": Status.HELD if hold else Status.GRANTED,
        "customer_id": event.customer_id,
        "event_id": event.pk,
        "brand_id": event.brand_id,
        "rewarded_at": None if hold else now,
    }
    updated = GiftCardCode.objects.filter(pk__in=[c.pk for c in cards], status=Status.AVAILABLE).update(**changes)
    if updated != len(cards):
        raise Busy("gift-card codes changed hands while this event took them; send it again", code="gift_card_busy")
    for card in cards:
        for name, value in changes.items():
            setattr(card, name, value)
    return cards


def card_view(card: GiftCardCode, status: str | None = None) -> dict:
    """One code as `result.gift_card` and the customer's list show it (JSON-safe)."""
    data = GiftCardOut(card).data
    if status:
        data["status"] = status
    return jsonable(data, exact=True)


def gift_cards_confirm(event: Event, now) -> None:
    """The resolved hook: a fulfilled held event's codes become the customer's."""
    if "gift_card" not in (event.result or {}):
        return
    GiftCardCode.objects.filter(event_id=event.pk, status=Status.HELD).update(status=Status.GRANTED, rewarded_at=now)
    _result_update(event, {c.code: card_view(c) for c in GiftCardCode.objects.filter(event_id=event.pk)})


def gift_cards_take_back(event: Event, status: str, now) -> None:
    """The undone hook: a reversed event voids its unredeemed codes; a held event that ended
    unfulfilled returns its codes to the pool."""
    if "gift_card" not in (event.result or {}):
        return
    codes = GiftCardCode.objects.filter(event_id=event.pk)
    if status == Event.Status.REVERSED:
        codes.filter(status=Status.GRANTED).update(status=Status.VOID, voided_at=now)
        _result_update(event, {c.code: card_view(c) for c in codes})
        return
    returned = [c.code for c in codes.filter(status=Status.HELD).only("code")]
    codes.filter(status=Status.HELD).update(
        status=Status.AVAILABLE, customer=None, event=None, brand=None, rewarded_at=None
    )
    _result_update(event, {}, returned=set(returned))


def _result_update(event: Event, views: dict, returned: frozenset | set = frozenset()) -> None:
    """Bring the stored `result.gift_card` up to date with the codes (their state after this
    transition): one UPDATE of the event row, for events that handed out cards only."""
    entries = []
    for entry in event.result.get("gift_card") or []:
        if entry["code"] in views:
            entry = views[entry["code"]]
        elif entry["code"] in returned:
            entry = {**entry, "status": "RETURNED", "rewarded_at": None}
        entries.append(entry)
    event.result = {**event.result, "gift_card": entries}
    Event.objects.filter(pk=event.pk).update(result=event.result)
