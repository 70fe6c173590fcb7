"""Campaigns compiled once (`compile_campaign`) and evaluated against one event's facts into
grants (`evaluate`); `expiration_date` turns an effect's "12/months" into a date.

Effects: FIXED (amount per event), PER_VALUE (amount per `per` units of `basis`), PER_PRODUCT
(amount per quantity of the products matching the product conditions of the group that matched).
Amounts are capped at MAX_AMOUNT, then rounded down to the reward's decimals; zero grants are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from campaigns.engine.conditions import compile_condition, compile_product_filter
from campaigns.engine.facts import EventFacts
from core.amounts import MAX_AMOUNT, parse_decimal, quantum

EXPIRATION_RE = re.compile(r"^([1-9][0-9]{0,4})/(days|months|years)$")
# The longest expiration, in each unit (about 100 years): a date past year 9999 cannot be
# stored or computed (Python's datetime ends there), so "9999/years" would fail every event of
# its campaign. Campaigns are refused over it when saved (campaigns.engine.validation).
MAX_EXPIRATION = {"days": 36500, "months": 1200, "years": 100}
BASES = ("order.value", "order.discounted_value")


def expiration_parts(expiration) -> tuple[int, str] | None:
    """(count, unit) of a valid expiration ("12/months" -> (12, "months")), or None when it is
    not of the form or longer than MAX_EXPIRATION."""
    match = EXPIRATION_RE.match(expiration) if isinstance(expiration, str) else None
    if match is None or int(match.group(1)) > MAX_EXPIRATION[match.group(2)]:
        return None
    return int(match.group(1)), match.group(2)


def expiration_date(expiration: str | None, start: datetime) -> datetime | None:
    if not expiration:
        return None
    count, unit = expiration_parts(expiration)
    return start + relativedelta(**{unit: count})


@dataclass(frozen=True)
class Grant:
    campaign_id: Any
    rule_id: str
    reward_id: str
    amount: Decimal
    expiration: str | None
    budgeted: bool = False  # counted against the campaign's budget


@dataclass(frozen=True)
class CompiledEffect:
    reward_id: str
    kind: str
    amount: Decimal
    per: Decimal
    basis: str
    tier_id: str | None
    expiration: str | None


@dataclass(frozen=True)
class CompiledRule:
    id: str
    groups: tuple  # ((predicate, ...), ...)
    product_filters: tuple  # per group: (product predicate, ...)
    effects: tuple


@dataclass(frozen=True)
class CompiledCampaign:
    id: Any
    brand_id: str | None
    rules: tuple = field(default_factory=tuple)
    budget: Decimal | None = None
    limit: dict | None = None  # {"count": n, "period": "lifetime|day|week|month"}
    start_date: datetime | None = None
    end_date: datetime | None = None
    # the row's `updated_at` when it was compiled: an event that fires the campaign compares it
    # with the row it locks, and evaluates again if the campaign was edited meanwhile
    revision: datetime | None = None

    def runs_at(self, moment: datetime) -> bool:
        return (self.start_date is None or self.start_date <= moment) and (
            self.end_date is None or moment < self.end_date
        )


def compile_campaign(
    *, id, brand_id, rules: list, budget=None, limit=None, start_date=None, end_date=None, updated_at=None
) -> CompiledCampaign:
    compiled = []
    for rule in rules:
        groups = tuple(tuple(compile_condition(c) for c in group) for group in rule.get("conditions") or [])
        filters = tuple(
            tuple(f for f in (compile_product_filter(c) for c in group) if f is not None)
            for group in rule.get("conditions") or []
        )
        effects = tuple(
            CompiledEffect(
                reward_id=str(e["reward_id"]),
                kind=e["kind"],
                amount=parse_decimal(e["amount"]),
                per=parse_decimal(e.get("per")) or Decimal(1),
                basis=e.get("basis") or "order.value",
                tier_id=str(e["tier_id"]) if e.get("tier_id") else None,
                expiration=e.get("expiration"),
            )
            for e in rule.get("effects") or []
        )
        compiled.append(CompiledRule(str(rule["id"]), groups, filters, effects))
    return CompiledCampaign(
        id=id,
        brand_id=brand_id,
        rules=tuple(compiled),
        budget=budget,
        limit=limit or None,
        start_date=start_date,
        end_date=end_date,
        revision=updated_at,
    )


def _raw_amount(effect: CompiledEffect, facts: EventFacts, product_filters: tuple) -> Decimal:
    if effect.kind == "FIXED":
        return effect.amount
    if effect.kind == "PER_VALUE":
        basis = parse_decimal(facts.order.get(effect.basis.split(".", 1)[1]))
        if basis is None and effect.basis == "order.discounted_value":
            basis = parse_decimal(facts.order.get("value"))  # no discount sent: the order's value
        if basis is None or basis <= 0:
            return Decimal(0)
        return (basis / effect.per).to_integral_value(rounding=ROUND_DOWN) * effect.amount
    # PER_PRODUCT
    quantities = facts.quantities()
    if not product_filters:
        return sum(quantities, Decimal(0)) * effect.amount
    matching = product_filters[0](facts)
    for check in product_filters[1:]:
        matching = matching & check(facts)
    return sum((quantities[i] for i in matching), Decimal(0)) * effect.amount


def evaluate(campaigns: list[CompiledCampaign], facts: EventFacts, decimals: dict[str, int]) -> list[Grant]:
    """Every grant the campaigns make for this event, rounded down to each reward's decimals
    (`decimals`: reward id -> decimals); zero grants and effects for another tier are dropped."""
    grants: list[Grant] = []
    tier_id = facts.customer.get("tier_id")
    for campaign in campaigns:
        for rule in campaign.rules:
            if rule.groups:
                matched = next((i for i, group in enumerate(rule.groups) if all(check(facts) for check in group)), None)
                if matched is None:
                    continue
                product_filters = rule.product_filters[matched]
            else:
                product_filters = ()
            for effect in rule.effects:
                if effect.reward_id not in decimals or (effect.tier_id and effect.tier_id != tier_id):
                    continue
                raw = min(_raw_amount(effect, facts, product_filters), MAX_AMOUNT)  # cap before rounding
                amount = raw.quantize(quantum(decimals[effect.reward_id]), rounding=ROUND_DOWN)
                if amount > 0:
                    grants.append(Grant(campaign.id, rule.id, effect.reward_id, amount, effect.expiration))
    return grants
