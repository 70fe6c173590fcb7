"""The rule engine of SPEC section 4 (campaigns/engine.py), table by table.

Most tests are pure (no database): a condition is compiled and run against hand-built
`EventFacts`, campaigns are compiled and evaluated into grants, rules are validated as they would
be at save time. Every condition in the truth tables is first checked to be one `validate_rules`
accepts, so the tables only describe campaigns that can exist. The end-to-end tests at the
bottom go through `events.services.event_emit` where the database matters: the customer as they
stood before the event, the compiled-campaign cache, and the campaign window.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.engine import (
    ANY,
    MAX_AMOUNT,
    NUMBER,
    STRING,
    EventFacts,
    Grant,
    compile_campaign,
    compile_condition,
    condition_problem,
    evaluate,
    field_spec,
    validate_rules,
)
from tests.factories import cond

D = Decimal
UTC = dt_timezone.utc
ISSUED = datetime(2026, 3, 4, 14, 30, tzinfo=UTC)  # a Wednesday, 14:30 UTC
REWARD = "reward-1"
OTHER_REWARD = "reward-2"


@pytest.fixture(autouse=True)
def _programme_in_utc(settings):
    """Weekday and hour are read in the programme's time zone; the tables assume UTC."""
    settings.TIME_ZONE = "UTC"


# ---- building facts ---------------------------------------------------------------------------------


def base_payload() -> dict:
    return {
        "platform": "ios",
        "tags": {"channel": "app", "visits": 3, "first": True},
        "order": {
            "purchase_id": "A-1",
            "value": D("100.00"),
            "discounted_value": D("90.00"),
            "payment_method": "CREDIT",
            "store_id": "S-1",
            "channel_id": "WEB",
            "products": [
                {"sku": "LATTE", "amount": 2, "value": D("60.00"), "tags": {"size": "L", "ml": 350, "hot": True}},
                {"sku": "MUFFIN", "value": D("40.00"), "tags": {"size": "M"}},  # no amount: quantity 1
            ],
        },
        "product": {"sku": "LATTE", "value": D("4.50")},
        "issued_at": ISSUED,
    }


def base_customer() -> dict:
    return {
        "tags": {"segment": "gold", "score": 7, "vip": True, "interests": ["coffee", "tea"]},
        "tier_id": "tier-2",
        "tier_level": 2,
        "registration_date": ISSUED - timedelta(days=30, hours=1),
    }


def base_metrics() -> dict:
    # the shape customer_metrics() returns (jsonable: Decimals become int or float)
    return {
        "lifetime": {
            "number_of_purchases": 2,
            "spend_total": 150.5,
            "events": {"PURCHASE": 2, "SURVEY": 1},
            "last_visit": None,
        },
        "this_month": {"number_of_purchases": 1, "spend_total": 20, "events": {"PURCHASE": 1}, "last_visit": None},
    }


def make_facts(*, event_type="PURCHASE", payload=None, customer=None, metrics=None) -> EventFacts:
    return EventFacts(
        event_type=event_type,
        payload=base_payload() if payload is None else payload,
        customer=base_customer() if customer is None else customer,
        metrics=(lambda: base_metrics()) if metrics is None else (lambda: metrics),
    )


def with_order(**order) -> dict:
    return {"order": order, "issued_at": ISSUED}


def assert_valid(*conditions) -> None:
    """The conditions are ones a campaign may be saved with."""
    errors = validate_rules([{"conditions": [list(conditions)], "effects": [fixed(1)]}], {REWARD})
    assert errors == {}, errors


def holds(condition: dict, facts: EventFacts) -> bool:
    assert_valid(condition)
    return compile_condition(condition)(facts)


# ---- 1. every field crossed with its operators, at the boundaries ----------------------------------

