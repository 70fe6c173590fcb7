"""Rules checked when a campaign (or a tier's entry conditions) is saved, so that evaluation
never meets a value of the wrong type. Every problem is reported under its path, e.g.
"rules[0].conditions[1][0].value"; an empty dict means valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from campaigns.engine.conditions import OPERATORS, ORDERED
from campaigns.engine.evaluate import BASES, MAX_EXPIRATION, expiration_parts
from campaigns.engine.facts import ANY, NUMBER, STRING, field_spec
from core.amounts import MAX_AMOUNT, PLACES, parse_decimal

EFFECT_KEYS = {"reward_id", "kind", "amount", "basis", "per", "tier_id", "expiration"}
EFFECT_KINDS = ("FIXED", "PER_VALUE", "PER_PRODUCT")

# ---- conditions ---------------------------------------------------------------------------------------


def _scalar_problem(ftype: str, value: Any) -> str | None:
    if isinstance(value, (list, dict)) or value is None:
        return "value must be a single value"
    if ftype == NUMBER and (isinstance(value, bool) or parse_decimal(value) is None or isinstance(value, str)):
        return "value must be a number for this field"
    if ftype == STRING and not isinstance(value, str):
        return "value must be a string for this field"
    if isinstance(value, str) and len(value) > 255:
        return "value is longer than 255 characters"
    return None


def condition_problem(ftype: str, operator: str, value: Any) -> str | None:
    """Why this operator and value do not fit a field of this type, or None."""
    if operator == "exists":
        return None if isinstance(value, bool) else "operator exists needs true or false"
    if operator in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
            return f"operator {operator} needs a non-empty list (at most {MAX_VALUES} values)"
        return next((p for p in (_scalar_problem(ftype, v) for v in value) if p), None)
    if operator == "between":
        if ftype == STRING:
            return "operator between needs a number field"
        if (
            not isinstance(value, list)
            or len(value) != 2
            or any(isinstance(v, (bool, str)) for v in value)
            or any(parse_decimal(v) is None for v in value)
        ):
            return "operator between needs a list of two numbers [low, high]"
        if parse_decimal(value[0]) > parse_decimal(value[1]):
            return "operator between needs low <= high"
        return None
    if operator in ORDERED and ftype == STRING:
        return f"operator {operator} needs a number field"
    if operator == "contains" and ftype == NUMBER:
        return "operator contains needs a text or tag field"
    if operator == "contains" and not isinstance(value, str) and ftype == STRING:
        return "value must be a string for this field"
    if (
        operator in ORDERED
        and ftype == ANY
        and (isinstance(value, bool) or parse_decimal(value) is None or isinstance(value, str))
    ):
        return f"operator {operator} needs a number"
    return _scalar_problem(ftype, value)


# The work one campaign can make each event do is bounded (README "Campaign rules"): rules per
# campaign, groups per rule, conditions per group, effects per rule, values of in / not_in.
MAX_RULES = 100
MAX_GROUPS = 20
MAX_CONDITIONS = 20
MAX_EFFECTS = 10
MAX_VALUES = 1000


def validate_conditions(
    groups: Any, where: str, *, allowed: Callable[[str], bool] | None = None, scope: str = ""
) -> dict[str, str]:
    """Problems with a list of condition groups, keyed by path ("<where>[1][0].value"); {} if
    none. `allowed` narrows the fields (e.g. tiers only read customer.*), `scope` says how."""
    if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
        return {where: "must be a list of non-empty groups (lists) of conditions"}
    if len(groups) > MAX_GROUPS:
        return {where: f"at most {MAX_GROUPS} groups of conditions"}
    errors: dict[str, str] = {}
    for g_index, group in enumerate(groups):
        if len(group) > MAX_CONDITIONS:
            errors[f"{where}[{g_index}]"] = f"at most {MAX_CONDITIONS} conditions in a group"
            continue
        for c_index, cond in enumerate(group):
            cwhere = f"{where}[{g_index}][{c_index}]"
            if not isinstance(cond, dict) or set(cond) != {"field", "operator", "value"}:
                errors[cwhere] = "must be {field, operator, value}"
                continue
            spec = field_spec(cond["field"])
            if spec is None or (allowed is not None and not allowed(cond["field"])):
                errors[f"{cwhere}.field"] = f"unknown field {cond['field']!r}{scope}"
                continue
            if not isinstance(cond["operator"], str) or (
                cond["operator"] not in OPERATORS and cond["operator"] != "exists"
            ):
                errors[f"{cwhere}.operator"] = (
                    f"unknown operator {cond['operator']!r}; one of {', '.join([*OPERATORS, 'exists'])}"
                )
                continue
            problem = condition_problem(spec.type, cond["operator"], cond["value"])
            if problem:
                errors[f"{cwhere}.value"] = problem
    return errors


# ---- rules and effects ---------------------------------------------------------------------------------


def validate_rules(rules: Any, reward_ids: set[str], tier_ids: set[str] | None = None) -> dict[str, str]:
    """Problems with a campaign's rules as {"rules[0].conditions[1][0].field": "..."}; {} if none."""
    errors: dict[str, str] = {}
    if not isinstance(rules, list):
        return {"rules": "must be a list of rules"}
    if len(rules) > MAX_RULES:
        return {"rules": f"at most {MAX_RULES} rules"}
    for r_index, rule in enumerate(rules):
        where = f"rules[{r_index}]"
        if not isinstance(rule, dict):
            errors[where] = "must be an object with conditions and effects"
            continue
        unknown = set(rule) - {"id", "conditions", "effects", "requirement"}
        if unknown:
            errors[where] = f"unknown keys: {', '.join(sorted(unknown))}"
        # what a coupon redemption that does not meet the conditions answers (coupons app)
        if "requirement" in rule and (
            not isinstance(rule["requirement"], str) or not 0 < len(rule["requirement"]) <= 255
        ):
            errors[f"{where}.requirement"] = "must be a text of 1 to 255 characters"
        if "id" in rule and (not isinstance(rule["id"], str) or not 0 < len(rule["id"]) <= 64):
            errors[f"{where}.id"] = "must be a string of 1 to 64 characters"
        errors.update(validate_conditions(rule.get("conditions", []), f"{where}.conditions"))
        effects = rule.get("effects")
        if not isinstance(effects, list) or not effects:
            errors[f"{where}.effects"] = "must be a non-empty list of effects"
            continue
        if len(effects) > MAX_EFFECTS:
            errors[f"{where}.effects"] = f"at most {MAX_EFFECTS} effects in a rule"
            continue
        for e_index, effect in enumerate(effects):
            errors.update(_validate_effect(effect, f"{where}.effects[{e_index}]", reward_ids, tier_ids))
    return errors


