"""Manual adjustments (issue 10): an operator credits or debits a reward by hand, for goodwill
points and corrections, from the admin's adjustment page or `manage.py adjust_balance`.

    (new) --adjust--> RESOLVED --reverse (events.services.event_reverse)--> REVERSED

An adjustment is an event of the built-in, tracking-only type ADJUSTMENT (events migration
0011), RESOLVED at once, and moves money only through the paths every event takes, so that its
reversal by the normal `event_reverse` nets to zero, debt rules included:

- a credit (amount > 0) is one AVAILABLE line granted by `wallet_accumulate` (it pays the
  reward's debt first, and the wallet limit applies: LimitExceeded `wallet_limit`), of no
  campaign and no rule. Rewards carry no expiry rules of their own (campaign effects set them),
  so the line never expires unless `expiration_date` (aware, in the future) is given;
- a debit (amount < 0) is a redemption by `wallet_redeem`: the lines are consumed in the one
  consumption order (earliest expiry first, then oldest), and a debit past the spendable total
  (less any debt) is refused, 422 `insufficient_balance`, with nothing stored (no FAILED event:
  a refused correction leaves no trace but the operator's error message).

Refusals before anything moves: InvalidInput (`validation_error`) for a blank reason, a zero or
non-finite amount, |amount| > MAX_AMOUNT, more decimals than the reward's `decimals`, a naive or
past `expiration_date` on a credit, or an expiration on a debit, a reward restricted to another
brand; NotFound for the customer, the reward or the brand.

What it is not: no campaign is evaluated for it (whatever the type's flags), it counts in no
metric (events.metrics.NOT_COUNTED) and moves no tier. Its transition row carries the source,
the actor and the reason; the reason is also the event's `reason` and in its payload. The audit
trail gets one entry (action `customer.adjust`, object the customer, `after` holding the event
id, reward and amount and the reward's balance before and after) in the same transaction: both
commit, or neither.

Lock order: there is no event row to lock yet: the wallet (`wallet_ledger`) first, then the
event is inserted. Two debits racing for the same points queue on the wallet lock; the second
sees the first's result.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from campaigns import cache as programme_cache
from campaigns.engine import Grant
from campaigns.models import Brand, EventType, Reward
from campaigns.services.common import get_or_404
from core.amounts import MAX_AMOUNT, parse_decimal, quantum
from core.exceptions import InvalidInput
from core.json import jsonable
from events.metrics import MANUAL_RECORDS
from events.models import Event
from events.services.outcome import event_result
from events.status import Source as TransitionSource
from events.status import event_transition
from wallets.ledger import wallet_ledger
from wallets.services import Redemption, wallet_accumulate, wallet_redeem

ADJUSTMENT = MANUAL_RECORDS[0]
ACTION = "customer.adjust"
REASON_MAX = 2000


def event_adjust(
    *,
    customer_id: str,
    reward_id,
    amount: Decimal,
    reason: str,
    actor=None,
    actor_name: str = "",
    source: str,
    brand_id: str | None = None,
    expiration_date: datetime | None = None,
) -> Event:
    """Credit (amount > 0) or debit (amount < 0) one reward of a customer by hand, as a RESOLVED
    ADJUSTMENT event with its ledger rows and an audit entry, in one transaction (module
    docstring). `source` is an audit source (admin, command); `actor` a user, or None with
    `actor_name` (a command). Locks the wallet. Raises InvalidInput, NotFound,
    InsufficientBalance (422, nothing stored), LimitExceeded."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "a non-empty reason is required"})
    if len(reason) > REASON_MAX:
        raise InvalidInput({"reason": f"at most {REASON_MAX} characters"})
    reward = get_or_404(Reward, reward_id, "reward")
    amount = _amount(amount, reward)
    brand_id = _brand(brand_id, reward)
    if expiration_date is not None:
        if amount < 0:
            raise InvalidInput({"expiration_date": "only a credit has an expiration date"})
        if timezone.is_naive(expiration_date):
            raise InvalidInput({"expiration_date": "must carry a time zone"})
    event_type = EventType.objects.filter(pk=ADJUSTMENT).first()
    if event_type is None:  # created by the events migrations
        raise RuntimeError(f"no {ADJUSTMENT} event type: run the migrations")
    with transaction.atomic():
        now = timezone.now()
        if expiration_date is not None and expiration_date <= now:
            raise InvalidInput({"expiration_date": "must be in the future"})
        event = Event(
            id=uuid.uuid4(),
            customer_id=customer_id,
            brand_id=brand_id,
            type=event_type,
            fulfilled=True,
            issued_at=now,
            data=jsonable(
                {
                    "customer_id": customer_id,
                    "brand_id": brand_id,
                    "type": ADJUSTMENT,
                    "reward_id": str(reward.pk),
                    "amount": amount,
                    "reason": reason,
                    **({"expiration_date": expiration_date} if expiration_date else {}),
                },
                exact=True,
            ),
        )
        with wallet_ledger(customer_id=customer_id, event_id=event.id, now=now, reward_ids=[reward.pk]) as ledger:
            before = _balance(ledger, reward.pk)
            lines, taken = [], []
            if amount > 0:
                grant = Grant(campaign_id=None, rule_id="", reward_id=str(reward.pk), amount=amount, expiration=None)
                lines = wallet_accumulate(ledger=ledger, grants=[grant], hold=False, issued_at=now, brand_id=brand_id)
                # the explicit date, set before the ledger writes the line (a future date: the
                # line was posted exactly as a never-expiring one would be)
                lines[0].expiration_date = expiration_date
            else:
                taken = wallet_redeem(
                    ledger=ledger,
                    redemptions=[Redemption(reward_id=str(reward.pk), amount=-amount, reward_type=reward.type)],
                    hold=False,
                )
            after = _balance(ledger, reward.pk)
        event.programme_version = programme_cache.current_version()  # what the change announces
        event_transition(
            event,
            Event.Status.RESOLVED,
            at=now,
            source=TransitionSource(source),
            actor=actor,
            reason=reason,
            insert=True,
            changes={
                "reason": reason,
                "result": event_result(event, ledger.wallet.pk, accumulations=lines, redemptions=taken, now=now),
            },
        )
        audit_record(
            actor=actor,
            actor_name=actor_name,
            source=source,
            action=ACTION,
            object_type="wallets.customer",
            object_id=customer_id,
            object_repr=customer_id,
            reason=reason,
            before={"reward_id": str(reward.pk), **before},
            after=jsonable(
                {"event_id": str(event.pk), "reward_id": str(reward.pk), "amount": amount, **after}, exact=True
            ),
        )
    return event