T, F = True, False
TRUTH_TABLE = [
    # event.type = "PURCHASE"
    ("event.type", "eq", "PURCHASE", T),
    ("event.type", "eq", "REGISTRATION", F),
    ("event.type", "ne", "PURCHASE", F),
    ("event.type", "ne", "REGISTRATION", T),
    ("event.type", "in", ["REGISTRATION", "PURCHASE"], T),
    ("event.type", "in", ["REGISTRATION"], F),
    ("event.type", "not_in", ["PURCHASE"], F),
    ("event.type", "not_in", ["BIRTHDAY"], T),
    ("event.type", "contains", "PURCH", T),
    ("event.type", "contains", "purch", F),
    ("event.type", "exists", True, T),
    ("event.type", "exists", False, F),
    # event.platform = "ios"
    ("event.platform", "eq", "ios", T),
    ("event.platform", "eq", "IOS", F),
    ("event.platform", "ne", "ios", F),
    ("event.platform", "ne", "web", T),
    ("event.platform", "in", ["web", "ios"], T),
    ("event.platform", "in", ["web"], F),
    ("event.platform", "not_in", ["web", "ios"], F),
    ("event.platform", "not_in", ["web"], T),
    ("event.platform", "contains", "io", T),
    ("event.platform", "contains", "web", F),
    ("event.platform", "exists", True, T),
    ("event.platform", "exists", False, F),
    # event.tags.<key>: channel = "app", visits = 3, first = true
    ("event.tags.channel", "eq", "app", T),
    ("event.tags.channel", "eq", "web", F),
    ("event.tags.channel", "ne", "app", F),
    ("event.tags.channel", "ne", "web", T),
    ("event.tags.channel", "in", ["web", "app"], T),
    ("event.tags.channel", "not_in", ["app"], F),
    ("event.tags.channel", "contains", "pp", T),
    ("event.tags.channel", "contains", "x", F),
    ("event.tags.visits", "eq", 3, T),
    ("event.tags.visits", "eq", 2, F),
    ("event.tags.visits", "ne", 3, F),
    ("event.tags.visits", "gt", 2, T),
    ("event.tags.visits", "gt", 3, F),
    ("event.tags.visits", "gte", 3, T),
    ("event.tags.visits", "gte", 4, F),
    ("event.tags.visits", "lt", 4, T),
    ("event.tags.visits", "lt", 3, F),
    ("event.tags.visits", "lte", 3, T),
    ("event.tags.visits", "lte", 2, F),
    ("event.tags.visits", "in", [1, 3], T),
    ("event.tags.visits", "not_in", [3], F),
    ("event.tags.visits", "not_in", [4], T),
    ("event.tags.visits", "between", [3, 5], T),
    ("event.tags.visits", "between", [1, 3], T),
    ("event.tags.visits", "between", [4, 5], F),
    ("event.tags.visits", "between", [1, 2], F),
    ("event.tags.first", "eq", True, T),
    ("event.tags.first", "eq", False, F),
    ("event.tags.first", "eq", 1, F),  # a boolean is not the number 1
    ("event.tags.first", "ne", False, T),
    ("event.tags.first", "exists", True, T),
    ("event.tags.absent", "exists", False, T),
    ("event.tags.absent", "exists", True, F),
    # event.issued_at.weekday = 3 (Wednesday), .hour = 14
    ("event.issued_at.weekday", "eq", 3, T),
    ("event.issued_at.weekday", "eq", 4, F),
    ("event.issued_at.weekday", "ne", 3, F),
    ("event.issued_at.weekday", "ne", 2, T),
    ("event.issued_at.weekday", "gt", 2, T),
    ("event.issued_at.weekday", "gt", 3, F),
    ("event.issued_at.weekday", "gte", 3, T),
    ("event.issued_at.weekday", "gte", 4, F),
    ("event.issued_at.weekday", "lt", 4, T),
    ("event.issued_at.weekday", "lt", 3, F),
    ("event.issued_at.weekday", "lte", 3, T),
    ("event.issued_at.weekday", "lte", 2, F),
    ("event.issued_at.weekday", "in", [1, 2, 3, 4, 5], T),
    ("event.issued_at.weekday", "in", [6, 7], F),
    ("event.issued_at.weekday", "not_in", [6, 7], T),
    ("event.issued_at.weekday", "not_in", [3], F),
    ("event.issued_at.weekday", "between", [1, 3], T),
    ("event.issued_at.weekday", "between", [4, 5], F),
    ("event.issued_at.weekday", "exists", True, T),
    ("event.issued_at.hour", "eq", 14, T),
    ("event.issued_at.hour", "ne", 13, T),
    ("event.issued_at.hour", "gt", 13, T),
    ("event.issued_at.hour", "gt", 14, F),
    ("event.issued_at.hour", "gte", 14, T),
    ("event.issued_at.hour", "gte", 15, F),
    ("event.issued_at.hour", "lt", 15, T),
    ("event.issued_at.hour", "lt", 14, F),
    ("event.issued_at.hour", "lte", 14, T),
    ("event.issued_at.hour", "lte", 13, F),
    ("event.issued_at.hour", "in", [14], T),
    ("event.issued_at.hour", "not_in", [14], F),
    ("event.issued_at.hour", "between", [9, 14], T),
    ("event.issued_at.hour", "between", [15, 23], F),
    # order.value = 100.00 (conditions as JSON numbers: int, float, or Decimal)
    ("order.value", "eq", 100, T),
    ("order.value", "eq", D("100.00"), T),
    ("order.value", "eq", 100.01, F),
    ("order.value", "ne", 100, F),
    ("order.value", "ne", 99.99, T),
    ("order.value", "gt", 99.99, T),
    ("order.value", "gt", 100, F),
    ("order.value", "gte", 100, T),
    ("order.value", "gte", D("100.01"), F),
    ("order.value", "lt", D("100.01"), T),
    ("order.value", "lt", 100, F),
    ("order.value", "lte", 100, T),
    ("order.value", "lte", 99.99, F),
    ("order.value", "in", [50, 100], T),
    ("order.value", "in", [99.99], F),
    ("order.value", "not_in", [100], F),
    ("order.value", "not_in", [99], T),
    ("order.value", "between", [100, 200], T),
    ("order.value", "between", [50, 100], T),
    ("order.value", "between", [100.01, 200], F),
    ("order.value", "between", [0, 99.99], F),
    ("order.value", "exists", True, T),
    ("order.value", "exists", False, F),
    # order.discounted_value = 90.00
    ("order.discounted_value", "eq", 90, T),
    ("order.discounted_value", "ne", 90, F),
    ("order.discounted_value", "gt", 90, F),
    ("order.discounted_value", "gte", 90, T),
    ("order.discounted_value", "lt", 90, F),
    ("order.discounted_value", "lte", 90, T),
    ("order.discounted_value", "gt", 89.99, T),
    ("order.discounted_value", "lt", 90.01, T),
    ("order.discounted_value", "in", [90], T),
    ("order.discounted_value", "not_in", [90], F),
    ("order.discounted_value", "between", [0, 90], T),
    ("order.discounted_value", "between", [90.01, 100], F),
    # order.payment_method = "CREDIT"
    ("order.payment_method", "eq", "CREDIT", T),
    ("order.payment_method", "eq", "DEBIT", F),
    ("order.payment_method", "ne", "CREDIT", F),
    ("order.payment_method", "ne", "CASH", T),
    ("order.payment_method", "in", ["CREDIT", "DEBIT"], T),
    ("order.payment_method", "in", ["CASH"], F),
    ("order.payment_method", "not_in", ["CASH"], T),
    ("order.payment_method", "not_in", ["CREDIT"], F),
    ("order.payment_method", "contains", "RED", T),
    ("order.payment_method", "exists", True, T),
    # order.store_id = "S-1", order.channel_id = "WEB"
    ("order.store_id", "eq", "S-1", T),
    ("order.store_id", "eq", "S-10", F),
    ("order.store_id", "ne", "S-2", T),
    ("order.store_id", "in", ["S-2"], F),
    ("order.store_id", "not_in", ["S-2"], T),
    ("order.store_id", "contains", "S-", T),
    ("order.store_id", "exists", False, F),
    ("order.channel_id", "eq", "WEB", T),
    ("order.channel_id", "ne", "WEB", F),
    ("order.channel_id", "in", ["WEB", "APP"], T),
    ("order.channel_id", "not_in", ["WEB"], F),
    ("order.channel_id", "contains", "E", T),
    ("order.channel_id", "exists", True, T),
    # order.products.sku: LATTE (x2) and MUFFIN; any product, ne / not_in = no product has it
    ("order.products.sku", "eq", "LATTE", T),
    ("order.products.sku", "eq", "MUFFIN", T),
    ("order.products.sku", "eq", "TEA", F),
    ("order.products.sku", "ne", "TEA", T),
    ("order.products.sku", "ne", "LATTE", F),
    ("order.products.sku", "ne", "MUFFIN", F),
    ("order.products.sku", "in", ["TEA", "MUFFIN"], T),
    ("order.products.sku", "in", ["TEA"], F),
    ("order.products.sku", "not_in", ["TEA", "SODA"], T),
    ("order.products.sku", "not_in", ["TEA", "MUFFIN"], F),
    ("order.products.sku", "contains", "LAT", T),
    ("order.products.sku", "contains", "TEA", F),
    ("order.products.sku", "exists", True, T),
    ("order.products.sku", "exists", False, F),
    # order.products.count = 2 + 1 (no amount) = 3
    ("order.products.count", "eq", 3, T),
    ("order.products.count", "eq", 2, F),
    ("order.products.count", "eq", 4, F),
    ("order.products.count", "ne", 3, F),
    ("order.products.count", "ne", 2, T),
    ("order.products.count", "gt", 2, T),
    ("order.products.count", "gt", 3, F),
    ("order.products.count", "gte", 3, T),
    ("order.products.count", "gte", 4, F),
    ("order.products.count", "lt", 4, T),
    ("order.products.count", "lt", 3, F),
    ("order.products.count", "lte", 3, T),
    ("order.products.count", "lte", 2, F),
    ("order.products.count", "in", [3], T),
    ("order.products.count", "not_in", [3], F),
    ("order.products.count", "between", [3, 3], T),
    ("order.products.count", "between", [4, 10], F),
    ("order.products.count", "exists", True, T),
    # order.products.tags.<key>: size L (latte) / M (muffin); ml 350 and hot only on the latte
    ("order.products.tags.size", "eq", "L", T),
    ("order.products.tags.size", "eq", "S", F),
    ("order.products.tags.size", "ne", "S", T),
    ("order.products.tags.size", "ne", "L", F),
    ("order.products.tags.size", "in", ["S", "M"], T),
    ("order.products.tags.size", "in", ["S", "XL"], F),
    ("order.products.tags.size", "not_in", ["L"], F),
    ("order.products.tags.size", "not_in", ["S"], T),
    ("order.products.tags.size", "contains", "L", T),
    ("order.products.tags.size", "exists", True, T),
    ("order.products.tags.ml", "eq", 350, T),
    ("order.products.tags.ml", "ne", 350, F),
    ("order.products.tags.ml", "gt", 349, T),
    ("order.products.tags.ml", "gt", 350, F),
    ("order.products.tags.ml", "gte", 350, T),
    ("order.products.tags.ml", "gte", 351, F),
    ("order.products.tags.ml", "lt", 351, T),
    ("order.products.tags.ml", "lt", 350, F),
    ("order.products.tags.ml", "lte", 350, T),
    ("order.products.tags.ml", "lte", 349, F),
    ("order.products.tags.ml", "between", [300, 350], T),
    ("order.products.tags.ml", "between", [351, 400], F),
    ("order.products.tags.hot", "eq", True, T),
    ("order.products.tags.hot", "eq", False, F),
    ("order.products.tags.vegan", "exists", False, T),
    ("order.products.tags.vegan", "exists", True, F),
    ("order.products.tags.vegan", "eq", True, F),
    ("order.products.tags.vegan", "ne", True, T),
    # product.sku = "LATTE", product.value = 4.50
    ("product.sku", "eq", "LATTE", T),
    ("product.sku", "eq", "latte", F),
    ("product.sku", "ne", "LATTE", F),
    ("product.sku", "in", ["TEA", "LATTE"], T),
    ("product.sku", "not_in", ["LATTE"], F),
    ("product.sku", "contains", "ATT", T),
    ("product.sku", "exists", True, T),
    ("product.value", "eq", 4.5, T),
    ("product.value", "ne", 4, T),
    ("product.value", "gt", 4.49, T),
    ("product.value", "gt", 4.5, F),
    ("product.value", "gte", 4.5, T),
    ("product.value", "gte", 4.51, F),
    ("product.value", "lt", 4.51, T),
    ("product.value", "lt", 4.5, F),
    ("product.value", "lte", 4.5, T),
    ("product.value", "lte", 4.49, F),
    ("product.value", "in", [D("4.50")], T),
    ("product.value", "not_in", [4.5], F),
    ("product.value", "between", [4.5, 5], T),
    ("product.value", "between", [4.51, 5], F),
    # customer.tier_level = 2
    ("customer.tier_level", "eq", 2, T),
    ("customer.tier_level", "ne", 1, T),
    ("customer.tier_level", "ne", 2, F),
    ("customer.tier_level", "gt", 1, T),
    ("customer.tier_level", "gt", 2, F),
    ("customer.tier_level", "gte", 2, T),
    ("customer.tier_level", "gte", 3, F),
    ("customer.tier_level", "lt", 3, T),
    ("customer.tier_level", "lt", 2, F),
    ("customer.tier_level", "lte", 2, T),
    ("customer.tier_level", "lte", 1, F),
    ("customer.tier_level", "in", [2, 3], T),
    ("customer.tier_level", "not_in", [2], F),
    ("customer.tier_level", "between", [2, 10], T),
    ("customer.tier_level", "between", [3, 10], F),
    # customer.tags.<key>: segment "gold", score 7, vip true, interests ["coffee", "tea"]
    ("customer.tags.segment", "eq", "gold", T),
    ("customer.tags.segment", "ne", "gold", F),
    ("customer.tags.segment", "in", ["gold", "silver"], T),
    ("customer.tags.segment", "not_in", ["gold"], F),
    ("customer.tags.segment", "contains", "ol", T),
    ("customer.tags.segment", "exists", True, T),
    ("customer.tags.score", "eq", 7, T),
    ("customer.tags.score", "gt", 6, T),
    ("customer.tags.score", "gt", 7, F),
    ("customer.tags.score", "gte", 7, T),
    ("customer.tags.score", "lt", 7, F),
    ("customer.tags.score", "lt", 8, T),
    ("customer.tags.score", "lte", 7, T),
    ("customer.tags.score", "lte", 6, F),
    ("customer.tags.score", "between", [7, 9], T),
    ("customer.tags.score", "between", [8, 9], F),
    ("customer.tags.vip", "eq", True, T),
    ("customer.tags.vip", "eq", False, F),
    ("customer.tags.vip", "ne", False, T),
    ("customer.tags.interests", "contains", "coffee", T),
    ("customer.tags.interests", "contains", "cof", F),
    ("customer.tags.interests", "contains", "juice", F),
    # customer.metrics.<period>.<metric>: lifetime 2 purchases, spend 150.5, events PURCHASE 2 / SURVEY 1
    ("customer.metrics.lifetime.number_of_purchases", "eq", 2, T),
    ("customer.metrics.lifetime.number_of_purchases", "eq", 3, F),
    ("customer.metrics.lifetime.number_of_purchases", "ne", 2, F),
    ("customer.metrics.lifetime.number_of_purchases", "gt", 1, T),
    ("customer.metrics.lifetime.number_of_purchases", "gt", 2, F),
    ("customer.metrics.lifetime.number_of_purchases", "gte", 2, T),
    ("customer.metrics.lifetime.number_of_purchases", "gte", 3, F),
    ("customer.metrics.lifetime.number_of_purchases", "lt", 3, T),
    ("customer.metrics.lifetime.number_of_purchases", "lt", 2, F),
    ("customer.metrics.lifetime.number_of_purchases", "lte", 2, T),
    ("customer.metrics.lifetime.number_of_purchases", "lte", 1, F),
    ("customer.metrics.lifetime.number_of_purchases", "in", [2, 4], T),
    ("customer.metrics.lifetime.number_of_purchases", "not_in", [2], F),
    ("customer.metrics.lifetime.number_of_purchases", "between", [2, 5], T),
    ("customer.metrics.lifetime.number_of_purchases", "between", [3, 5], F),
    ("customer.metrics.lifetime.number_of_purchases", "exists", True, T),
    ("customer.metrics.lifetime.spend_total", "gte", 150.5, T),
    ("customer.metrics.lifetime.spend_total", "gt", 150.5, F),
    ("customer.metrics.lifetime.spend_total", "gt", 150.49, T),
    ("customer.metrics.lifetime.spend_total", "lt", 150.51, T),
    ("customer.metrics.lifetime.spend_total", "lt", 150.5, F),
    ("customer.metrics.lifetime.spend_total", "lte", D("150.5"), T),
    ("customer.metrics.lifetime.spend_total", "eq", D("150.50"), T),
    ("customer.metrics.lifetime.spend_total", "between", [100, 150.5], T),
    ("customer.metrics.this_month.number_of_purchases", "eq", 1, T),
    ("customer.metrics.this_month.spend_total", "gte", 20, T),
    ("customer.metrics.this_month.spend_total", "gt", 20, F),
    ("customer.metrics.lifetime.events.PURCHASE", "eq", 2, T),
    ("customer.metrics.lifetime.events.PURCHASE", "gte", 3, F),
    ("customer.metrics.lifetime.events.SURVEY", "eq", 1, T),
    ("customer.metrics.this_month.events.SURVEY", "eq", 0, T),  # none this month
    ("customer.metrics.lifetime.events.BIRTHDAY", "eq", 0, T),  # never seen: 0, not missing
    ("customer.metrics.lifetime.events.BIRTHDAY", "lt", 1, T),
    ("customer.metrics.last_year.number_of_purchases", "eq", 0, T),  # no bucket for the period: 0
    ("customer.metrics.last_year.spend_total", "gt", 0, F),
    # customer.days_since_registration = 30 (registered 30 days and 1 hour before the event)
    ("customer.days_since_registration", "eq", 30, T),
    ("customer.days_since_registration", "ne", 30, F),
    ("customer.days_since_registration", "gt", 29, T),
    ("customer.days_since_registration", "gt", 30, F),
    ("customer.days_since_registration", "gte", 30, T),
    ("customer.days_since_registration", "gte", 31, F),
    ("customer.days_since_registration", "lt", 31, T),
    ("customer.days_since_registration", "lt", 30, F),
    ("customer.days_since_registration", "lte", 30, T),
    ("customer.days_since_registration", "lte", 29, F),
    ("customer.days_since_registration", "in", [30], T),
    ("customer.days_since_registration", "not_in", [30], F),
    ("customer.days_since_registration", "between", [30, 60], T),
    ("customer.days_since_registration", "between", [31, 60], F),
]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), TRUTH_TABLE)
def test_condition_on_a_full_purchase_holds_exactly_at_its_boundaries(field, operator, value, expected):
    assert holds(cond(field, operator, value), make_facts()) is expected


