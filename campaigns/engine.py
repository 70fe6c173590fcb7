"""Pure rule evaluation: conditions -> bool, effects -> grants. No database access here.

A campaign's `rules` is a list of `{"id", "conditions", "effects"}`. `conditions` is a list of
groups; a rule matches when every condition of at least one group holds (OR of ANDs); an empty
list matches every event of the trigger. A field missing from the event makes its condition
false, never an error (except `exists: false`, which is what it asks). Values were checked when
the campaign was saved (`validate_rules`), so evaluation never meets a value of the wrong type.

Rules are compiled once into closures (`compile_campaign`) and cached by the selector; an event
is evaluated against an `EventFacts` built once per event.

Fields (SPEC section 4), with the decisions the spec leaves open:
- `event.issued_at.weekday` is ISO (1 = Monday .. 7 = Sunday) and `.hour` 0-23, both in the
  programme's time zone;
- `order.products.count` is the order's quantity: the sum of the products' `amount` (1 each
  when absent);
- `order.products.sku` and `order.products.tags.<key>` hold when ANY product satisfies them,
  except `ne` and `not_in`, which hold when NO product has the value (and are false when the
  event has no product list at all: a missing field makes a condition false);
- `customer.*` is the customer as they stood before the event; `customer.metrics.<period>.<metric>`
  with period lifetime, this_year, last_year, this_quarter, last_quarter, this_month, last_month
  and metric number_of_purchases, spend_total or events.<EVENT_TYPE>.
Effects: FIXED (amount per event), PER_VALUE (amount per `per` units of `basis`; a basis of
`order.discounted_value` falls back to `order.value` when no discounted value is sent), PER_PRODUCT
(amount per quantity of products matching the product conditions of the group that matched; all
products when it has none). `tier_id` limits an effect to customers in that tier. Amounts are
rounded down to the reward's decimals; zero grants are dropped.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta
from django.utils import timezone

NUMBER, STRING, ANY = "number", "string", "any"
MISSING = object()
PERIODS = ("lifetime", "this_year", "last_year", "this_quarter", "last_quarter", "this_month", "last_month")
METRICS = ("number_of_purchases", "spend_total")
MAX_AMOUNT = Decimal(10) ** 12


def _num(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, (float, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


# ---- the facts of one event ---------------------------------------------------------------------


class EventFacts:
    """Everything conditions and effects read, computed once per event (lazily where costly)."""

    def __init__(self, *, event_type: str, payload: dict, customer: dict, metrics: Callable[[], dict] | None = None):
        self.event_type = event_type
        self.payload = payload
        self.order = payload.get("order") or {}
        self.product = payload.get("product") or {}
        self.products = self.order.get("products") or []
        self.customer = customer  # {"tags", "tier_id", "tier_level", "registration_date"}
        self._metrics_source = metrics
        self._metrics = None
        issued = payload.get("issued_at")
        self.issued_local = timezone.localtime(issued) if isinstance(issued, datetime) else None
        # Each field is read once per event, however many campaigns test it.
        self._values: dict[str, Any] = {}
        self._columns: dict[str, tuple] = {}
        self._quantities: tuple | None = None
        self._masks: dict[tuple, frozenset] = {}
        self._indexes: dict[str, dict] = {}

    def metrics(self) -> dict:
        if self._metrics is None:
            self._metrics = self._metrics_source() if self._metrics_source else {}
        return self._metrics

    def quantity(self, product: dict) -> Decimal:
        amount = _num(product.get("amount"))
        return Decimal(1) if amount is None else amount

    def quantities(self) -> tuple:
        if self._quantities is None:
            self._quantities = tuple(self.quantity(p) for p in self.products)
        return self._quantities

    def value(self, name: str, spec: FieldSpec) -> Any:
        """The field's value, numbers as Decimal, MISSING when absent (memoised)."""
        try:
            return self._values[name]
        except KeyError:
            pass
        value = spec.get(self)
        if value is None:
            value = MISSING
        elif spec.type == NUMBER and value is not MISSING:
            number = None if isinstance(value, bool) else _num(value)
            value = MISSING if number is None else number
        self._values[name] = value
        return value

    def column_index(self, name: str, spec: FieldSpec) -> dict:
        """value -> indexes of the products holding it (memoised)."""
        try:
            return self._indexes[name]
        except KeyError:
            index: dict = {}
            for i, value in enumerate(self.column(name, spec)):
                if isinstance(value, str):
                    index.setdefault(value, []).append(i)
            self._indexes[name] = index
            return index

    def column(self, name: str, spec: FieldSpec) -> tuple:
        """The field read on every product of the order (memoised)."""
        try:
            return self._columns[name]
        except KeyError:
            column = tuple(MISSING if (v := spec.product_level(p)) is None else v for p in self.products)
            self._columns[name] = column
            return column


