"""OpenAPI documentation of the programme set-up endpoints and GET /auth/authorize
(drf-spectacular). Documentation only: the output serializers describe the dicts built by
campaigns.api (brand_out, reward_out, tier_out, event_type_out, campaign_out), and the serializer
extensions spell out the JSON the input serializers take as free-form fields (campaign `rules` and
`limit`, reward `conditions` and `attributes`, tier `entry_conditions`) as campaigns.services and
campaigns.engine validate them. ApiKeyScheme describes campaigns.auth.ApiKeyAuthentication (the
bearer and x-api-key security schemes). Nothing here runs on a request."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers

from campaigns.engine import BASES, EFFECT_KINDS, EXPIRATION_RE, OPERATORS
from campaigns.models import Campaign, Reward
from campaigns.redemption import PLACES
from campaigns.services import LIMIT_PERIODS
from core.schema import (
    DECIMAL_STRING,
    RANGE_PARAMETERS,
    RESPONSE_HEADERS,
    JSONObject,
    Number,
    amount_schema,
    data_of,
    errors,
    idempotency_headers,
    range_list_of,
    strict_object,
)
from core.serializers import MAX_AMOUNT

# ---- credentials ---------------------------------------------------------------------------------------------


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """campaigns.auth.ApiKeyAuthentication: a key (or a one-hour token) as a bearer credential,
    or the key in `x-api-key`. Either one is enough (OR)."""

    target_class = "campaigns.auth.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"apiKeyAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer",
             "description": "`Authorization: Bearer <API key>` (keys start with `lk_`), or a one-hour token "
                            "from `GET /api/v1/auth/authorize`."},
            {"type": "apiKey", "in": "header", "name": "x-api-key",
             "description": "`x-api-key: <API key>`. Keys are created by an operator (admin or "
                            "`manage.py create_api_key`) and shown once."},
        ]


# ---- the JSON inside campaigns, rewards and tiers ------------------------------------------------------

CONDITION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["field", "operator", "value"],
    "properties": {
        "field": {"type": "string", "description": "A dotted path: `order.value`, `event.tags.<key>`, "
                                                   "`customer.metrics.<period>.<metric>`, ... (SPEC section 4). "
                                                   "Tiers use `customer.*` fields only."},
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
        "reward_id": {"type": "string", "format": "uuid", "description": "A reward of the campaign's brand, or global."},
        "kind": {"type": "string", "enum": list(EFFECT_KINDS)},
        "amount": {**_POSITIVE_NUMBER, "description": "Granted per event (FIXED), per `per` units of `basis` "
                                                      "(PER_VALUE) or per matching product unit (PER_PRODUCT); "
                                                      "at most 4 decimal places."},
        "basis": {"type": "string", "enum": list(BASES), "nullable": True,
                  "description": "PER_VALUE only; default `order.value`."},
        "per": {**_POSITIVE_NUMBER, "nullable": True, "description": "PER_VALUE only; default 1."},
        "tier_id": {"type": "string", "format": "uuid", "nullable": True,
                    "description": "Limit the effect to customers in this tier."},
        "expiration": {"type": "string", "pattern": EXPIRATION_RE.pattern, "nullable": True,
                       "description": 'Relative: "30/days", "12/months", "1/years"; null = never.'},
    },
}
RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["effects"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64,
               "description": "Unique within the campaign; generated when absent."},
        "conditions": CONDITION_GROUPS,
        "effects": {"type": "array", "minItems": 1, "items": EFFECT},
    },
}
RULES = {"type": "array", "maxItems": 100, "items": RULE}
LIMIT = {
    "type": "object",
    "nullable": True,
    "additionalProperties": False,
    "required": ["count", "period"],
    "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                   "period": {"type": "string", "enum": list(LIMIT_PERIODS)}},
    "description": "At most `count` rewarded events per customer per `period`; null = no limit.",
}
_NON_NEGATIVE = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DECIMAL_STRING}]}
REWARD_CONDITIONS = {
    "type": "object",
    "additionalProperties": False,
    "description": "Checked when the reward is redeemed inside an order (top-level `redeem` skips them).",
    "properties": {
        "applies_to": {"type": "array", "minItems": 1, "nullable": True,
                       "items": {"type": "string", "enum": list(PLACES)},
                       "description": "Where it may be redeemed; required for DISCOUNT."},
        "min_order_value": {**_NON_NEGATIVE, "description": "The order's value must be at least this."},
        "skus": {"type": "array", "items": {"type": "string"}, "nullable": True,
                 "description": "Product-level redemption only on these SKUs."},
        "max_amount": {**_NON_NEGATIVE, "description": "At most this much per redemption."},
    },
}
REWARD_ATTRIBUTES = {
    "type": "object",
    "additionalProperties": {},
    "properties": {"conversion_factor": {**amount_schema(nullable=True),
                                         "description": "Money value of one unit of the reward."}},
}


def _with(auto_schema, serializer, direction, **properties) -> dict:
    schema = strict_object(auto_schema, serializer, direction)
    for name, value in properties.items():
        if name in schema.get("properties", {}):
            schema["properties"][name] = value
    return schema


class CampaignInScheme(OpenApiSerializerExtension):
    target_class = "campaigns.api.CampaignIn"  # and CampaignPatch
    match_subclasses = True
    priority = 1

    def map_serializer(self, auto_schema, direction):
        return _with(auto_schema, self.target, direction, rules=RULES, limit=LIMIT)


class RewardInScheme(OpenApiSerializerExtension):
    target_class = "campaigns.api.RewardIn"  # and RewardPatch
    match_subclasses = True
    priority = 1

    def map_serializer(self, auto_schema, direction):
        return _with(auto_schema, self.target, direction, conditions=REWARD_CONDITIONS, attributes=REWARD_ATTRIBUTES)


class TierInScheme(OpenApiSerializerExtension):
    target_class = "campaigns.api.TierIn"  # and TierPatch
    match_subclasses = True
    priority = 1

    def map_serializer(self, auto_schema, direction):
        return _with(auto_schema, self.target, direction,
                     entry_conditions={**CONDITION_GROUPS, "description": "customer.* conditions a customer "
                                                                           "must meet to enter the tier."})


# ---- outputs ---------------------------------------------------------------------------------------------------


class BrandOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()


class RewardOut(serializers.Serializer):
    id = serializers.UUIDField()
    brand_id = serializers.CharField(allow_null=True, help_text="null: a global reward.")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Reward.Type.choices)
    decimals = serializers.IntegerField(min_value=0, max_value=4)
    conditions = JSONObject()
    attributes = JSONObject()
    created_at = serializers.DateTimeField()


@extend_schema_field({**CONDITION_GROUPS, "items": {"type": "array", "items": {"type": "object"}}})
class ConditionGroupsOut(serializers.Field):
    pass


class TierOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    level = serializers.IntegerField(min_value=1, max_value=10)
    entry_conditions = ConditionGroupsOut()
    base = serializers.BooleanField(help_text="The level-1 tier every customer starts in.")
    created_at = serializers.DateTimeField()


class EventTypeOut(serializers.Serializer):
    name = serializers.CharField()
    tracking_only = serializers.BooleanField(help_text="Stored, never touches wallets.")
    built_in = serializers.BooleanField()


@extend_schema_field({"type": "array", "items": {
    "type": "object", "required": ["id", "effects"],
    "properties": {"id": {"type": "string"},
                   "conditions": {"type": "array", "items": {"type": "array"}, "description": "Absent: []."},
                   "effects": {"type": "array", "items": {"type": "object"}}},
}})
class RulesOut(serializers.Field):
    pass


@extend_schema_field({**LIMIT, "additionalProperties": {}})
class LimitOut(serializers.Field):
    pass


class CampaignOut(serializers.Serializer):
    id = serializers.UUIDField()
    brand_id = serializers.CharField(allow_null=True, help_text="null: a global campaign.")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Campaign.Type.choices)
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    derived_status = serializers.ChoiceField(choices=["RUNNING", "PAUSED", "SCHEDULED", "FINISHED"])
    frozen = serializers.BooleanField(help_text="Started: rules, trigger, brand and start can no longer change.")
    trigger = serializers.CharField(help_text="The event type.")
    start_date = serializers.DateTimeField()
    end_date = serializers.DateTimeField(allow_null=True)
    budget = Number(allow_null=True)
    budget_used = Number()
    budget_remaining = Number(allow_null=True)
    limit = LimitOut(allow_null=True)
    rules = RulesOut()
    created_at = serializers.DateTimeField()


class TokenOut(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`.")
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds.")


# ---- operations --------------------------------------------------------------------------------------------------

ERROR_409 = "Conflict with the current state."



def crud_views(*, thing: str, output, create, patch, filters_note: str = "", e409_create: str = "",
               e409_patch: str = "", e409_delete: str = "in use (`in_use`)", create_404: bool = False,
               patch_409: bool = False) -> dict:
    """extend_schema_view kwargs for a campaigns.api._Crud viewset."""
    envelope = data_of(output)
    a = "an" if thing[0] in "aeiou" else "a"
    create_errors = (400, 403, 409, 415, *((404,) if create_404 else ()))
    patch_errors = (400, 403, 404, 415, *((409,) if patch_409 else ()))
    return {
        "list": extend_schema(
            summary=f"List {thing}s", description=filters_note or None,
            parameters=[*RANGE_PARAMETERS, *RESPONSE_HEADERS],
            responses={200: OpenApiResponse(range_list_of(output), description=f"A page of {thing}s."),
                       **errors(400)},
        ),
        "retrieve": extend_schema(summary=f"Read {a} {thing}", parameters=RESPONSE_HEADERS,
                                  responses={200: OpenApiResponse(envelope, description=f"The {thing}."),
                                             **errors(404)}),
        "create": extend_schema(
            summary=f"Create {a} {thing}", request=create,
            parameters=[*idempotency_headers(201), *RESPONSE_HEADERS],
            responses={201: OpenApiResponse(envelope, description=f"The new {thing}."), **errors(*create_errors, e409=f"{e409_create}`idempotency_conflict`.",
                                                e404="Unknown brand (`brand_not_found`).")},
        ),
        "partial_update": extend_schema(
            summary=f"Change {a} {thing}", request=patch, parameters=RESPONSE_HEADERS,
            responses={200: OpenApiResponse(envelope, description=f"The {thing} as changed."), **errors(*patch_errors, e409=e409_patch or ERROR_409)},
        ),
        "destroy": extend_schema(
            summary=f"Delete {a} {thing}", parameters=RESPONSE_HEADERS,
            responses={204: OpenApiResponse(description="Deleted."), **errors(403, 404, 409, e409=e409_delete)},
        ),
    }



def brand_views(*, create, patch) -> dict:
    return crud_views(thing="brand", output=BrandOut, create=create, patch=patch,
                      e409_create="`brand_exists`, or ",
                      e409_delete="`in_use`: rewards, campaigns, events or ledger rows refer to the brand.")


def reward_views(*, create, patch) -> dict:
    return crud_views(thing="reward", output=RewardOut, create=create, patch=patch, create_404=True,
                      filters_note="Filter by `brand_id` and `type`.",
                      e409_delete="`in_use`: a campaign grants it, or wallets hold it.")


def tier_views(*, create, patch) -> dict:
    return crud_views(thing="tier", output=TierOut, create=create, patch=patch, patch_409=True,
                      e409_create="`tier_level_taken`, or ", e409_patch="`tier_level_taken`.",
                      e409_delete="`in_use`: the base tier, a tier a campaign effect is limited to, or one "
                                  "customers are in.")


def event_type_views(*, create, patch) -> dict:
    return crud_views(thing="event type", output=EventTypeOut, create=create, patch=patch,
                      filters_note="Filter by `tracking_only`.", e409_create="`event_type_exists`, or ",
                      e409_delete="`in_use`: a built-in type, or one that events or campaigns use.")


def campaign_views(*, create, patch) -> dict:
    return crud_views(thing="campaign", output=CampaignOut, create=create, patch=patch, create_404=True,
                      patch_409=True,
                      filters_note="Filter by `brand_id`, `type`, `trigger` and `status` (ACTIVE, INACTIVE, or "
                                   "the derived RUNNING, PAUSED, SCHEDULED, FINISHED).",
                      e409_patch="`campaign_frozen`: the campaign has started; its rules, trigger, brand, type "
                                 "and start are frozen (copy it instead).",
                      e409_delete="`in_use`: the campaign has started, or granted rewards.")


def campaign_copy(*, request) -> extend_schema:
    return extend_schema(
        summary="Copy a campaign",
        description="An INACTIVE, editable copy of the campaign (its rules may be changed until it starts).",
        request=request, parameters=[*idempotency_headers(201), *RESPONSE_HEADERS],
        responses={201: OpenApiResponse(data_of(CampaignOut), description="The copy."), **errors(400, 403, 404, 409, 415, e409="`idempotency_conflict`.")},
    )


AUTHORIZE = extend_schema(
    summary="Exchange an API key for a one-hour token",
    description="Masivo parity: send the key (`x-api-key` or `Authorization: Bearer <key>`); a token cannot "
                "renew itself (401). Throttled per client (429).",
    parameters=RESPONSE_HEADERS,
    responses={200: OpenApiResponse(data_of(TokenOut), description="A bearer token."), **errors(429)},
)

