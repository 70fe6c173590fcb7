"""The bounds of what one event may grant and of what a wallet may hold (issue 15, item 5).

Each grant is capped at MAX_AMOUNT (10^12) by the engine, but an event may make many grants (a
campaign has up to 100 rules of 10 effects, and several campaigns may fire), and a wallet adds
up every event's. The amount columns hold less than 10^16, so both sums are bounded
(core.amounts): MAX_EVENT_GRANT of one reward per event, MAX_WALLET_AMOUNT of one reward per
wallet. An event past either is refused (LimitExceeded, 422 `event_grant_limit` or
`wallet_limit`, naming the limit and the reward) before anything is written; the emit then
stores nothing (events.services.emit), and a queued event ends FAILED with the limit as its
reason.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from campaigns.engine import Grant, expiration_date
from core.amounts import MAX_EVENT_GRANT, MAX_WALLET_AMOUNT
from core.exceptions import LimitExceeded
from wallets.ledger import Ledger


def grant_limits_check(*, ledger: Ledger, grants: list[Grant], issued_at: datetime) -> None:
    """Raise LimitExceeded if the event grants more than MAX_EVENT_GRANT of one reward (all its
    grants of that reward together), or if its grants would leave the wallet holding more than
    MAX_WALLET_AMOUNT of one: balance plus pending as the ledger's totals stand, after this
    event's redemptions; a grant born expired (its date passed already) is held by no one and
    does not count there. Reads nothing but the totals (the caller holds the wallet lock)."""
    granted: dict[str, Decimal] = defaultdict(Decimal)
    kept: dict[str, Decimal] = defaultdict(Decimal)
    for grant in grants:
        granted[str(grant.reward_id)] += grant.amount
        ends = expiration_date(grant.expiration, issued_at)
        if ends is None or ends > ledger.now:
            kept[str(grant.reward_id)] += grant.amount
    for reward_id, amount in granted.items():
        if amount > MAX_EVENT_GRANT:
            raise LimitExceeded(
                f"one event may grant at most {MAX_EVENT_GRANT} of a reward (the event grant limit); "
                f"this one grants {_text(amount)} of reward {reward_id}",
                code="event_grant_limit",
                limit=MAX_EVENT_GRANT,
                reward_id=reward_id,
            )
    for reward_id, amount in kept.items():
        total = ledger.total(reward_id)
        held = total.balance + total.pending
        if held + amount > MAX_WALLET_AMOUNT:
            raise LimitExceeded(
                f"a wallet may hold at most {MAX_WALLET_AMOUNT} of a reward (the wallet limit); it holds "
                f"{_text(held)} of reward {reward_id} and this event grants {_text(amount)}",
                code="wallet_limit",
                limit=MAX_WALLET_AMOUNT,
                reward_id=reward_id,
            )


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")