def _amount_problem(value: Any) -> bool:
    number = None if isinstance(value, (bool, str)) else parse_decimal(value)
    return number is None or number <= 0 or number > MAX_AMOUNT or number.as_tuple().exponent < -PLACES


def _validate_effect(effect: Any, where: str, reward_ids: set[str], tier_ids: set[str] | None) -> dict[str, str]:
    if not isinstance(effect, dict):
        return {where: "must be an object"}
    errors = {}
    unknown = set(effect) - EFFECT_KEYS
    if unknown:
        errors[where] = f"unknown keys: {', '.join(sorted(unknown))}"
    if str(effect.get("reward_id")) not in reward_ids:
        errors[f"{where}.reward_id"] = f"unknown reward {effect.get('reward_id')!r} (for this brand)"
    if effect.get("kind") not in EFFECT_KINDS:
        errors[f"{where}.kind"] = f"unknown kind {effect.get('kind')!r}; one of {', '.join(EFFECT_KINDS)}"
    if _amount_problem(effect.get("amount")):
        errors[f"{where}.amount"] = "must be a number above 0, at most 10^12, with at most 4 decimals"
    if effect.get("kind") == "PER_VALUE":
        if "per" in effect and _amount_problem(effect.get("per")):
            errors[f"{where}.per"] = "must be a number above 0, at most 10^12, with at most 4 decimals"
        if effect.get("basis") not in (None, *BASES):
            errors[f"{where}.basis"] = f"must be one of {', '.join(BASES)}"
    else:
        for key in ("basis", "per"):
            if effect.get(key) is not None:
                errors[f"{where}.{key}"] = "basis and per apply to PER_VALUE effects only"
    expiration = effect.get("expiration")
    if expiration is not None and expiration_parts(expiration) is None:
        errors[f"{where}.expiration"] = (
            'must be like "30/days", "12/months", "1/years", or null; at most '
            f"{MAX_EXPIRATION['years']} years, {MAX_EXPIRATION['months']} months or {MAX_EXPIRATION['days']} days"
        )
    tier_id = effect.get("tier_id")
    if tier_id is not None and (tier_ids is None or str(tier_id) not in tier_ids):
        errors[f"{where}.tier_id"] = f"unknown tier {tier_id!r}"
    return errors