# Valid values of each operator, per field type, to run against events that lack the field.
NUMBER_OPERATORS = [
    ("eq", 1),
    ("ne", 1),
    ("gt", 0),
    ("gte", 0),
    ("lt", 1),
    ("lte", 1),
    ("in", [1]),
    ("not_in", [1]),
    ("between", [0, 1]),
]
STRING_OPERATORS = [("eq", "x"), ("ne", "x"), ("in", ["x"]), ("not_in", ["x"]), ("contains", "x")]
OPERATORS_OF = {NUMBER: NUMBER_OPERATORS, STRING: STRING_OPERATORS, ANY: NUMBER_OPERATORS + STRING_OPERATORS}
SINGLE_VALUED_FIELDS = [
    "event.platform",
    "event.tags.channel",
    "event.issued_at.weekday",
    "event.issued_at.hour",
    "order.value",
    "order.discounted_value",
    "order.payment_method",
    "order.store_id",
    "order.channel_id",
    "order.products.count",
    "product.sku",
    "product.value",
    "customer.tier_level",
    "customer.tags.segment",
    "customer.days_since_registration",
]


def _cases(fields):
    return [(f, op, value) for f in fields for op, value in OPERATORS_OF[field_spec(f).type]]


@pytest.mark.parametrize(("field", "operator", "value"), _cases(SINGLE_VALUED_FIELDS))
def test_condition_on_a_field_the_event_lacks_is_false(field, operator, value):
    # a bare event: no platform, tags, issued_at, order, product; a customer with nothing known
    facts = EventFacts(event_type="REGISTRATION", payload={}, customer={})
    assert holds(cond(field, operator, value), facts) is False


