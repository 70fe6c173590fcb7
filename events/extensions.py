"""Where the apps above `events` (coupons, gift cards, referrals) join an event's lifecycle:
each registers its hooks once, in its AppConfig.ready(), and the event services call them at
fixed points, inside the event's transaction, holding the event's wallet lock (lock order: the
event, then its wallet, then whatever a hook locks: its own rows, or another customer's wallet
by id order). A hook that raises a DomainError refuses the event like any other refusal of
that step; nothing it wrote stays.

- `campaign_source(event, payload, version) -> list[CompiledCampaign] | None`: the campaigns to
  evaluate for this event instead of the running BEHAVIOR campaigns of its trigger (a coupon
  redemption evaluates its coupon's campaign only). The first hook answering a list wins.
- `grants_hook(event, grants, ledger, hold) -> (grants, result_parts)`: change the grants before
  they are credited (a gift-card grant hands out codes from its pool and grants only what it
  could hand out), and add parts to the event's `result` (`{"gift_card": [...]}`: kept on every
  later update of the result; EventResultOut renders the parts it declares). The grants'
  rewards (and the redemptions') are in `ledger.rewards` already: a hook tells its grants by
  reward type with no query.
- `applied_hook(event, customer, payload, hold, now)`: the event was applied by emit (RESOLVED,
  or PENDING when held), its grants credited (a referral is linked here, and rewarded when the
  event resolved).
- `resolved_hook(event, now)`: a held event was fulfilled (RESOLVED later).
- `undoing_hook(event, now)`: an applied event is about to be undone (a RESOLVED one reversed,
  a held one cancelled or expired: `event.status` says which), its row locked, before its
  wallet's ledger block and the campaign rows it gives back: lock what must come before them
  (the referrals app: the referrers' REFERRAL events, the event's wallet, the referrers'
  wallets, the codes' rows), so that every path takes its locks in one order.
- `undone_hook(event, status, now)`: an applied event was undone: REVERSED, or a held one
  CANCELLED or EXPIRED (give back what the hooks above took: a code's use, a gift card, a
  referral's grants).
- `recorded_by_app(event_type, how)`: a type only an app records (COUPON_REDEMPTION: POST
  /coupons/redeem); `POST /behavior/events` refuses it (events.api, 400).
"""

from __future__ import annotations

from collections.abc import Callable

CAMPAIGN_SOURCES: list[Callable] = []
GRANT_HOOKS: list[Callable] = []
APPLIED_HOOKS: list[Callable] = []
RESOLVED_HOOKS: list[Callable] = []
UNDOING_HOOKS: list[Callable] = []
UNDONE_HOOKS: list[Callable] = []
RESULT_PARTS: set[str] = set()  # the `result` keys hooks add (kept when the result is rebuilt)
# event types only an app records (through event_emit), never emitted by the API: type -> how
# they are recorded (COUPON_REDEMPTION: POST /coupons/redeem); events.api refuses them (400)
RECORDED_BY_APPS: dict[str, str] = {}


def campaign_source(hook: Callable) -> Callable:
    CAMPAIGN_SOURCES.append(hook)
    return hook


def grants_hook(hook: Callable, *, result_parts: tuple[str, ...] = ()) -> Callable:
    GRANT_HOOKS.append(hook)
    RESULT_PARTS.update(result_parts)
    return hook


def applied_hook(hook: Callable) -> Callable:
    APPLIED_HOOKS.append(hook)
    return hook


def resolved_hook(hook: Callable) -> Callable:
    RESOLVED_HOOKS.append(hook)
    return hook


def undoing_hook(hook: Callable) -> Callable:
    UNDOING_HOOKS.append(hook)
    return hook


def undone_hook(hook: Callable) -> Callable:
    UNDONE_HOOKS.append(hook)
    return hook


def recorded_by_app(event_type: str, how: str) -> None:
    RECORDED_BY_APPS[event_type] = how


# ---- called by the event services ------------------------------------------------------------


def campaigns_for(event, payload: dict, version):
    """The campaigns a hook chose for this event, or None (the running ones of its trigger)."""
    for hook in CAMPAIGN_SOURCES:
        chosen = hook(event, payload, version)
        if chosen is not None:
            return chosen
    return None


def grants_adjusted(event, grants: list, ledger, hold: bool) -> tuple[list, dict]:
    parts: dict = {}
    for hook in GRANT_HOOKS:
        grants, more = hook(event, grants, ledger, hold)
        parts.update(more or {})
    return grants, parts


def event_applied(event, customer, payload: dict, hold: bool, now) -> None:
    for hook in APPLIED_HOOKS:
        hook(event, customer, payload, hold, now)


def event_resolved(event, now) -> None:
    for hook in RESOLVED_HOOKS:
        hook(event, now)


def event_undoing(event, now) -> None:
    for hook in UNDOING_HOOKS:
        hook(event, now)


def event_undone(event, status: str, now) -> None:
    for hook in UNDONE_HOOKS:
        hook(event, status, now)


def kept_parts(result: dict) -> dict:
    """The parts hooks added to a stored result, to carry into its next version."""
    return {key: result[key] for key in RESULT_PARTS if key in (result or {})}