def _amount(value, reward: Reward) -> Decimal:
    amount = parse_decimal(value)
    if amount is None:
        raise InvalidInput({"amount": "a finite decimal number is required"})
    if amount == 0:
        raise InvalidInput({"amount": "must not be zero: positive credits, negative debits"})
    if abs(amount) > MAX_AMOUNT:
        raise InvalidInput({"amount": f"at most {MAX_AMOUNT} either way"})
    step = quantum(reward.decimals)
    if amount != amount.quantize(step):
        raise InvalidInput({"amount": f"{reward.name} has {reward.decimals} decimal place(s); got {amount}"})
    return amount.quantize(step)


def _brand(brand_id: str | None, reward: Reward) -> str:
    """The brand the adjustment is recorded at: the one named, else the reward's, else the
    programme's default brand (events.lifecycle.lifecycle_brand)."""
    if brand_id:
        get_or_404(Brand, brand_id, "brand")
        if reward.brand_id and reward.brand_id != brand_id:
            raise InvalidInput({"brand_id": f"{reward.name} belongs to brand {reward.brand_id}, not {brand_id}"})
        return brand_id
    if reward.brand_id:
        return reward.brand_id
    from events.lifecycle import lifecycle_brand  # it imports events.services

    found = lifecycle_brand()
    if found is None:
        raise InvalidInput({"brand_id": "the programme has no brand to record the adjustment at"})
    return found


def _balance(ledger, reward_id) -> dict:
    total = ledger.total(reward_id)
    return {"balance": total.balance, "reserved": total.reserved, "debt": total.debt}