def _tag(container: Callable[[EventFacts], dict | None], key: str) -> Callable[[EventFacts], Any]:
    def get(facts: EventFacts):
        tags = container(facts) or {}
        return tags.get(key, MISSING) if isinstance(tags, dict) else MISSING

    return get


def _key(container: Callable[[EventFacts], dict], key: str) -> Callable[[EventFacts], Any]:
    return lambda facts: (container(facts) or {}).get(key, MISSING)


def _metric(period: str, path: tuple[str, ...]) -> Callable[[EventFacts], Any]:
    def get(facts: EventFacts):
        bucket = facts.metrics().get(period) or {}
        if path[0] == "events":
            return (bucket.get("events") or {}).get(path[1], 0)
        return bucket.get(path[0], 0)

    return get


def _days_since_registration(facts: EventFacts):
    registered = facts.customer.get("registration_date")
    issued = facts.payload.get("issued_at")
    if registered is None or not isinstance(issued, datetime):
        return MISSING
    return (issued - registered).days


@dataclass(frozen=True)
class FieldSpec:
    type: str
    get: Callable[[EventFacts], Any]
    many: bool = False  # the getter returns a list: "any product"
    product_level: Callable[[dict], Any] | None = None  # the same field read on one product


STATIC_FIELDS: dict[str, FieldSpec] = {
    "event.type": FieldSpec(STRING, lambda f: f.event_type),
    "event.platform": FieldSpec(STRING, lambda f: f.payload.get("platform", MISSING)),
    "event.issued_at.weekday": FieldSpec(NUMBER, lambda f: f.issued_local.isoweekday() if f.issued_local else MISSING),
    "event.issued_at.hour": FieldSpec(NUMBER, lambda f: f.issued_local.hour if f.issued_local else MISSING),
    "order.value": FieldSpec(NUMBER, _key(lambda f: f.order, "value")),
    "order.discounted_value": FieldSpec(NUMBER, _key(lambda f: f.order, "discounted_value")),
    "order.payment_method": FieldSpec(STRING, _key(lambda f: f.order, "payment_method")),
    "order.store_id": FieldSpec(STRING, _key(lambda f: f.order, "store_id")),
    "order.channel_id": FieldSpec(STRING, _key(lambda f: f.order, "channel_id")),
    "order.products.sku": FieldSpec(STRING, lambda f: [p.get("sku") for p in f.products], many=True,
                                    product_level=lambda p: p.get("sku", MISSING)),
    "order.products.count": FieldSpec(NUMBER, lambda f: sum((f.quantity(p) for p in f.products), Decimal(0))
                                      if "products" in f.order else MISSING),
    "product.sku": FieldSpec(STRING, _key(lambda f: f.product, "sku")),
    "product.value": FieldSpec(NUMBER, _key(lambda f: f.product, "value")),
    "customer.tier_level": FieldSpec(NUMBER, lambda f: f.customer.get("tier_level", MISSING)),
    "customer.days_since_registration": FieldSpec(NUMBER, _days_since_registration),
}
TAG_KEY = re.compile(r"^[^.\s]{1,100}$")
EVENT_TYPE_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def field_spec(name: str) -> FieldSpec | None:
    """The spec of a condition field, or None if the field is unknown."""
    if not isinstance(name, str):
        return None
    if name in STATIC_FIELDS:
        return STATIC_FIELDS[name]
    for prefix, container in (("event.tags.", lambda f: f.payload.get("tags")),
                              ("customer.tags.", lambda f: f.customer.get("tags"))):
        if name.startswith(prefix) and TAG_KEY.match(name[len(prefix):]):
            return FieldSpec(ANY, _tag(container, name[len(prefix):]))
    if name.startswith("order.products.tags."):
        key = name[len("order.products.tags."):]
        if TAG_KEY.match(key):
            def per_product(p, key=key):
                tags = p.get("tags") or {}
                return tags.get(key, MISSING) if isinstance(tags, dict) else MISSING

            return FieldSpec(ANY, lambda f: [per_product(p) for p in f.products], many=True, product_level=per_product)
    parts = name.split(".")
    if len(parts) >= 4 and parts[:2] == ["customer", "metrics"] and parts[2] in PERIODS:
        metric = tuple(parts[3:])
        if (len(metric) == 1 and metric[0] in METRICS) or (
                len(metric) == 2 and metric[0] == "events" and EVENT_TYPE_NAME.match(metric[1])):
            return FieldSpec(NUMBER, _metric(parts[2], metric))
    return None


