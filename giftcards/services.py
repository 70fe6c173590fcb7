"""Every write of the gift-card pools but the grant itself (giftcards.granting): loading codes
into a GIFT_CARD reward's pool, and a customer redeeming one of its cards.

Invariants: a code exists once in the programme (the unique constraint decides, never a
check-then-insert: a code loaded twice at once is added by one load and reported as a duplicate
by the other); a card is redeemed once (checked under its row lock); an expired card is never
redeemed (the database's clock decides).

Lock order: a redemption locks its code row only (no wallet: redeeming a card is the shop's
act, recorded on the card; the wallet line that the grant credited stays, like the record of a
product handed over). A reversal of the granting event (event, wallet, then its codes) and a
redemption of one of its codes are serialised by the code's row lock: the card ends VOID or
REDEEMED, never both.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from campaigns.models import Reward
from campaigns.services.common import get_or_404
from core.clock import db_now
from core.exceptions import BusinessRuleError, Conflict, InvalidInput, NotFound
from giftcards.models import MAX_CODE, MAX_DESCRIPTION, GiftCardCode
from wallets.models import Customer

Status = GiftCardCode.Status
MAX_CODES_PER_LOAD = 10_000
CHUNK = 900  # codes per `IN (...)` (SQLite allows 999 parameters a statement)


def code_problem(code) -> str | None:
    """Why a code cannot be stored, or None: 1 to MAX_CODE printable characters, no spaces, no `/`."""
    if not isinstance(code, str) or not code:
        return "must be a non-empty string"
    if len(code) > MAX_CODE:
        return f"at most {MAX_CODE} characters"
    if not code.isprintable() or any(ch.isspace() for ch in code) or "/" in code or not _storable(code):
        return "printable characters only, no spaces and no `/` (a code is a URL path segment)"
    return None


def gift_cards_load(
    *, reward_id, codes: list[dict], description: str = "", expired_at: datetime | None = None, brands=None
) -> dict:
    """Add codes to a GIFT_CARD reward's pool, in one transaction. `codes` are
    `{"code", "description"?, "expired_at"?}` (what a code leaves out takes the call's
    `description` / `expired_at`); a code already in the programme, or twice in the list, is
    not added and is answered in `duplicates`. `brands`: the brands the caller may use (None:
    all): another brand's reward is unknown. Returns {reward_id, added, duplicates, left}.
    Raises NotFound (`reward_not_found`), BusinessRuleError `not_a_gift_card_reward`,
    InvalidInput (a bad code, too many, an expiry in the past)."""
    rewards = (
        Reward.objects.all()
        if brands is None
        else Reward.objects.filter(Q(brand_id__in=brands) | Q(brand__isnull=True))
    )
    reward = get_or_404(rewards, reward_id, "reward")
    if reward.type != Reward.Type.GIFT_CARD:
        raise BusinessRuleError(
            f"reward {reward.pk} is a {reward.type} reward; only GIFT_CARD rewards hold codes",
            code="not_a_gift_card_reward",
        )
    rows, duplicates = _rows(reward, codes, description, expired_at)
    with transaction.atomic():
        taken = set()
        for chunk in _chunks([r.code for r in rows]):
            taken |= set(GiftCardCode.objects.filter(code__in=chunk).values_list("code", flat=True))
        new = [r for r in rows if r.code not in taken]
        GiftCardCode.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)  # a racing load's code: skipped
        added = set()
        for chunk in _chunks([r.code for r in new]):
            added |= set(
                GiftCardCode.objects.filter(code__in=chunk, batch=rows[0].batch).values_list("code", flat=True)
            )
        duplicates += [r.code for r in rows if r.code not in added]
        left = pool_left(reward_id=reward.pk)
    return {"reward_id": str(reward.pk), "added": len(added), "duplicates": duplicates, "left": left}


def _rows(reward, codes, description, expired_at) -> tuple[list[GiftCardCode], list[str]]:
    if not codes:
        raise InvalidInput({"codes": "at least one code"})
    if len(codes) > MAX_CODES_PER_LOAD:
        raise InvalidInput({"codes": f"at most {MAX_CODES_PER_LOAD} codes a call"})
    now = db_now()
    batch = uuid.uuid4()
    rows, seen, duplicates, errors = [], set(), [], {}
    for index, item in enumerate(codes):
        code = item.get("code")
        text = item.get("description", description) or ""
        expiry = item.get("expired_at", expired_at)
        problem = code_problem(code)
        if problem is None and (not isinstance(text, str) or len(text) > MAX_DESCRIPTION or not _storable(text)):
            problem = f"description: text of at most {MAX_DESCRIPTION} characters, without NUL"
        if problem is None and expiry is not None and expiry <= now:
            problem = "expired_at: must be in the future"
        if problem:
            errors[f"codes[{index}]"] = problem
            continue
        if code in seen:
            duplicates.append(code)
            continue
        seen.add(code)
        rows.append(GiftCardCode(reward=reward, code=code, description=text, expired_at=expiry, batch=batch))
    if errors:
        raise InvalidInput(dict(list(errors.items())[:20]))  # the first ones are enough to fix a file
    return rows, duplicates


def _storable(text: str) -> bool:
    """PostgreSQL text holds no NUL and no lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _chunks(values: list):
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def pool_left(*, reward_id) -> int:
    """Codes of the reward's pool still to hand out (AVAILABLE and unexpired)."""
    return (
        GiftCardCode.objects.filter(reward_id=reward_id, status=Status.AVAILABLE)
        .filter(Q(expired_at__isnull=True) | Q(expired_at__gt=db_now()))
        .count()
    )


def gift_card_redeem(*, customer_id: str, code: str, brands=None) -> GiftCardCode:
    """Mark one of the customer's cards used, once. Locks the code row. `brands`: the brands
    the caller may use (None: all); a card of another brand, or another customer's, is unknown.
    Raises NotFound (`customer_not_found`, `gift_card_not_found`), Conflict
    `gift_card_already_redeemed` / `gift_card_not_redeemable` (held, or void), BusinessRuleError
    `gift_card_expired`."""
    with transaction.atomic():
        cards = GiftCardCode.objects.select_for_update().filter(customer_id=customer_id, code=code)
        if brands is not None:
            cards = cards.filter(brand_id__in=brands)
        card = cards.first()
        if card is None:
            if not Customer.objects.filter(pk=customer_id).exists():
                raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
            raise NotFound(f"gift card {code!r} not found for customer {customer_id!r}", code="gift_card_not_found")
        if card.status == Status.REDEEMED:
            raise Conflict(
                f"gift card {code!r} was redeemed at {card.redeemed_at.isoformat()}",
                code="gift_card_already_redeemed",
                redeemed_at=card.redeemed_at.isoformat(),
            )
        if card.status != Status.GRANTED:
            why = "its event is held (not fulfilled yet)" if card.status == Status.HELD else "its event was reversed"
            raise Conflict(
                f"gift card {code!r} cannot be redeemed: {why}", code="gift_card_not_redeemable", status=card.status
            )
        now = db_now()
        if card.expired_at is not None and card.expired_at <= now:
            raise BusinessRuleError(
                f"gift card {code!r} expired at {card.expired_at.isoformat()}",
                code="gift_card_expired",
                expired_at=card.expired_at.isoformat(),
            )
        card.status, card.redeemed_at = Status.REDEEMED, now
        card.save(update_fields=["status", "redeemed_at"])
    return card
