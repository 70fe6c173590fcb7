"""Where a reward may be redeemed, and on what conditions (pure; no database).

Places: `redeem` (top level), `order` (order.redeem), `product` (order.products[i].redeem) and
`shipping` (order.shipping.redeem).

- Top-level `redeem` debits without checking anything: operators use it for corrections.
- POINTS may be redeemed at every place.
- DISCOUNT only where its `conditions.applies_to` says (any of "order", "product", "shipping").
- PRODUCT only at order level.
- GIFT_CARD never inside an order.

A reward's `conditions` (checked inside an order only):
    applies_to       list of places (required for DISCOUNT; a restriction for the others)
    min_order_value  the order's value must be at least this
    skus             product-level redemption only on these SKUs
    max_amount       at most this much of the reward per redemption
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.amounts import parse_decimal

PLACES = ("order", "product", "shipping")
CONDITION_KEYS = {"applies_to", "min_order_value", "skus", "max_amount"}
ALLOWED_PLACES = {"POINTS": set(PLACES), "DISCOUNT": set(PLACES), "PRODUCT": {"order"}, "GIFT_CARD": set()}


def _non_negative(value: Any) -> Decimal | None:
    """A number >= 0, or None."""
    number = parse_decimal(value)
    return number if number is not None and number >= 0 else None


def conditions_problems(reward_type: str, conditions: Any) -> dict[str, str]:
    """Problems with a reward's `conditions` as {"conditions.x": "..."}; {} if none."""
    if not isinstance(conditions, dict):
        return {"conditions": "must be an object"}
    errors = {}
    for key in sorted(set(conditions) - CONDITION_KEYS):
        errors[f"conditions.{key}"] = f"unknown condition; one of {', '.join(sorted(CONDITION_KEYS))}"
    applies_to = conditions.get("applies_to")
    if applies_to is not None and (
        not isinstance(applies_to, list) or not applies_to or any(p not in PLACES for p in applies_to)
    ):
        errors["conditions.applies_to"] = f"must be a non-empty list of {', '.join(PLACES)}"
    elif reward_type == "DISCOUNT" and applies_to is None:
        errors["conditions.applies_to"] = "a DISCOUNT reward must say where it applies (order, product, shipping)"
    elif applies_to is not None and not set(applies_to) <= ALLOWED_PLACES.get(reward_type, set()):
        errors["conditions.applies_to"] = f"a {reward_type} reward cannot be redeemed at {', '.join(applies_to)}"
    for key in ("min_order_value", "max_amount"):
        if key in conditions and _non_negative(conditions[key]) is None:
            errors[f"conditions.{key}"] = "must be a number >= 0"
    skus = conditions.get("skus")
    if skus is not None and (not isinstance(skus, list) or not all(isinstance(s, str) for s in skus)):
        errors["conditions.skus"] = "must be a list of SKUs"
    return errors


def place_of(path: str) -> str:
    """'order.products[2].redeem[0]' -> 'product'; 'order.shipping.redeem[0]' -> 'shipping'."""
    if path.startswith("order.products"):
        return "product"
    if path.startswith("order.shipping"):
        return "shipping"
    if path.startswith("order."):
        return "order"
    return "redeem"


def redemption_problem(
    *, reward_type: str, conditions: dict, path: str, amount: Decimal, order: dict, product: dict | None
) -> str | None:
    """Why this redemption may not happen at `path`, or None if it may."""
    place = place_of(path)
    if place == "redeem":
        return None
    if place not in ALLOWED_PLACES.get(reward_type, set()):
        return f"a {reward_type} reward cannot be redeemed at {place} level"
    conditions = conditions or {}
    applies_to = conditions.get("applies_to")
    if applies_to is not None and place not in applies_to:
        return f"this reward applies to {', '.join(applies_to)} only"
    if applies_to is None and reward_type == "DISCOUNT":
        return "this DISCOUNT reward is not configured for any place"
    minimum = _non_negative(conditions.get("min_order_value"))
    value = _non_negative(order.get("value"))
    if minimum is not None and (value is None or value < minimum):
        return f"the order's value must be at least {minimum}"
    maximum = _non_negative(conditions.get("max_amount"))
    if maximum is not None and amount > maximum:
        return f"at most {maximum} may be redeemed at once"
    skus = conditions.get("skus")
    if place == "product" and skus is not None and (product or {}).get("sku") not in skus:
        return f"product {(product or {}).get('sku')!r} is not one this reward applies to"
    return None