# ---- operators ------------------------------------------------------------------------------------


def _coerce(ftype: str, value: Any) -> Any:
    """A condition's value in the form comparisons use (numbers as Decimal)."""
    if ftype == NUMBER:
        return _num(value)
    if ftype == ANY and not isinstance(value, (str, bool)) and _num(value) is not None:
        return _num(value)
    return value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Decimal):  # a number field, or a tag compared with a number
        number = None if isinstance(actual, bool) else _num(actual)
        return number is not None and number == expected
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    return actual == expected


def _ordered(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(actual: Any, expected: Any) -> bool:
        if isinstance(expected, Decimal):
            number = _num(actual)
            return number is not None and check(number, expected)
        return isinstance(actual, str) and isinstance(expected, str) and check(actual, expected)

    return run


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list):
        return any(_equal(item, expected) for item in actual)
    return False


def _between(actual: Any, expected: Any) -> bool:
    number = _num(actual)
    return number is not None and expected[0] <= number <= expected[1]


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _equal,
    "ne": lambda a, e: not _equal(a, e),
    "gt": _ordered(lambda a, e: a > e),
    "gte": _ordered(lambda a, e: a >= e),
    "lt": _ordered(lambda a, e: a < e),
    "lte": _ordered(lambda a, e: a <= e),
    "in": lambda a, e: any(_equal(a, item) for item in e),
    "not_in": lambda a, e: not any(_equal(a, item) for item in e),
    "contains": _contains,
    "between": _between,
}
NEGATIVE = {"ne", "not_in"}
ORDERED = {"gt", "gte", "lt", "lte"}


def _expected(ftype: str, operator: str, raw: Any) -> Any:
    if operator in ("in", "not_in"):
        return [_coerce(ftype, item) for item in raw]
    if operator == "between":
        return (_num(raw[0]), _num(raw[1]))
    return _coerce(ftype, raw)


def _make_test(ftype: str, operator: str, expected: Any) -> Callable[[Any], bool]:
    """A one-argument test of a present value, specialised for the field's type: numbers
    arrive as Decimal, strings as str, so the common cases are plain comparisons."""
    if ftype in (NUMBER, STRING):
        if operator == "eq":
            return lambda a: a == expected
        if operator == "ne":
            return lambda a: a != expected
        if operator in ("in", "not_in"):
            members = frozenset(expected)
            if operator == "in":
                return lambda a: isinstance(a, (str, Decimal)) and a in members
            return lambda a: not (isinstance(a, (str, Decimal)) and a in members)
    if ftype == NUMBER:
        if operator == "between":
            low, high = expected
            return lambda a: low <= a <= high
        compare = {"gt": Decimal.__gt__, "gte": Decimal.__ge__, "lt": Decimal.__lt__, "lte": Decimal.__le__}[operator]
        return lambda a: compare(a, expected)
    test = OPERATORS[operator]
    return lambda a: test(a, expected)


def compile_condition(condition: dict) -> Callable[[EventFacts], bool]:
    name, operator, raw = condition["field"], condition["operator"], condition["value"]
    spec = field_spec(name)
    if spec.many:
        if operator == "exists":
            wanted = bool(raw)
            return lambda facts: any(v is not MISSING for v in facts.column(name, spec)) == wanted
        wanted_strings = [raw] if operator == "eq" else raw if operator == "in" else None
        if wanted_strings is not None and all(isinstance(w, str) for w in wanted_strings):
            # "some product has this text": a look-up in the column's value -> indexes map
            return lambda facts: any(w in facts.column_index(name, spec) for w in wanted_strings)
        test = _make_test(spec.type, operator, _expected(spec.type, operator, raw))
        if operator in NEGATIVE:  # an event with no product list at all has nothing to negate
            return lambda facts: "products" in facts.order and all(
                v is MISSING or test(v) for v in facts.column(name, spec))
        return lambda facts: any(v is not MISSING and test(v) for v in facts.column(name, spec))
    if operator == "exists":
        wanted = bool(raw)
        return lambda facts: (facts.value(name, spec) is not MISSING) == wanted
    test = _make_test(spec.type, operator, _expected(spec.type, operator, raw))

    def holds(facts: EventFacts) -> bool:
        actual = facts.value(name, spec)
        return actual is not MISSING and test(actual)

    return holds


