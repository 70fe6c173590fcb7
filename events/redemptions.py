"""The redemptions an emit body asks for, and whether each may happen where it was asked
(campaigns.redemption decides the rules). Used by emit (inside its transaction, so that a
refusal stores the event FAILED) and by the redeem preview (which writes nothing)."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal

from campaigns.models import Reward
from campaigns.redemption import redemption_problem
from core.amounts import quantum
from core.exceptions import BusinessRuleError, InvalidInput
from wallets.services import Redemption

PRODUCT_PLACE = re.compile(r"^order\.products\[(\d+)\]")


def redemptions_asked(payload: dict) -> list[Redemption]:
    """Every redemption the event asks for, with where it was asked (`redeem[0]`,
    `order.products[1].redeem[0]`, ...). Unknown rewards, another brand's rewards (a brand's
    rewards are spent only at that brand; global ones anywhere), and amounts finer than the
    reward's decimals (half a star), are a 400 (nothing is stored)."""
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
