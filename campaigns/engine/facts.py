"""The facts of one event: what conditions and effects read, and the fields they may name.

`EventFacts` is built once per event (by `customer_facts` for the customer part) and reads each
field at most once, however many campaigns test it. `field_spec` knows every condition field of
SPEC section 4: its type, how to read it from the facts and, for product fields, from one product.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from core.amounts import parse_decimal

NUMBER, STRING, ANY = "number", "string", "any"
MISSING = object()
METRIC_PERIODS = ("lifetime", "this_year", "last_year", "this_quarter", "last_quarter", "this_month", "last_month")
METRICS = ("number_of_purchases", "spend_total")
TAG_KEY = re.compile(r"^[^.\s]{1,100}$")
EVENT_TYPE_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def customer_facts(
    *, tags: dict | None, tier_id: str | None, tier_level: int | None, registration_date: datetime | None
) -> dict:
    """The `customer` of an EventFacts: the customer as they stood before the event."""
    return {"tags": tags or {}, "tier_id": tier_id, "tier_level": tier_level, "registration_date": registration_date}


class EventFacts:
    """Everything conditions and effects read, computed once per event (lazily where costly)."""

    def __init__(self, *, event_type: str, payload: dict, customer: dict, metrics: Callable[[], dict] | None = None):
        self.event_type = event_type
        self.payload = payload
        self.order = payload.get("order") or {}
        self.product = payload.get("product") or {}
        self.products = self.order.get("products") or []
        self.customer = customer  # customer_facts(): {"tags", "tier_id", "tier_level", "registration_date"}
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
        amount = parse_decimal(product.get("amount"))
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
            number = None if isinstance(value, bool) else parse_decimal(value)
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


# ---- the fields ---------------------------------------------------------------------------------


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
    "order.products.sku": FieldSpec(
        STRING, lambda f: [p.get("sku") for p in f.products], many=True, product_level=lambda p: p.get("sku", MISSING)
    ),
    "order.products.count": FieldSpec(
        NUMBER, lambda f: sum((f.quantity(p) for p in f.products), Decimal(0)) if "products" in f.order else MISSING
    ),
    "product.sku": FieldSpec(STRING, _key(lambda f: f.product, "sku")),
    "product.value": FieldSpec(NUMBER, _key(lambda f: f.product, "value")),
    "customer.tier_level": FieldSpec(NUMBER, lambda f: f.customer.get("tier_level", MISSING)),
    "customer.days_since_registration": FieldSpec(NUMBER, _days_since_registration),
}


def field_spec(name: str) -> FieldSpec | None:
    """The spec of a condition field, or None if the field is unknown."""
    if not isinstance(name, str):
        return None
    if name in STATIC_FIELDS:
        return STATIC_FIELDS[name]
    for prefix, container in (
        ("event.tags.", lambda f: f.payload.get("tags")),
        ("customer.tags.", lambda f: f.customer.get("tags")),
    ):
        if name.startswith(prefix) and TAG_KEY.match(name[len(prefix) :]):
            return FieldSpec(ANY, _tag(container, name[len(prefix) :]))
    if name.startswith("order.products.tags."):
        key = name[len("order.products.tags.") :]
        if TAG_KEY.match(key):

            def per_product(p, key=key):
                tags = p.get("tags") or {}
                return tags.get(key, MISSING) if isinstance(tags, dict) else MISSING

            return FieldSpec(ANY, lambda f: [per_product(p) for p in f.products], many=True, product_level=per_product)
    parts = name.split(".")
    if len(parts) >= 4 and parts[:2] == ["customer", "metrics"] and parts[2] in METRIC_PERIODS:
        metric = tuple(parts[3:])
        if (len(metric) == 1 and metric[0] in METRICS) or (
            len(metric) == 2 and metric[0] == "events" and EVENT_TYPE_NAME.match(metric[1])
        ):
            return FieldSpec(NUMBER, _metric(parts[2], metric))
    return None