def compile_product_filter(condition: dict) -> Callable[[EventFacts], frozenset] | None:
    """The condition applied to each product of the order (for PER_PRODUCT): the set of the
    indexes of the products that satisfy it, memoised per event; None if the condition is not
    about products. A product without the field passes only ne / not_in / exists:false."""
    name, operator, raw = condition["field"], condition["operator"], condition["value"]
    spec = field_spec(name)
    if spec.product_level is None:
        return None
    key = (name, operator, repr(raw))
    if operator in ("eq", "in") and spec.type == STRING:
        wanted = [raw] if operator == "eq" else raw

        def mask(facts: EventFacts) -> frozenset:  # via the column's value -> indexes map
            where = facts.column_index(name, spec)
            return frozenset(i for value in wanted for i in where.get(value, ()))
    else:
        if operator == "exists":
            present = bool(raw)

            def test_one(actual):
                return (actual is not MISSING) == present
        else:
            test = _make_test(spec.type, operator, _expected(spec.type, operator, raw))
            negative = operator in NEGATIVE

            def test_one(actual):
                return negative if actual is MISSING else test(actual)

        def mask(facts: EventFacts) -> frozenset:
            return frozenset(i for i, actual in enumerate(facts.column(name, spec)) if test_one(actual))

    def memoised(facts: EventFacts) -> frozenset:
        try:
            return facts._masks[key]
        except KeyError:
            result = facts._masks[key] = mask(facts)
            return result

    return memoised


# ---- effects ------------------------------------------------------------------------------------------

EXPIRATION_RE = re.compile(r"^([1-9][0-9]{0,3})/(days|months|years)$")
BASES = ("order.value", "order.discounted_value")


def expiration_date(expiration: str | None, start: datetime) -> datetime | None:
    if not expiration:
        return None
    match = EXPIRATION_RE.match(expiration)
    return start + relativedelta(**{match.group(2): int(match.group(1))})


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

    def runs_at(self, moment: datetime) -> bool:
        return (self.start_date is None or self.start_date <= moment) and (
            self.end_date is None or moment < self.end_date)


def compile_campaign(*, id, brand_id, rules: list, budget=None, limit=None, start_date=None,
                     end_date=None) -> CompiledCampaign:
    compiled = []
    for rule in rules:
        groups = tuple(tuple(compile_condition(c) for c in group) for group in rule.get("conditions") or [])
        filters = tuple(
            tuple(f for f in (compile_product_filter(c) for c in group) if f is not None)
            for group in rule.get("conditions") or []
        )
        effects = tuple(
            CompiledEffect(
                reward_id=str(e["reward_id"]), kind=e["kind"], amount=_num(e["amount"]),
                per=_num(e.get("per")) or Decimal(1), basis=e.get("basis") or "order.value",
                tier_id=str(e["tier_id"]) if e.get("tier_id") else None, expiration=e.get("expiration"),
            )
            for e in rule.get("effects") or []
        )
        compiled.append(CompiledRule(str(rule["id"]), groups, filters, effects))
    return CompiledCampaign(id=id, brand_id=brand_id, rules=tuple(compiled), budget=budget, limit=limit or None,
                            start_date=start_date, end_date=end_date)


def _raw_amount(effect: CompiledEffect, facts: EventFacts, product_filters: tuple) -> Decimal:
    if effect.kind == "FIXED":
        return effect.amount
    if effect.kind == "PER_VALUE":
        basis = _num(facts.order.get(effect.basis.split(".", 1)[1]))
        if basis is None and effect.basis == "order.discounted_value":
            basis = _num(facts.order.get("value"))  # no discount sent: the order's value
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
                amount = raw.quantize(Decimal(1).scaleb(-decimals[effect.reward_id]), rounding=ROUND_DOWN)
                if amount > 0:
                    grants.append(Grant(campaign.id, rule.id, effect.reward_id, amount, effect.expiration))
    return grants


# ---- validation at save time ---------------------------------------------------------------------------