@pytest.mark.parametrize("field", SINGLE_VALUED_FIELDS)
def test_exists_tells_whether_the_event_has_the_field(field):
    bare = EventFacts(event_type="REGISTRATION", payload={}, customer={})
    assert holds(cond(field, "exists", False), bare) is True
    assert holds(cond(field, "exists", True), bare) is False
    assert holds(cond(field, "exists", True), make_facts()) is True
    assert holds(cond(field, "exists", False), make_facts()) is False


def none_facts() -> EventFacts:
    """Every field present with a null value."""
    return make_facts(
        payload={
            "platform": None,
            "tags": {"channel": None},
            "issued_at": ISSUED,
            "order": {
                "value": None,
                "discounted_value": None,
                "payment_method": None,
                "store_id": None,
                "channel_id": None,
            },
            "product": {"sku": None, "value": None},
        },
        customer={"tags": {"segment": None}, "tier_id": None, "tier_level": None, "registration_date": None},
    )


NULLABLE_FIELDS = [
    f for f in SINGLE_VALUED_FIELDS if not f.startswith("event.issued_at") and f != "order.products.count"
]


@pytest.mark.parametrize(("field", "operator", "value"), _cases(NULLABLE_FIELDS))
def test_condition_on_a_null_value_is_false(field, operator, value):
    assert holds(cond(field, operator, value), none_facts()) is False


@pytest.mark.parametrize("field", NULLABLE_FIELDS)
def test_a_null_value_does_not_exist(field):
    assert holds(cond(field, "exists", True), none_facts()) is False
    assert holds(cond(field, "exists", False), none_facts()) is True


PRODUCT_TABLE = [
    # (products, field, operator, value, expected)
    ([], "order.products.sku", "eq", "LATTE", F),
    ([], "order.products.sku", "in", ["LATTE"], F),
    ([], "order.products.sku", "contains", "L", F),
    ([], "order.products.sku", "ne", "LATTE", T),  # no product has it
    ([], "order.products.sku", "not_in", ["LATTE"], T),
    ([], "order.products.sku", "exists", True, F),
    ([], "order.products.sku", "exists", False, T),
    ([], "order.products.tags.size", "eq", "L", F),
    ([], "order.products.tags.size", "ne", "L", T),
    ([], "order.products.count", "eq", 0, T),
    ([], "order.products.count", "gt", 0, F),
    ([], "order.products.count", "lt", 1, T),
    ([], "order.products.count", "exists", True, T),
    ([{"sku": None}], "order.products.sku", "exists", True, F),
    ([{"sku": None}], "order.products.sku", "eq", "LATTE", F),
    ([{"sku": None}], "order.products.sku", "ne", "LATTE", T),
    ([{"sku": "TEA"}, {"sku": None}], "order.products.sku", "exists", True, T),
    ([{"sku": "LATTE"}, {"sku": "LATTE"}], "order.products.sku", "ne", "LATTE", F),
    ([{"sku": "LATTE"}, {"sku": "TEA"}], "order.products.sku", "not_in", ["LATTE"], F),
    ([{"sku": "TEA", "tags": {"size": None}}], "order.products.tags.size", "exists", True, F),
    ([{"sku": "TEA", "tags": {"size": None}}], "order.products.tags.size", "eq", "L", F),
    ([{"sku": "TEA"}, {"sku": "SODA", "tags": {"size": "S"}}], "order.products.tags.size", "eq", "S", T),
    ([{"sku": "A"}, {"sku": "B"}], "order.products.count", "eq", 2, T),  # 1 each when absent
    ([{"sku": "A", "amount": None}], "order.products.count", "eq", 1, T),
    ([{"sku": "A", "amount": D("0.5")}, {"sku": "B", "amount": 3}], "order.products.count", "eq", D("3.5"), T),
    ([{"sku": "A", "amount": 2}, {"sku": "B", "amount": 3}], "order.products.count", "between", [5, 5], T),
    ([{"sku": "A", "amount": 2}, {"sku": "B", "amount": 3}], "order.products.count", "gt", 5, F),
]


@pytest.mark.parametrize(("products", "field", "operator", "value", "expected"), PRODUCT_TABLE)
def test_product_conditions_look_at_any_product_and_negations_at_none(products, field, operator, value, expected):
    facts = make_facts(payload=with_order(value=D(10), products=products))
    assert holds(cond(field, operator, value), facts) is expected


@pytest.mark.parametrize(
    ("field", "operator", "value"),
    [
        ("order.products.sku", "ne", "LATTE"),
        ("order.products.tags.size", "not_in", ["L"]),
    ],
)
@pytest.mark.parametrize("payload", [{}, with_order(value=D(10))], ids=["no order", "order without products"])
def test_negated_product_condition_on_an_event_without_products_is_false(field, operator, value, payload):
    """A missing field makes its condition false (engine docstring); an order that says nothing
    about its products lacks `order.products.*` just as `order.products.count` does."""
    facts = make_facts(payload=payload)
    assert holds(cond("order.products.count", "exists", True), facts) is False
    assert holds(cond(field, operator, value), facts) is False


@pytest.mark.parametrize(
    ("time_zone", "issued_at", "weekday", "hour"),
    [
        ("UTC", datetime(2026, 3, 2, 0, 0, tzinfo=UTC), 1, 0),  # Monday midnight
        ("UTC", datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC), 7, 23),  # Sunday, last second
        ("America/Bogota", datetime(2026, 3, 2, 4, 59, 59, tzinfo=UTC), 7, 23),  # still Sunday in Bogota (UTC-5)
        ("America/Bogota", datetime(2026, 3, 2, 5, 0, tzinfo=UTC), 1, 0),  # Monday starts there
        ("Asia/Tokyo", datetime(2026, 3, 1, 15, 0, tzinfo=UTC), 1, 0),  # Sunday in UTC, Monday in Tokyo (UTC+9)
        ("Asia/Tokyo", datetime(2026, 3, 1, 14, 59, tzinfo=UTC), 7, 23),
    ],
)
def test_weekday_and_hour_are_iso_and_read_in_the_programme_time_zone(settings, time_zone, issued_at, weekday, hour):
    settings.TIME_ZONE = time_zone
    facts = make_facts(payload={"issued_at": issued_at})
    assert holds(cond("event.issued_at.weekday", "eq", weekday), facts)
    assert not holds(cond("event.issued_at.weekday", "ne", weekday), facts)
    assert holds(cond("event.issued_at.hour", "eq", hour), facts)
    assert holds(cond("event.issued_at.weekday", "between", [1, 7]), facts)
    assert holds(cond("event.issued_at.weekday", "in", [6, 7]), facts) is (weekday >= 6)


