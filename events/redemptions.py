"""The redemptions an emit body asks for, and whether each may happen where it was asked
(campaigns.redemption decides the rules). Used by emit (inside its transaction, so that a
refusal stores the event FAILED) and by the redeem preview (which writes nothing)."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal

from campaigns import cache as programme_cache
from campaigns.models import Reward
from campaigns.redemption import redemption_problem
from core.amounts import quantum
from core.exceptions import BusinessRuleError, InvalidInput
from wallets.services import Redemption

PRODUCT_PLACE = re.compile(r"^order\.products\[(\d+)\]")

# The redemptions one event may carry, all levels together (event `redeem`, `order.redeem`, each
# product's and the shipping's `redeem`). Each one is at least one ledger row written under the
# wallet's lock, and each list's own limit (100, events.api) let 500 products x 100 through: a
# wallet lock held for as long as gunicorn let the worker live (issue 15 item 7). A hundred
# covers a redemption on each line of a basket of 90 lines plus a few at order level (larger
# baskets redeem at order level, or are split), and the worst case it allows
# (bench/redeem_bench.py) answers well within a second. A constant, not a setting, like the
# API's other shape bounds (MAX_PRODUCTS, each list's 100): integrators code against it, so it is
# part of the API (README, "Redemptions per event").
MAX_REDEMPTIONS_PER_EVENT = 100


def _places(payload: dict) -> list[tuple[str, object]]:
    """(place, item) for every redemption the payload asks for, in the order they are applied.
    Reads a raw request body as well as a validated one: a level that is not a list (the
    serializers refuse it later) counts nothing."""

    def items(container, key):
        value = container.get(key) if isinstance(container, dict) else None
        return value if isinstance(value, list) else []

    order = payload.get("order") if isinstance(payload, dict) else None
    asked = [(f"redeem[{i}]", item) for i, item in enumerate(items(payload, "redeem"))]
    asked += [(f"order.redeem[{i}]", item) for i, item in enumerate(items(order, "redeem"))]
    for p, product in enumerate(items(order, "products")):
        asked += [(f"order.products[{p}].redeem[{i}]", item) for i, item in enumerate(items(product, "redeem"))]
    shipping = order.get("shipping") if isinstance(order, dict) else None
    asked += [(f"order.shipping.redeem[{i}]", item) for i, item in enumerate(items(shipping, "redeem"))]
    return asked


def redemptions_bound_problem(payload) -> str | None:
    """Why the payload (a raw request body or a validated one) asks for too many redemptions,
    or None. Counted on the raw body by the API before any item is validated, so that an
    oversized body costs little; and again by redemptions_asked for every other caller."""
    return _bound_problem(len(_places(payload)))


def _bound_problem(count: int) -> str | None:
    if count <= MAX_REDEMPTIONS_PER_EVENT:
        return None
    return (
        f"at most {MAX_REDEMPTIONS_PER_EVENT} redemptions per event, all levels together (redeem, order.redeem, "
        f"order.products[].redeem, order.shipping.redeem); this one asks for {count}"
    )


def redemptions_asked(payload: dict, *, version: int | None = None) -> list[Redemption]:
    """Every redemption the event asks for, with where it was asked (`redeem[0]`,
    `order.products[1].redeem[0]`, ...). More than MAX_REDEMPTIONS_PER_EVENT in all, unknown
    rewards, another brand's rewards (a brand's rewards are spent only at that brand; global ones
    anywhere), and amounts finer than the reward's decimals (half a star), are a 400 (nothing is
    stored). With the programme `version`, the rewards come from the programme cache."""
    asked = _places(payload)
    problem = _bound_problem(len(asked))
    if problem:
        raise InvalidInput({"redeem": problem})
    if not asked:
        return []
    ids = [str(item["id"]) for _, item in asked]
    if version is None:
        rewards = {str(pk): r for pk, r in Reward.objects.in_bulk(ids).items()}
    else:
        rewards = programme_cache.rewards(ids, version=version)
    out = []
    for place, item in asked:
        reward = rewards.get(str(item["id"]))
        if reward is None:
            raise InvalidInput({f"{place}.id": f"unknown reward {str(item['id'])!r}"})
        if reward.brand_id is not None and reward.brand_id != payload["brand_id"]:
            raise InvalidInput({f"{place}.id": "the reward belongs to another brand"})
        amount = Decimal(str(item["amount"]))
        if amount != amount.quantize(quantum(reward.decimals), rounding=ROUND_DOWN):
            raise InvalidInput({f"{place}.amount": f"at most {reward.decimals} decimal places for this reward"})
        out.append(
            Redemption(
                reward_id=str(reward.pk),
                amount=amount,
                place=place,
                reward_type=reward.type,
                conditions=reward.conditions or {},
            )
        )
    return out


def placement_problem(item: Redemption, order: dict) -> str | None:
    """Why this redemption may not happen where it was asked, or None."""
    match = PRODUCT_PLACE.match(item.place)
    product = (order.get("products") or [])[int(match.group(1))] if match else None
    return redemption_problem(
        reward_type=item.reward_type,
        conditions=item.conditions,
        path=item.place,
        amount=item.amount,
        order=order,
        product=product,
    )


def placements_check(redemptions: list[Redemption], payload: dict) -> None:
    """Raises BusinessRuleError `reward_not_redeemable_here` (422, naming the place and the
    reward) for the first redemption that may not happen where it was asked."""
    order = payload.get("order") or {}
    for item in redemptions:
        problem = placement_problem(item, order)
        if problem:
            raise BusinessRuleError(
                f"{item.place}: reward {item.reward_id} ({item.reward_type}): {problem}",
                code="reward_not_redeemable_here",
                place=item.place,
                reward_id=item.reward_id,
            )
