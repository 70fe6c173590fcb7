"""Conditions compiled into closures: the operators, `compile_condition` (does the event satisfy
it?) and `compile_product_filter` (which products of the order satisfy it?, for PER_PRODUCT).

Values were checked at save time (campaigns.engine.validation), so a compiled test never meets a
value of the wrong type; a field missing from the event makes its condition false.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from campaigns.engine.facts import ANY, MISSING, NUMBER, STRING, EventFacts, field_spec
from core.amounts import parse_decimal

# ---- operators ------------------------------------------------------------------------------------


def _coerce(ftype: str, value: Any) -> Any:
    """A condition's value in the form comparisons use (numbers as Decimal)."""
    if ftype == NUMBER:
        return parse_decimal(value)
    if ftype == ANY and not isinstance(value, (str, bool)) and parse_decimal(value) is not None:
        return parse_decimal(value)
    return value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Decimal):  # a number field, or a tag compared with a number
        number = None if isinstance(actual, bool) else parse_decimal(actual)
        return number is not None and number == expected
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    return actual == expected


def _ordered(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(actual: Any, expected: Any) -> bool:
        if isinstance(expected, Decimal):
            number = parse_decimal(actual)
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
    number = parse_decimal(actual)
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
        return (parse_decimal(raw[0]), parse_decimal(raw[1]))
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


# ---- compiled conditions ----------------------------------------------------------------------------


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
            return lambda facts: (
                "products" in facts.order and all(v is MISSING or test(v) for v in facts.column(name, spec))
            )
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