@pytest.mark.parametrize(
    ("registered_before", "days"),
    [
        (timedelta(days=30), 30),
        (timedelta(days=30) - timedelta(microseconds=1), 29),
        (timedelta(days=1), 1),
        (timedelta(hours=23, minutes=59), 0),
        (timedelta(0), 0),
    ],
)
def test_days_since_registration_counts_whole_days_before_the_event(registered_before, days):
    facts = make_facts(customer={"tags": {}, "registration_date": ISSUED - registered_before})
    assert holds(cond("customer.days_since_registration", "eq", days), facts)
    assert not holds(cond("customer.days_since_registration", "gt", days), facts)


def test_customer_without_history_has_metrics_of_zero():
    facts = make_facts(metrics={})
    assert holds(cond("customer.metrics.lifetime.number_of_purchases", "eq", 0), facts)
    assert holds(cond("customer.metrics.this_year.spend_total", "lte", 0), facts)
    assert holds(cond("customer.metrics.last_quarter.events.PURCHASE", "eq", 0), facts)
    assert not holds(cond("customer.metrics.lifetime.number_of_purchases", "gt", 0), facts)


def test_metrics_are_read_only_when_a_condition_needs_them():
    calls = []
    facts = EventFacts(
        event_type="PURCHASE",
        payload=base_payload(),
        customer=base_customer(),
        metrics=lambda: calls.append(1) or base_metrics(),
    )
    assert holds(cond("order.value", "gte", 1), facts)
    assert calls == []
    assert holds(cond("customer.metrics.lifetime.number_of_purchases", "eq", 2), facts)
    assert holds(cond("customer.metrics.this_month.number_of_purchases", "eq", 1), facts)
    assert calls == [1]  # once per event


@pytest.mark.parametrize(
    ("name", "ftype"),
    [
        ("event.type", STRING),
        ("event.platform", STRING),
        ("event.tags.promo_code", ANY),
        ("event.issued_at.weekday", NUMBER),
        ("event.issued_at.hour", NUMBER),
        ("order.value", NUMBER),
        ("order.discounted_value", NUMBER),
        ("order.payment_method", STRING),
        ("order.store_id", STRING),
        ("order.channel_id", STRING),
        ("order.products.sku", STRING),
        ("order.products.count", NUMBER),
        ("order.products.tags.category", ANY),
        ("product.sku", STRING),
        ("product.value", NUMBER),
        ("customer.tier_level", NUMBER),
        ("customer.tags.segment", ANY),
        ("customer.days_since_registration", NUMBER),
        *[
            (f"customer.metrics.{period}.{metric}", NUMBER)
            for period in (
                "lifetime",
                "this_year",
                "last_year",
                "this_quarter",
                "last_quarter",
                "this_month",
                "last_month",
            )
            for metric in ("number_of_purchases", "spend_total", "events.PURCHASE", "events.SURVEY_2")
        ],
    ],
)
def test_every_spec_field_is_known_with_its_type(name, ftype):
    spec = field_spec(name)
    assert spec is not None and spec.type == ftype


# ---- 2. groups: OR of ANDs ------------------------------------------------------------------------------


def fixed(amount, reward=REWARD, **extra) -> dict:
    return {"reward_id": reward, "kind": "FIXED", "amount": amount, **extra}


def campaign(*rules, id="c1") -> object:
    return compile_campaign(id=id, brand_id="0001", rules=[{"id": f"r{i + 1}", **r} for i, r in enumerate(rules)])


def grants_for(campaigns, facts, decimals=None) -> list[tuple]:
    grants = evaluate(campaigns, facts, decimals or {REWARD: 2, OTHER_REWARD: 0})
    return [(g.campaign_id, g.rule_id, g.reward_id, g.amount) for g in grants]


def amounts(campaigns, facts, decimals=None) -> list[Decimal]:
    return [a for *_, a in grants_for(campaigns, facts, decimals)]


BIG = cond("order.value", "gte", 100)
CREDIT = cond("order.payment_method", "eq", "CREDIT")
APP = cond("event.platform", "eq", "app")


@pytest.mark.parametrize(
    ("order_value", "payment", "platform", "matches"),
    [
        (100, "CREDIT", "web", T),  # first group: every condition holds
        (100, "CASH", "web", F),  # first group half true, second false
        (99, "CREDIT", "web", F),
        (99, "CASH", "app", T),  # second group alone
        (100, "CREDIT", "app", T),  # both groups
        (99, "CASH", "web", F),
    ],
)
def test_rule_matches_when_every_condition_of_at_least_one_group_holds(order_value, payment, platform, matches):
    rule = {"conditions": [[BIG, CREDIT], [APP]], "effects": [fixed(5)]}
    assert_valid(BIG, CREDIT, APP)
    facts = make_facts(payload={"platform": platform, "order": {"value": D(order_value), "payment_method": payment}})
    assert amounts([campaign(rule)], facts) == ([D(5)] if matches else [])


@pytest.mark.parametrize("payload", [base_payload(), {}, {"order": {}}], ids=["purchase", "bare", "empty order"])
def test_empty_conditions_match_every_event(payload):
    facts = EventFacts(event_type="REGISTRATION", payload=payload, customer={})
    assert amounts([campaign({"conditions": [], "effects": [fixed(5)]})], facts) == [D(5)]


# ---- 3. effects ------------------------------------------------------------------------------------------


def test_fixed_effect_grants_its_amount_per_event():
    result = grants_for([campaign({"conditions": [], "effects": [fixed(D("2.5"))]})], make_facts())
    assert result == [("c1", "r1", REWARD, D("2.50"))]


def per_value(amount, per=None, basis=None, reward=REWARD) -> dict:
    effect = {"reward_id": reward, "kind": "PER_VALUE", "amount": amount}
    if per is not None:
        effect["per"] = per
    if basis is not None:
        effect["basis"] = basis
    return effect


@pytest.mark.parametrize(
    ("value", "amount", "per", "decimals", "expected"),
    [
        (D("100"), 1, 10, 0, D(10)),
        (D("99.99"), 1, 10, 0, D(9)),  # whole steps only (floor)
        (D("10"), 1, 10, 0, D(1)),  # exactly one step
        (D("9.99"), 1, 10, 0, None),  # not one step: nothing
        (D("0"), 1, 10, 0, None),
        (D("120"), 1, 10, 0, D(12)),  # the SPEC section 7 example
        (D("25"), D("0.5"), D("2.5"), 1, D("5.0")),  # 10 steps of 2.5
        (D("24.99"), D("0.5"), D("2.5"), 1, D("4.5")),
        (D("7.9"), 2, None, 0, D(14)),  # per defaults to 1
        (D("1000"), D("0.0005"), 1, 2, D("0.50")),
        (D("10"), D("0.0005"), 1, 2, None),  # 0.005 rounds down to 0.00: dropped
        (D("10"), D("0.0005"), 1, 3, D("0.005")),
    ],
)
def test_per_value_grants_amount_for_every_whole_step_of_the_basis(value, amount, per, decimals, expected):
    facts = make_facts(payload=with_order(value=value))
    result = amounts([campaign({"conditions": [], "effects": [per_value(amount, per)]})], facts, {REWARD: decimals})
    assert result == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    ("basis", "expected"),
    [
        (None, D(10)),
        ("order.value", D(10)),
        ("order.discounted_value", D(5)),
    ],
)
def test_per_value_reads_the_chosen_basis(basis, expected):
    facts = make_facts(payload=with_order(value=D("100"), discounted_value=D("59.99")))
    result = amounts([campaign({"conditions": [], "effects": [per_value(1, 10, basis)]})], facts, {REWARD: 0})
    assert result == [expected]


@pytest.mark.parametrize("payload", [{}, with_order(), with_order(value=None)], ids=["no order", "no value", "null"])
def test_per_value_without_a_basis_grants_nothing(payload):
    assert amounts([campaign({"conditions": [], "effects": [per_value(1, 10)]})], make_facts(payload=payload)) == []


