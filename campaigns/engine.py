"""Pure rule evaluation: conditions -> bool, effects -> grants. No database access here.

A campaign's `rules` is a list of `{"id", "conditions", "effects"}`. `conditions` is a list of
groups; a rule matches when every condition of at least one group holds (OR of ANDs); an empty
list matches every event of the trigger. A field missing from the event makes its condition
false, never an error. Values were checked when the campaign was saved (`validate_rules`).

The evaluation context is a plain dict built by the events service:
`{"event": {...}, "order": {...}, "product": {...}, "customer": {...}}`, where `customer` holds
the customer as it stood before the event. New fields are added to FIELDS; new operators to
OPERATORS; new effect kinds to EFFECT_KINDS.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta

NUMBER = "number"
STRING = "string"
ANY = "any"

# field pattern -> value type. "*" stands for one free key (tags).
FIELDS: dict[str, str] = {
    "event.type": STRING,
    "event.platform": STRING,
    "event.tags.*": ANY,
    "order.value": NUMBER,
    "order.discounted_value": NUMBER,
    "order.payment_method": STRING,
    "order.store_id": STRING,
    "order.channel_id": STRING,
    "customer.tags.*": ANY,
}

MISSING = object()


def field_type(name: str) -> str | None:
    if name in FIELDS:
        return FIELDS[name]
    head, _, key = name.rpartition(".")
    if key and f"{head}.*" in FIELDS:
        return FIELDS[f"{head}.*"]
    return None


def resolve(context: dict, name: str) -> Any:
    value: Any = context
    for part in name.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def _num(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, (float, str)):
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def _same_kind(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Compare numbers as Decimals and everything else as it is; None if incomparable."""
    ln, rn = _num(left), _num(right)
    if ln is not None and rn is not None and not isinstance(left, str) and not isinstance(right, str):
        return ln, rn
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    if ln is not None and rn is not None:
        return ln, rn
    return None


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(actual: Any, expected: Any) -> bool:
        pair = _same_kind(actual, expected)
        return pair is not None and op(*pair)

    return run


def _eq(actual: Any, expected: Any) -> bool:
    pair = _same_kind(actual, expected)
    return pair[0] == pair[1] if pair is not None else actual == expected


def _in(actual: Any, expected: Any) -> bool:
    return any(_eq(actual, item) for item in expected)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _eq,
    "ne": lambda actual, expected: not _eq(actual, expected),
    "gt": _compare(lambda a, b: a > b),
    "gte": _compare(lambda a, b: a >= b),
    "lt": _compare(lambda a, b: a < b),
    "lte": _compare(lambda a, b: a <= b),
    "in": _in,
}
ORDERED_OPERATORS = {"gt", "gte", "lt", "lte"}
LIST_OPERATORS = {"in"}


def condition_holds(condition: dict, context: dict) -> bool:
    actual = resolve(context, condition["field"])
    if actual is MISSING or actual is None:
        return False
    return OPERATORS[condition["operator"]](actual, condition["value"])


def rule_matches(conditions: list[list[dict]], context: dict) -> bool:
    if not conditions:
        return True
    return any(all(condition_holds(c, context) for c in group) for group in conditions)


# ---- effects -------------------------------------------------------------------------------

EXPIRATION_RE = re.compile(r"^([1-9][0-9]{0,3})/(days|months|years)$")


def expiration_date(expiration: str | None, start: datetime) -> datetime | None:
    if not expiration:
        return None
    match = EXPIRATION_RE.match(expiration)
    count, unit = int(match.group(1)), match.group(2)
    return start + relativedelta(**{unit: count})


def _fixed(effect: dict, context: dict) -> Decimal:
    return Decimal(str(effect["amount"]))


def _per_value(effect: dict, context: dict) -> Decimal:
    basis = _num(resolve(context, effect.get("basis") or "order.value"))
    per = Decimal(str(effect.get("per") or 1))
    if basis is None or basis <= 0:
        return Decimal(0)
    steps = (basis / per).to_integral_value(rounding=ROUND_DOWN)
    return steps * Decimal(str(effect["amount"]))


EFFECT_KINDS: dict[str, Callable[[dict, dict], Decimal]] = {"FIXED": _fixed, "PER_VALUE": _per_value}
BASES = ("order.value", "order.discounted_value")


@dataclass(frozen=True)
class Grant:
    campaign_id: Any
    rule_id: str
    reward_id: str
    amount: Decimal
    expiration: str | None


@dataclass(frozen=True)
class CompiledCampaign:
    id: Any
    brand_id: str | None
    rules: list = field(default_factory=list)


