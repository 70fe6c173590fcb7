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

Modules, one job each (import from this package; the names below are its interface):
- facts.py: `EventFacts` (one event, its customer built by `customer_facts`) and the condition
  fields (`field_spec`, `STATIC_FIELDS`, `METRIC_PERIODS`, `METRICS`);
- conditions.py: the operators, `compile_condition`, `compile_product_filter`;
- evaluate.py: effects, `compile_campaign`, `evaluate` into `Grant`s, `expiration_date`;
- validation.py: `validate_rules`, `validate_conditions`, `condition_problem` (save time).
"""

from campaigns.engine.conditions import NEGATIVE, OPERATORS, ORDERED, compile_condition, compile_product_filter
from campaigns.engine.evaluate import (
    BASES,
    EXPIRATION_RE,
    CompiledCampaign,
    CompiledEffect,
    CompiledRule,
    Grant,
    compile_campaign,
    evaluate,
    expiration_date,
)
from campaigns.engine.facts import (
    ANY,
    METRIC_PERIODS,
    METRICS,
    MISSING,
    NUMBER,
    STATIC_FIELDS,
    STRING,
    EventFacts,
    FieldSpec,
    customer_facts,
    field_spec,
)
from campaigns.engine.validation import (
    EFFECT_KEYS,
    EFFECT_KINDS,
    condition_problem,
    validate_conditions,
    validate_rules,
)
from core.amounts import MAX_AMOUNT

__all__ = [
    "ANY",
    "BASES",
    "EFFECT_KEYS",
    "EFFECT_KINDS",
    "EXPIRATION_RE",
    "MAX_AMOUNT",
    "METRICS",
    "METRIC_PERIODS",
    "MISSING",
    "NEGATIVE",
    "NUMBER",
    "OPERATORS",
    "ORDERED",
    "STATIC_FIELDS",
    "STRING",
    "CompiledCampaign",
    "CompiledEffect",
    "CompiledRule",
    "EventFacts",
    "FieldSpec",
    "Grant",
    "compile_campaign",
    "compile_condition",
    "compile_product_filter",
    "condition_problem",
    "customer_facts",
    "evaluate",
    "expiration_date",
    "field_spec",
    "validate_conditions",
    "validate_rules",
]