PRODUCTS = [
    {"sku": "LATTE", "amount": 2, "tags": {"size": "L"}},
    {"sku": "MUFFIN"},  # quantity 1
    {"sku": "LATTE", "amount": 1, "tags": {"size": "M"}},
]
SKU = "order.products.sku"


@pytest.mark.parametrize(
    ("conditions", "quantity"),
    [
        ([], 4),  # no conditions: every product
        ([[cond("order.value", "gte", 10)]], 4),  # the matching group has no product condition
        ([[cond("order.products.count", "gte", 4)]], 4),  # a count is about the order, not one product
        ([[cond(SKU, "eq", "LATTE")]], 3),
        ([[cond(SKU, "eq", "MUFFIN")]], 1),
        ([[cond(SKU, "in", ["LATTE", "MUFFIN"])]], 4),
        ([[cond(SKU, "not_in", ["TEA", "MUFFIN"])]], 0),  # the rule does not match: a muffin is there
        ([[cond(SKU, "ne", "TEA")]], 4),
        ([[cond(SKU, "contains", "LAT")]], 3),
        ([[cond(SKU, "eq", "LATTE"), cond("order.products.tags.size", "eq", "L")]], 2),  # both, on one product
        ([[cond("order.products.tags.size", "exists", True)]], 3),
        ([[cond("order.products.tags.size", "in", ["M", "S"])]], 1),
        ([[cond("order.products.tags.size", "ne", "XL")]], 4),  # the untagged muffin is not XL either
        ([[cond("order.products.tags.size", "not_in", ["S", "XL"])]], 4),
        ([[cond("order.products.tags.size", "exists", False)]], 0),  # some products have a size: no match
        ([[cond(SKU, "eq", "TEA")], [cond(SKU, "eq", "MUFFIN")]], 1),  # the group that matched
        ([[cond(SKU, "eq", "MUFFIN")], [cond(SKU, "eq", "LATTE")]], 1),  # the first group that matched
        ([[cond(SKU, "eq", "TEA")], [cond("order.value", "gte", 10)]], 4),
        ([[cond(SKU, "eq", "TEA")]], 0),
    ],
)
def test_per_product_counts_quantities_of_products_matching_the_group_that_matched(conditions, quantity):
    for group in conditions:
        assert_valid(*group)
    rule = {"conditions": conditions, "effects": [{"reward_id": REWARD, "kind": "PER_PRODUCT", "amount": D("1.5")}]}
    facts = make_facts(payload=with_order(value=D(50), products=PRODUCTS))
    assert amounts([campaign(rule)], facts, {REWARD: 1}) == ([D("1.5") * quantity] if quantity else [])


def test_per_product_with_fractional_quantities_rounds_down():
    products = [{"sku": "COFFEE_KG", "amount": D("0.75")}, {"sku": "TEA_KG", "amount": D("0.5")}]
    rule = {"conditions": [], "effects": [{"reward_id": REWARD, "kind": "PER_PRODUCT", "amount": 3}]}
    facts = make_facts(payload=with_order(value=D(50), products=products))
    assert amounts([campaign(rule)], facts, {REWARD: 0}) == [D(3)]  # 3.75 -> 3
    assert amounts([campaign(rule)], facts, {REWARD: 1}) == [D("3.7")]


@pytest.mark.parametrize(
    ("decimals", "expected"),
    [
        (0, D("1")),
        (1, D("1.9")),
        (2, D("1.99")),
        (3, D("1.999")),
        (4, D("1.9999")),
    ],
)
def test_grants_round_down_to_the_reward_decimals(decimals, expected):
    result = amounts([campaign({"conditions": [], "effects": [fixed(D("1.9999"))]})], make_facts(), {REWARD: decimals})
    assert result == [expected]
    assert result[0].as_tuple().exponent == -decimals


def test_zero_grants_are_dropped_and_the_other_effects_kept():
    rule = {"conditions": [], "effects": [fixed(D("0.4"), OTHER_REWARD), fixed(D("0.4"))]}
    assert grants_for([campaign(rule)], make_facts(), {REWARD: 2, OTHER_REWARD: 0}) == [("c1", "r1", REWARD, D("0.40"))]


@pytest.mark.parametrize(
    ("customer_tier", "granted"),
    [
        ("gold", [D(1), D(5)]),
        ("silver", [D(1)]),
        (None, [D(1)]),
    ],
)
def test_tier_limited_effect_grants_only_to_customers_in_that_tier(customer_tier, granted):
    rule = {"conditions": [], "effects": [fixed(1), fixed(5, tier_id="gold")]}
    facts = make_facts(customer={"tags": {}, "tier_id": customer_tier, "tier_level": 2})
    assert amounts([campaign(rule)], facts) == granted


def test_every_campaign_and_rule_that_fires_makes_its_own_grant():
    first = campaign(
        {"conditions": [], "effects": [fixed(1)]},
        {"conditions": [[cond("order.value", "gt", 1000)]], "effects": [fixed(2)]},  # does not match
        {
            "conditions": [[cond("order.value", "gte", 100)]],
            "effects": [fixed(3), per_value(1, 10, reward=OTHER_REWARD)],
        },
        id="c1",
    )
    second = campaign({"conditions": [], "effects": [fixed(4)]}, id="c2")
    assert grants_for([first, second], make_facts()) == [
        ("c1", "r1", REWARD, D("1.00")),
        ("c1", "r3", REWARD, D("3.00")),
        ("c1", "r3", OTHER_REWARD, D(10)),
        ("c2", "r1", REWARD, D("4.00")),
    ]


def test_grant_carries_the_effect_expiration():
    grants = evaluate(
        [campaign({"conditions": [], "effects": [fixed(1, expiration="12/months")]})], make_facts(), {REWARD: 0}
    )
    assert grants == [Grant("c1", "r1", REWARD, D(1), "12/months")]


def test_huge_grant_is_capped_at_the_maximum_amount_not_an_error():
    """amount 10^12 per unit of an order worth 10^12 are both valid; the grant is capped at
    10^12 (evaluate's own min(amount, MAX_AMOUNT)) and evaluation must not raise."""
    facts = make_facts(payload=with_order(value=MAX_AMOUNT))
    result = amounts([campaign({"conditions": [], "effects": [per_value(MAX_AMOUNT, 1)]})], facts, {REWARD: 4})
    assert result == [MAX_AMOUNT]


@pytest.mark.parametrize(
    ("start", "end", "moment", "runs"),
    [
        (ISSUED, None, ISSUED, T),  # from its start, inclusive
        (ISSUED, None, ISSUED - timedelta(microseconds=1), F),
        (ISSUED, ISSUED + timedelta(days=1), ISSUED + timedelta(days=1) - timedelta(microseconds=1), T),
        (ISSUED, ISSUED + timedelta(days=1), ISSUED + timedelta(days=1), F),  # until its end, exclusive
        (None, None, ISSUED, T),
    ],
)
def test_compiled_campaign_runs_from_its_start_until_its_end(start, end, moment, runs):
    compiled = compile_campaign(id="c1", brand_id=None, rules=[], start_date=start, end_date=end)
    assert compiled.runs_at(moment) is runs


# ---- 4. validation at save time --------------------------------------------------------------------------


GOOD_GROUP = [cond("order.value", "gte", 10)]


def errors_for_condition(condition) -> dict:
    """Validate a rule whose bad condition sits at conditions[1][0] (after a good group)."""
    return validate_rules([{"conditions": [GOOD_GROUP, [condition]], "effects": [fixed(1)]}], {REWARD}, {"gold"})