def evaluate(campaigns: list[CompiledCampaign], context: dict, decimals: dict[str, int]) -> list[Grant]:
    """Every grant the running campaigns make for this context, rounded down to each reward's
    decimals; zero grants are dropped. `decimals` maps reward id (str) -> decimals."""
    grants: list[Grant] = []
    for campaign in campaigns:
        for rule in campaign.rules:
            if not rule_matches(rule.get("conditions") or [], context):
                continue
            for effect in rule.get("effects") or []:
                reward_id = str(effect["reward_id"])
                if reward_id not in decimals:
                    continue
                raw = EFFECT_KINDS[effect["kind"]](effect, context)
                amount = raw.quantize(Decimal(1).scaleb(-decimals[reward_id]), rounding=ROUND_DOWN)
                if amount > 0:
                    grants.append(Grant(campaign.id, rule["id"], reward_id, amount, effect.get("expiration")))
    return grants


# ---- validation at save time -----------------------------------------------------------------


def _check_value(ftype: str, operator: str, value: Any) -> str | None:
    if operator in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            return f"operator {operator} needs a non-empty list"
        for item in value:
            problem = _check_value(ftype, "eq", item)
            if problem:
                return problem
        return None
    if isinstance(value, (list, dict)) or value is None:
        return f"operator {operator} needs a single value"
    if ftype == NUMBER and (isinstance(value, bool) or _num(value) is None):
        return "value must be a number for this field"
    if ftype == STRING and not isinstance(value, str):
        return "value must be a string for this field"
    if operator in ORDERED_OPERATORS and ftype == ANY and _num(value) is None and not isinstance(value, str):
        return f"operator {operator} needs a number or a string"
    return None


def validate_rules(rules: Any, reward_ids: set[str]) -> dict[str, str]:
    """Problems with a campaign's rules as {"rules[0].conditions[1][0].field": "..."}; {} if none."""
    errors: dict[str, str] = {}
    if not isinstance(rules, list):
        return {"rules": "must be a list of rules"}
    for r_index, rule in enumerate(rules):
        where = f"rules[{r_index}]"
        if not isinstance(rule, dict):
            errors[where] = "must be an object with conditions and effects"
            continue
        unknown = set(rule) - {"id", "conditions", "effects"}
        if unknown:
            errors[where] = f"unknown keys: {', '.join(sorted(unknown))}"
        groups = rule.get("conditions", [])
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            errors[f"{where}.conditions"] = "must be a list of groups (lists) of conditions"
            groups = []
        for g_index, group in enumerate(groups):
            for c_index, cond in enumerate(group):
                cwhere = f"{where}.conditions[{g_index}][{c_index}]"
                if not isinstance(cond, dict) or set(cond) != {"field", "operator", "value"}:
                    errors[cwhere] = "must be {field, operator, value}"
                    continue
                ftype = field_type(str(cond["field"]))
                if ftype is None:
                    errors[f"{cwhere}.field"] = f"unknown field {cond['field']!r}"
                    continue
                if cond["operator"] not in OPERATORS:
                    errors[f"{cwhere}.operator"] = (
                        f"unknown operator {cond['operator']!r}; one of {', '.join(OPERATORS)}"
                    )
                    continue
                problem = _check_value(ftype, cond["operator"], cond["value"])
                if problem:
                    errors[f"{cwhere}.value"] = problem
        effects = rule.get("effects")
        if not isinstance(effects, list) or not effects:
            errors[f"{where}.effects"] = "must be a non-empty list of effects"
            continue
        for e_index, effect in enumerate(effects):
            errors.update(_validate_effect(effect, f"{where}.effects[{e_index}]", reward_ids))
    return errors


EFFECT_KEYS = {"reward_id", "kind", "amount", "basis", "per", "tier_id", "expiration"}


def _validate_effect(effect: Any, where: str, reward_ids: set[str]) -> dict[str, str]:
    if not isinstance(effect, dict):
        return {where: "must be an object"}
    errors = {}
    unknown = set(effect) - EFFECT_KEYS
    if unknown:
        errors[where] = f"unknown keys: {', '.join(sorted(unknown))}"
    if str(effect.get("reward_id")) not in reward_ids:
        errors[f"{where}.reward_id"] = f"unknown reward {effect.get('reward_id')!r}"
    if effect.get("kind") not in EFFECT_KINDS:
        errors[f"{where}.kind"] = f"unknown kind {effect.get('kind')!r}; one of {', '.join(EFFECT_KINDS)}"
    amount = _num(effect.get("amount"))
    if amount is None or amount <= 0 or amount > Decimal(10) ** 12 or amount.as_tuple().exponent < -4:
        errors[f"{where}.amount"] = "must be a number above 0, at most 10^12, with at most 4 decimals"
    if effect.get("kind") == "PER_VALUE":
        per = _num(effect.get("per", 1))
        if per is None or per <= 0 or per > Decimal(10) ** 12:
            errors[f"{where}.per"] = "must be a number above 0"
        if effect.get("basis") not in (None, *BASES):
            errors[f"{where}.basis"] = f"must be one of {', '.join(BASES)}"
    expiration = effect.get("expiration")
    if expiration is not None and (not isinstance(expiration, str) or not EXPIRATION_RE.match(expiration)):
        errors[f"{where}.expiration"] = 'must be like "30/days", "12/months", "1/years", or null'
    if effect.get("tier_id") is not None:
        errors[f"{where}.tier_id"] = "tiers are not supported yet"
    return errors
