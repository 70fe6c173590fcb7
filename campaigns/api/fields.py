"""The JSON the programme stores in free-form columns (campaign `rules` and `limit`, reward
`conditions` and `attributes`, tier `entry_conditions`), as fields that describe themselves: the
same field reads the request (any JSON value; campaigns.services and campaigns.engine validate
it) and renders the response, and its OpenAPI schema spells out what is valid."""

from drf_spectacular.utils import extend_schema_field

from campaigns.engine import BASES, EFFECT_KINDS, EXPIRATION_RE, OPERATORS
from campaigns.redemption import PLACES
from campaigns.services import LIMIT_PERIODS
from core.amounts import MAX_AMOUNT, MAX_CONVERSION_FACTOR
from core.schema import DECIMAL_STRING, amount_schema
from core.serializers import JSONObjectField, JSONValueField

CONDITION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["field", "operator", "value"],
    "properties": {
        "field": {
            "type": "string",
            "description": "A dotted path: `order.value`, `event.tags.<key>`, "
            "`customer.metrics.<period>.<metric>`, ... (SPEC section 4). "
            "Tiers use `customer.*` fields only.",
        },
        "operator": {"type": "string", "enum": [*OPERATORS, "exists"]},
        "value": {"description": "Of the field's type; a list for `in`/`not_in`, [low, high] for `between`."},
    },
}
CONDITION_GROUPS = {
    "type": "array",
    "items": {"type": "array", "minItems": 1, "items": CONDITION},
    "description": "OR of ANDs: the rule matches when every condition of at least one group holds. "
    "An empty list matches every event.",
}
_POSITIVE_NUMBER = {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": int(MAX_AMOUNT)}
EFFECT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reward_id", "kind", "amount"],
    "properties": {
        "reward_id": {
            "type": "string",
            "format": "uuid",
            "description": "A reward of the campaign's brand, or global.",
        },
        "kind": {"type": "string", "enum": list(EFFECT_KINDS)},
        "amount": {
            **_POSITIVE_NUMBER,
            "description": "Granted per event (FIXED), per `per` units of `basis` "
            "(PER_VALUE) or per matching product unit (PER_PRODUCT); "
            "at most 4 decimal places.",
        },
        "basis": {
            "type": "string",
            "enum": list(BASES),
            "nullable": True,
            "description": "PER_VALUE only; default `order.value`.",
        },
        "per": {**_POSITIVE_NUMBER, "nullable": True, "description": "PER_VALUE only; default 1."},
        "tier_id": {
            "type": "string",
            "format": "uuid",
            "nullable": True,
            "description": "Limit the effect to customers in this tier.",
        },
        "expiration": {
            "type": "string",
            "pattern": EXPIRATION_RE.pattern,
            "nullable": True,
            "description": 'Relative: "30/days", "12/months", "1/years"; null = never. '
            "At most 100 years, 1200 months or 36500 days.",
        },
    },
}
RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["effects"],
    "properties": {
        "id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "Unique within the campaign; generated when absent.",
        },
        "conditions": CONDITION_GROUPS,
        "effects": {"type": "array", "minItems": 1, "items": EFFECT},
        "requirement": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "description": "COUPONS campaigns: what a redemption that does not meet the conditions answers "
            'as `requirement` (default "Condition was not met").',
        },
    },
}
RULES = {"type": "array", "maxItems": 100, "items": RULE}
LIMIT = {
    "type": "object",
    "nullable": True,
    "additionalProperties": False,
    "required": ["count", "period"],
    "properties": {
        "count": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        "period": {"type": "string", "enum": list(LIMIT_PERIODS)},
    },
    "description": "At most `count` rewarded events per customer per `period`; null = no limit.",
}
_NON_NEGATIVE = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DECIMAL_STRING}]}
REWARD_CONDITIONS = {
    "type": "object",
    "additionalProperties": False,
    "description": "Checked when the reward is redeemed inside an order (top-level `redeem` skips them).",
    "properties": {
        "applies_to": {
            "type": "array",
            "minItems": 1,
            "nullable": True,
            "items": {"type": "string", "enum": list(PLACES)},
            "description": "Where it may be redeemed; required for DISCOUNT.",
        },
        "min_order_value": {**_NON_NEGATIVE, "description": "The order's value must be at least this."},
        "skus": {
            "type": "array",
            "items": {"type": "string"},
            "nullable": True,
            "description": "Product-level redemption only on these SKUs.",
        },
        "max_amount": {**_NON_NEGATIVE, "description": "At most this much per redemption."},
    },
}
REWARD_ATTRIBUTES = {
    "type": "object",
    "additionalProperties": {},
    "properties": {
        "conversion_factor": {
            **amount_schema(nullable=True),
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": int(MAX_CONVERSION_FACTOR)},
                {"type": "string", "pattern": DECIMAL_STRING, "maxLength": 1000},
            ],
            "description": "Money value of one unit of the reward: >= 0, at most 1000, with at most 4 decimals "
            "(core.amounts.MAX_CONVERSION_FACTOR: the cost of the largest amount fits the cost column).",
        }
    },
}


@extend_schema_field(RULES)
class RulesField(JSONValueField):
    """A campaign's rules."""

    exact = True  # its numbers are amounts: Decimals to the column and back (issue 15, item 6)


@extend_schema_field(LIMIT)
class LimitField(JSONValueField):
    """A campaign's per-customer limit."""


@extend_schema_field(
    {**CONDITION_GROUPS, "description": "customer.* conditions a customer must meet to enter the tier."}
)
class EntryConditionsField(JSONValueField):
    """A tier's entry conditions."""

    exact = True  # its numbers are amounts: Decimals to the column and back (issue 15, item 6)


@extend_schema_field(REWARD_CONDITIONS)
class RewardConditionsField(JSONObjectField):
    """Where and how a reward may be redeemed."""

    exact = True  # its numbers are amounts: Decimals to the column and back (issue 15, item 6)


@extend_schema_field(REWARD_ATTRIBUTES)
class RewardAttributesField(JSONObjectField):
    """A reward's attributes."""