@pytest.mark.parametrize(
    ("condition", "key", "message"),
    [
        # unknown fields
        (cond("order.total", "eq", 1), "field", "unknown field"),
        (cond("event.tags.", "eq", "x"), "field", "unknown field"),
        (cond("event.tags.a.b", "eq", "x"), "field", "unknown field"),
        (cond("order.products.tags.", "eq", "x"), "field", "unknown field"),
        (cond("order.products", "exists", True), "field", "unknown field"),
        (cond("product.name", "eq", "x"), "field", "unknown field"),
        (cond("customer.metrics.forever.spend_total", "gt", 1), "field", "unknown field"),
        (cond("customer.metrics.lifetime.last_visit", "exists", True), "field", "unknown field"),
        (cond("customer.metrics.lifetime.events.purchase", "gt", 1), "field", "unknown field"),
        (cond("customer.metrics.lifetime", "gt", 1), "field", "unknown field"),
        (cond(42, "eq", 1), "field", "unknown field"),
        # unknown operators
        (cond("order.value", "equals", 1), "operator", "unknown operator"),
        (cond("order.value", "GTE", 1), "operator", "unknown operator"),
        pytest.param(cond("order.value", ["eq"], 1), "operator", "unknown operator", id="operator-is-a-list"),
        # wrong value types
        (cond("order.value", "eq", "10"), "value", "must be a number"),
        (cond("order.value", "gt", True), "value", "must be a number"),
        (cond("customer.metrics.lifetime.spend_total", "lte", "100"), "value", "must be a number"),
        (cond("event.issued_at.hour", "eq", None), "value", "single value"),
        (cond("order.payment_method", "eq", 1), "value", "must be a string"),
        (cond("event.type", "ne", True), "value", "must be a string"),
        (cond("product.sku", "contains", 5), "value", "must be a string"),
        (cond("order.store_id", "eq", ["S-1"]), "value", "single value"),
        (cond("event.tags.channel", "eq", {"a": 1}), "value", "single value"),
        (cond("order.value", "in", 10), "value", "non-empty list"),
        (cond("order.payment_method", "not_in", "CASH"), "value", "non-empty list"),
        (cond("order.payment_method", "in", []), "value", "non-empty list"),
        (cond("order.value", "in", list(range(1001))), "value", "at most 1000"),
        (cond("order.value", "in", [1, "2"]), "value", "must be a number"),
        (cond("order.payment_method", "in", ["CASH", 2]), "value", "must be a string"),
        (cond("order.value", "between", 10), "value", "[low, high]"),
        (cond("order.value", "between", [10]), "value", "[low, high]"),
        (cond("order.value", "between", [1, 2, 3]), "value", "[low, high]"),
        (cond("order.value", "between", ["1", "2"]), "value", "[low, high]"),
        (cond("order.value", "between", [None, 2]), "value", "[low, high]"),
        (cond("order.value", "between", [20, 10]), "value", "low <= high"),
        (cond("order.store_id", "between", [1, 2]), "value", "number field"),
        (cond("order.value", "exists", "yes"), "value", "true or false"),
        (cond("order.value", "exists", 1), "value", "true or false"),
        (cond("order.payment_method", "gt", "A"), "value", "needs a number field"),
        (cond("product.sku", "lte", "Z"), "value", "needs a number field"),
        (cond("event.tags.visits", "gte", "3"), "value", "needs a number"),
        (cond("order.value", "contains", 1), "value", "text or tag field"),
        (cond("customer.tier_level", "contains", "1"), "value", "text or tag field"),
        (cond("order.store_id", "eq", "x" * 256), "value", "longer than 255"),
    ],
)
def test_bad_condition_is_refused_at_its_exact_path(condition, key, message):
    errors = errors_for_condition(condition)
    assert set(errors) == {f"rules[0].conditions[1][0].{key}"}, errors
    assert message in errors[f"rules[0].conditions[1][0].{key}"]


@pytest.mark.parametrize(
    "condition",
    [
        cond("order.value", "eq", 10),
        cond("order.value", "gt", 10.5),
        cond("order.value", "lte", D("10.25")),
        cond("order.value", "between", [10, 10]),
        cond("order.value", "in", list(range(1000))),
        cond("order.store_id", "eq", "x" * 255),
        cond("order.payment_method", "in", ["CASH", "DEBIT"]),
        cond("event.tags.channel", "eq", "app"),
        cond("event.tags.visits", "gt", 2),
        cond("event.tags.vip", "eq", True),
        cond("event.tags.visits", "between", [1, 2]),
        cond("customer.tags.interests", "contains", "coffee"),
        cond("order.value", "exists", False),
        cond("order.products.sku", "exists", True),
        cond("customer.metrics.last_month.events.SURVEY", "gte", 1),
    ],
)
def test_good_condition_is_accepted(condition):
    assert errors_for_condition(condition) == {}


@pytest.mark.parametrize(
    ("ftype", "operator", "value", "refused"),
    [
        (NUMBER, "eq", 1, F),
        (NUMBER, "eq", "1", T),
        (NUMBER, "eq", True, T),
        (NUMBER, "eq", [1], T),
        (NUMBER, "contains", 1, T),
        (NUMBER, "between", [1, 2], F),
        (NUMBER, "between", [2, 1], T),
        (NUMBER, "exists", True, F),
        (NUMBER, "exists", None, T),
        (STRING, "eq", "a", F),
        (STRING, "eq", 1, T),
        (STRING, "gt", "a", T),
        (STRING, "between", [1, 2], T),
        (STRING, "contains", "a", F),
        (STRING, "in", ["a"], F),
        (STRING, "in", "a", T),
        (ANY, "eq", "a", F),
        (ANY, "eq", 1, F),
        (ANY, "eq", True, F),
        (ANY, "gt", 1, F),
        (ANY, "gt", "a", T),
        (ANY, "contains", 1, F),
        (ANY, "between", [1, 2], F),
        (ANY, "in", [1, "a", True], F),
    ],
)
def test_condition_problem_by_field_type(ftype, operator, value, refused):
    assert (condition_problem(ftype, operator, value) is not None) is refused


def effect_errors(effect) -> dict:
    return validate_rules([{"conditions": [], "effects": [fixed(1), effect]}], {REWARD}, {"gold"})


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"reward_id": "unknown"}, "reward_id"),
        ({"reward_id": None}, "reward_id"),
        ({"tier_id": "bronze"}, "tier_id"),
        ({"kind": "BONUS"}, "kind"),
        ({"expiration": "30/weeks"}, "expiration"),
        ({"expiration": "0/days"}, "expiration"),
        ({"expiration": "12 months"}, "expiration"),
        ({"expiration": "-1/days"}, "expiration"),
        ({"expiration": 30}, "expiration"),
        ({"amount": 0}, "amount"),
        ({"amount": -1}, "amount"),
        ({"amount": MAX_AMOUNT + 1}, "amount"),
        ({"amount": D("0.00001")}, "amount"),  # 5 decimals
        ({"amount": D("1.00005")}, "amount"),
        ({"amount": "5"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": None}, "amount"),
        ({"basis": "order.value"}, "basis"),  # on a FIXED effect
        pytest.param({"per": 10}, "per", id="per-on-FIXED"),
    ],
)
def test_bad_effect_is_refused_at_its_exact_path(overrides, key):
    errors = effect_errors({**fixed(1), **overrides})
    assert set(errors) == {f"rules[0].effects[1].{key}"}, errors


@pytest.mark.parametrize(
    ("effect", "key"),
    [
        ({"reward_id": REWARD, "kind": "PER_PRODUCT", "amount": 1, "basis": "order.value"}, "basis"),
        pytest.param(
            {"reward_id": REWARD, "kind": "PER_PRODUCT", "amount": 1, "per": 2}, "per", id="per-on-PER_PRODUCT"
        ),
        (per_value(1, 0), "per"),
        (per_value(1, -10), "per"),
        (per_value(1, D("0.00001")), "per"),
        (per_value(1, 10, "order.total"), "basis"),
        (per_value(1, 10, "order.products.count"), "basis"),
    ],
)
def test_basis_and_per_apply_to_per_value_effects_only(effect, key):
    errors = effect_errors(effect)
    assert set(errors) == {f"rules[0].effects[1].{key}"}, errors