def _scalar_problem(ftype: str, value: Any) -> str | None:
    if isinstance(value, (list, dict)) or value is None:
        return "value must be a single value"
    if ftype == NUMBER and (isinstance(value, bool) or _num(value) is None or isinstance(value, str)):
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
        if not isinstance(value, list) or not value or len(value) > 1000:
            return f"operator {operator} needs a non-empty list (at most 1000 values)"
        return next((p for p in (_scalar_problem(ftype, v) for v in value) if p), None)
    if operator == "between":
        if ftype == STRING:
            return "operator between needs a number field"
        if (not isinstance(value, list) or len(value) != 2 or any(isinstance(v, (bool, str)) for v in value)
                or any(_num(v) is None for v in value)):
            return "operator between needs a list of two numbers [low, high]"
        if _num(value[0]) > _num(value[1]):
            return "operator between needs low <= high"
        return None
    if operator in ORDERED and ftype == STRING:
        return f"operator {operator} needs a number field"
    if operator == "contains" and ftype == NUMBER:
        return "operator contains needs a text or tag field"
    if operator == "contains" and not isinstance(value, str) and ftype == STRING:
        return "value must be a string for this field"
    if operator in ORDERED and ftype == ANY and (isinstance(value, bool) or _num(value) is None
                                                 or isinstance(value, str)):
        return f"operator {operator} needs a number"
    return _scalar_problem(ftype, value)


def validate_conditions(groups: Any, where: str, *, allowed: Callable[[str], bool] | None = None,
                        scope: str = "") -> dict[str, str]:
    """Problems with a list of condition groups, keyed by path ("<where>[1][0].value"); {} if
    none. `allowed` narrows the fields (e.g. tiers only read customer.*), `scope` says how."""
    if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
        return {where: "must be a list of non-empty groups (lists) of conditions"}
    errors: dict[str, str] = {}
    for g_index, group in enumerate(groups):
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
                    cond["operator"] not in OPERATORS and cond["operator"] != "exists"):
                errors[f"{cwhere}.operator"] = (
                    f"unknown operator {cond['operator']!r}; one of {', '.join([*OPERATORS, 'exists'])}"
                )
                continue
            problem = condition_problem(spec.type, cond["operator"], cond["value"])
            if problem:
                errors[f"{cwhere}.value"] = problem
    return errors


def validate_rules(rules: Any, reward_ids: set[str], tier_ids: set[str] | None = None) -> dict[str, str]:
    """Problems with a campaign's rules as {"rules[0].conditions[1][0].field": "..."}; {} if none."""
    errors: dict[str, str] = {}
    if not isinstance(rules, list):
        return {"rules": "must be a list of rules"}
    if len(rules) > 100:
        return {"rules": "at most 100 rules"}
    for r_index, rule in enumerate(rules):
        where = f"rules[{r_index}]"
        if not isinstance(rule, dict):
            errors[where] = "must be an object with conditions and effects"
            continue
        unknown = set(rule) - {"id", "conditions", "effects"}
        if unknown:
            errors[where] = f"unknown keys: {', '.join(sorted(unknown))}"
        if "id" in rule and (not isinstance(rule["id"], str) or not 0 < len(rule["id"]) <= 64):
            errors[f"{where}.id"] = "must be a string of 1 to 64 characters"
        errors.update(validate_conditions(rule.get("conditions", []), f"{where}.conditions"))
        effects = rule.get("effects")
        if not isinstance(effects, list) or not effects:
            errors[f"{where}.effects"] = "must be a non-empty list of effects"
            continue
        for e_index, effect in enumerate(effects):
            errors.update(_validate_effect(effect, f"{where}.effects[{e_index}]", reward_ids, tier_ids))
    return errors


EFFECT_KEYS = {"reward_id", "kind", "amount", "basis", "per", "tier_id", "expiration"}
EFFECT_KINDS = ("FIXED", "PER_VALUE", "PER_PRODUCT")


def _amount_problem(value: Any) -> bool:
    number = None if isinstance(value, (bool, str)) else _num(value)
    return number is None or number <= 0 or number > MAX_AMOUNT or number.as_tuple().exponent < -4


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
    if expiration is not None and (not isinstance(expiration, str) or not EXPIRATION_RE.match(expiration)):
        errors[f"{where}.expiration"] = 'must be like "30/days", "12/months", "1/years", or null'
    tier_id = effect.get("tier_id")
    if tier_id is not None and (tier_ids is None or str(tier_id) not in tier_ids):
        errors[f"{where}.tier_id"] = f"unknown tier {tier_id!r}"
    return errors