@pytest.mark.parametrize(
    "effect",
    [
        fixed(1),
        fixed(MAX_AMOUNT),
        fixed(D("0.0001")),
        fixed(1, expiration="30/days"),
        fixed(1, expiration="12/months"),
        fixed(1, expiration="1/years"),
        fixed(1, expiration=None),
        fixed(1, tier_id="gold"),
        per_value(1, 10),
        per_value(1, 10, "order.discounted_value"),
        per_value(1),
        {"reward_id": REWARD, "kind": "PER_PRODUCT", "amount": D("0.5")},
    ],
)
def test_good_effect_is_accepted(effect):
    assert effect_errors(effect) == {}


def test_tier_limited_effect_is_refused_when_no_tier_is_known():
    rules = [{"conditions": [], "effects": [fixed(1, tier_id="gold")]}]
    assert set(validate_rules(rules, {REWARD})) == {"rules[0].effects[0].tier_id"}


@pytest.mark.parametrize(
    ("rules", "keys"),
    [
        ({"conditions": []}, {"rules"}),
        ([{"conditions": []}], {"rules[0].effects"}),
        ([{"conditions": [], "effects": []}], {"rules[0].effects"}),
        ([{"conditions": [[]], "effects": [fixed(1)]}], {"rules[0].conditions"}),
        ([{"conditions": [GOOD_GROUP[0]], "effects": [fixed(1)]}], {"rules[0].conditions"}),  # a condition, not a group
        (
            [{"conditions": [[{"field": "order.value", "operator": "eq"}]], "effects": [fixed(1)]}],
            {"rules[0].conditions[0][0]"},
        ),
        ([{"conditions": [], "effects": [fixed(1)], "when": "always"}], {"rules[0]"}),
        ([{"conditions": [], "effects": [{**fixed(1), "amout": 1}]}], {"rules[0].effects[0]"}),
        ([{"id": "", "conditions": [], "effects": [fixed(1)]}], {"rules[0].id"}),
        (
            [
                {"conditions": [], "effects": [fixed(1)]},
                {"conditions": [GOOD_GROUP, [GOOD_GROUP[0], cond("order.value", "gt", "x")]], "effects": [fixed(0)]},
            ],
            {"rules[1].conditions[1][1].value", "rules[1].effects[0].amount"},
        ),
    ],
)
def test_rule_structure_errors_name_their_place(rules, keys):
    assert set(validate_rules(rules, {REWARD}, set())) == keys


# ---- 5. end to end through event_emit --------------------------------------------------------------------


def granted_by_campaign(event) -> dict:
    """{campaign id: amount} of the wallet lines the event credited."""
    from wallets.models import WalletLine

    out: dict = {}
    for campaign_id, amount in WalletLine.objects.filter(event_id=event.pk).values_list("campaign_id", "amount"):
        out[str(campaign_id)] = out.get(str(campaign_id), D(0)) + amount
    return out


@pytest.mark.django_db
def test_customer_fields_are_read_as_they_stood_before_the_event(brand, stars, customer):
    from tests.factories import CampaignFactory, fixed_rule
    from tests.helpers import emit

    def on(field, operator, value, amount):
        return CampaignFactory(
            brand=brand, rules=[fixed_rule(stars, amount=amount, conditions=[[cond(field, operator, value)]])]
        )

    third = on("customer.metrics.lifetime.number_of_purchases", "eq", 2, 10)
    spent = on("customer.metrics.lifetime.spend_total", "gte", 150, 1)
    first = on("customer.metrics.lifetime.events.PURCHASE", "eq", 0, 5)
    a, b, c = str(third.pk), str(spent.pk), str(first.pk)

    events = [emit(customer, brand, value=v) for v in (100, 50, 1, 1)]

    assert [granted_by_campaign(e) for e in events] == [
        {c: D(5)},  # first purchase: nothing before it
        {},  # second: 1 purchase, spend 100 before it (150 only after)
        {a: D(10), b: D(1)},  # third: 2 purchases and 150 spent before it
        {b: D(1)},
    ]
    assert sorted(events[2].rewarding_campaigns, key=lambda x: x["campaign_id"]) == sorted(
        [{"campaign_id": a, "rule_id": "rule-1"}, {"campaign_id": b, "rule_id": "rule-1"}],
        key=lambda x: x["campaign_id"],
    )


@pytest.mark.django_db
def test_campaign_edits_are_seen_by_the_very_next_emit(brand, stars, customer):
    from campaigns.models import Campaign
    from campaigns.services import campaign_create, campaign_update
    from tests.factories import fixed_rule
    from tests.helpers import emit

    now = timezone.now()
    draft = campaign_create(
        brand_id=brand.pk,
        name="draft",
        trigger="PURCHASE",
        start_date=now - timedelta(days=1),
        status=Campaign.Status.INACTIVE,
        rules=[fixed_rule(stars, amount=5)],
    )
    assert granted_by_campaign(emit(customer, brand, value=10)) == {}  # compiled and cached: nothing runs

    campaign_update(campaign_id=draft.pk, rules=[fixed_rule(stars, amount=8)], status=Campaign.Status.ACTIVE)
    assert granted_by_campaign(emit(customer, brand, value=10)) == {str(draft.pk): D(8)}

    extra = campaign_create(
        brand_id=brand.pk,
        name="extra",
        trigger="PURCHASE",
        start_date=now - timedelta(days=1),
        rules=[fixed_rule(stars, amount=3)],
    )
    assert granted_by_campaign(emit(customer, brand, value=10)) == {str(draft.pk): D(8), str(extra.pk): D(3)}

    campaign_update(campaign_id=draft.pk, status=Campaign.Status.INACTIVE)
    assert granted_by_campaign(emit(customer, brand, value=10)) == {str(extra.pk): D(3)}


@pytest.mark.django_db
def test_moving_a_scheduled_campaign_start_and_rules_is_seen_by_the_next_emit(brand, stars, customer):
    from campaigns.services import campaign_create, campaign_update
    from tests.factories import fixed_rule
    from tests.helpers import emit

    now = timezone.now()
    scheduled = campaign_create(
        brand_id=brand.pk,
        name="soon",
        trigger="PURCHASE",
        start_date=now + timedelta(days=1),
        rules=[fixed_rule(stars, amount=5)],
    )
    assert granted_by_campaign(emit(customer, brand, value=10)) == {}  # not started yet

    campaign_update(campaign_id=scheduled.pk, start_date=now - timedelta(hours=1), rules=[fixed_rule(stars, amount=7)])
    assert granted_by_campaign(emit(customer, brand, value=10)) == {str(scheduled.pk): D(7)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("issued_offset", "status", "fires"),
    [
        (timedelta(hours=-10, microseconds=-1), "ACTIVE", F),  # just before start_date
        (timedelta(hours=-10), "ACTIVE", T),  # at start_date
        (timedelta(hours=-5), "ACTIVE", T),
        (timedelta(hours=-2, microseconds=-1), "ACTIVE", T),  # just before end_date
        (timedelta(hours=-2), "ACTIVE", F),  # at end_date
        (timedelta(hours=-1), "ACTIVE", F),  # after end_date
        (timedelta(hours=-5), "INACTIVE", F),  # inside the window but not ACTIVE
    ],
)
def test_campaign_fires_only_inside_its_window_while_active(brand, stars, customer, issued_offset, status, fires):
    from tests.factories import CampaignFactory, fixed_rule
    from tests.helpers import emit

    now = timezone.now()
    windowed = CampaignFactory(
        brand=brand,
        status=status,
        start_date=now - timedelta(hours=10),
        end_date=now - timedelta(hours=2),
        rules=[fixed_rule(stars, amount=4)],
    )
    open_ended = CampaignFactory(brand=brand, start_date=now - timedelta(days=2), rules=[fixed_rule(stars, amount=1)])

    event = emit(customer, brand, value=10, issued_at=now + issued_offset)

    expected = {str(open_ended.pk): D(1)}
    if fires:
        expected[str(windowed.pk)] = D(4)
    assert granted_by_campaign(event) == expected
