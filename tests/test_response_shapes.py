"""Every response keeps the shape its output serializer documents, and those shapes are pinned.

Two checks, which together mean no response can drift from its schema unnoticed:

1. Every object schema the OpenAPI document describes has exactly the key set pinned below
   (a field added to or dropped from an output serializer fails here until the pin says so).
2. Every response of a walk over the whole API (set-up, customers, every event path, the
   ledgers, auth, errors) conforms to its operation's documented body: no key the schema does
   not name, every key it requires, at every depth (a key added to a response outside its
   serializer fails here).
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from campaigns.services import api_key_create

pytestmark = pytest.mark.django_db

LINE = {
    "id",
    "reward_id",
    "campaign_id",
    "rule_id",
    "brand_id",
    "event_id",
    "amount",
    "remaining",
    "reserved",
    "state",
    "issued_at",
    "expiration_date",
    "reservation_expires_at",
}
TOTAL = {"reward_id", "reward", "total", "reserved", "pending", "debt", "next_expiration_date", "expiring_amount"}
METRICS = {"number_of_purchases", "spend_total", "events", "last_visit"}
PERIODS = {"lifetime", "this_year", "last_year", "this_quarter", "last_quarter", "this_month", "last_month"}
EVENT = {
    "id",
    "customer_id",
    "brand_id",
    "type",
    "status",
    "fulfilled",
    "reserve",
    "platform",
    "purchase_id",
    "data",
    "rewarding_campaigns",
    "result",
    "reason",
    "error_code",
    "issued_at",
    "created_at",
    "processing_at",
    "resolved_at",
    "failed_at",
    "cancelled_at",
    "expired_at",
    "reversed_at",
    "reservation_expires_at",
    "queue_message_id",
}
WEBHOOK = {
    "id",
    "url",
    "events",
    "brand_id",
    "description",
    "is_active",
    "disabled_at",
    "disabled_reason",
    "failing_since",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
}
WEBHOOK_EVENTS = [
    "CUSTOMER_REGISTRATION",
    "CUSTOMER_ANONYMOUS_TO_REGISTERED",
    "CUSTOMER_ACCUMULATION",
    "CUSTOMER_REDEMPTION",
    "REWARD_RESERVATION",
    "REWARD_RESERVATION_CANCELLED",
    "BEHAVIOR_EVENT_FULFILLED",
    "BEHAVIOR_EVENT_FAILED",
    "BEHAVIOR_EVENT_REVERSED",
    "BEHAVIOR_EVENT_EXPIRED",
    "TIER_UPGRADE",
    "TIER_DOWNGRADE",
    "REWARDS_EXPIRED",
    "REWARDS_EXPIRING",
    "COUPON_REDEMPTION",
    "COUPON_REVERSAL",
]
PINNED = {
    "BrandOut": {"id", "name", "created_at"},
    "RewardOut": {"id", "brand_id", "name", "type", "decimals", "conditions", "attributes", "created_at"},
    "TierOut": {"id", "name", "level", "entry_conditions", "base", "created_at"},
    "EventTypeOut": {"name", "tracking_only", "built_in"},
    "CampaignOut": {
        "id",
        "brand_id",
        "name",
        "type",
        "status",
        "derived_status",
        "frozen",
        "trigger",
        "start_date",
        "end_date",
        "budget",
        "budget_used",
        "budget_remaining",
        "limit",
        "rules",
        "referee_rules",
        "max_uses",
        "created_at",
    },
    "WalletLineOut": LINE,
    "RewardSummaryOut": {"id", "name", "type", "brand_id", "decimals"},
    "WalletTotalOut": TOTAL,
    "WalletTotalsOut": {"totals"},
    "WalletOut": {"lines", "totals"},
    "MetricsOut": METRICS,
    "MetricsByPeriodOut": PERIODS,
    "TierSummaryOut": {"id", "name", "level"},
    "CustomerDetailOut": {
        "id",
        "name",
        "email",
        "status",
        "is_anonymous",
        "gender",
        "dob",
        "document_type",
        "document_number",
        "country",
        "platforms",
        "referral_code",
        "consent",
        "tags",
        "metadata",
        "registration_date",
        "tier_id",
        "tier",
        "metrics",
        "created_at",
    },
    "CustomerOut": {"customer", "wallet"},
    "ConsentPurposesOut": {
        "behavioral_campaigns",
        "coupon_campaigns",
        "punchcard_campaigns",
        "email_marketing",
        "push_notifications",
        "link_tracking",
    },
    "ConsentOut": {"customer_id", "purposes", "vendors", "consent_string", "version", "consent_timestamp"},
    "CustomerConsentOut": {"consent"},
    "CustomerListItemOut": {"id", "name", "email", "status", "registration_date"},
    "TransactionOut": {
        "id",
        "type",
        "amount",
        "reward_id",
        "customer_id",
        "line_id",
        "event_id",
        "campaign_id",
        "brand_id",
        "cost",
        "created_at",
        "details",
    },
    "RewardingCampaignOut": {"campaign_id", "rule_id"},
    "RedemptionTakenOut": {"line_id", "reward_id", "amount", "place"},
    "LifetimeMetricsOut": {"lifetime"},
    "EventCustomerOut": {"id", "metrics"},
    "EventResultOut": {
        "accumulations",
        "redemptions",
        "wallet",
        "customer",
        "campaigns_skipped",
        "referral",
        "gift_card",
        "gift_card_unfilled",
    },
    "GiftCardOut": {
        "code",
        "reward_id",
        "customer_id",
        "rewarded_at",
        "description",
        "expired_at",
        "redeemed_at",
        "status",
    },
    "GiftCardUnfilledOut": {"reward_id", "campaign_id", "rule_id", "wanted", "handed_out", "reason"},
    "GiftCardsLoadOut": {"reward_id", "added", "duplicates", "left"},
    "ReferralNoteOut": {"code", "linked", "ignored", "qualified"},
    "ReferralQualifiedOut": {"referral_id", "campaign_id", "referrer_id"},
    "ReferralCodeOut": {
        "id",
        "code",
        "customer_id",
        "campaign_id",
        "uses_count",
        "max_uses",
        "created_at",
        "metadata",
    },
    "EventOut": EVENT,
    "PreviewErrorOut": {"error", "details"},
    "PreviewRedemptionOut": {"place", "reward_id", "amount", "value", "status", "error"},
    "PreviewOrderOut": {"value", "discount", "value_after"},
    "QueuedOut": {"message", "details"},
    # the migration API's jobs (importing.api)
    "ImportJobOut": {
        "id",
        "kind",
        "status",
        "total",
        "processed",
        "imported",
        "skipped",
        "failed",
        "errors",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    },
    "RecordIssueOut": {"index", "id", "code", "message"},
    "CodeOut": {"code", "expired_at"},
    "CodeVerifiedOut": {"customer", "wallet", "metadata"},
    "PreviewOut": {"redemptions", "valid", "order"},
    "Error": {"error", "details", "event_id", "status", "place", "reward_id", "requirement"},
    # webhooks: the API's shapes, and the bodies POSTed to endpoints (webhooks/schema.py)
    "WebhookOut": WEBHOOK,
    "WebhookSecretOut": WEBHOOK | {"secret"},
    "WebhookAttemptOut": {"at", "response_code", "duration_ms", "error"},
    "WebhookDeliveryOut": {
        "id",
        "webhook_id",
        "endpoint_id",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_response_code",
        "last_error",
        "delivered_at",
        "created_at",
        "attempt_log",
    },
    "RedeliveredOut": {"queued"},
    **{f"{''.join(p.capitalize() for p in name.split('_'))}Message": {"event", "data"} for name in WEBHOOK_EVENTS},
    "BehaviorEventData": {"event"},
    "AccumulationData": {"customer_id", "event_id", "brand_id", "lines", "wallet"},
    "RedemptionData": {"customer_id", "event_id", "brand_id", "redemptions", "wallet"},
    "ReservationData": {"customer_id", "event_id", "brand_id", "reservations", "expires_at", "wallet"},
    "ReservationCancelledData": {"customer_id", "event_id", "brand_id", "status", "lines", "wallet"},
    "TierMoveData": {"customer_id", "from_tier_id", "to_tier_id", "from_level", "to_level", "cause_event_id", "at"},
    "IdentifiedData": {"customer", "wallet", "previous_id"},
    "LinesData": {"customer_id", "lines", "wallet"},
    # coupons (coupons/api.py, webhooks/schema.py CouponData)
    "CodesSummaryOut": {"used", "total", "left", "codes", "customer_id", "customer_uses", "customer_can_redeem"},
    "CodesAddedOut": {"campaign_id", "added", "codes_summary"},
    "CouponUseOut": {"customer_id", "event_id", "used_at", "reversed_at"},
    "CouponCodeOut": {
        *("id", "code", "campaign_id", "max_uses", "max_uses_per_customer", "uses_count", "uses_left", "created_at"),
        "uses",
    },
    "CouponResultOut": {"customer", "wallet", "accumulations", "event_id", "status", "code", "campaign_id"},
    "CouponData": {
        *("customer_id", "event_id", "brand_id", "code", "campaign_id", "used_at", "reversed_at"),
        *("accumulations", "wallet"),
    },
}
PINNED["CampaignDetailOut"] = PINNED["CampaignOut"] | {"codes_summary"}  # GET /campaigns/{id}?includes=
PAGINATED = {"data", "from", "to", "count"}
CURSOR_PAGINATED = {"data", "cursor", "previous_cursor"}


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict, openapi: dict) -> dict:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = {**_resolve(part, openapi), **merged}
        return merged
    return schema


def conforms(body, schema: dict, openapi: dict, where: str = "body") -> list[str]:
    """The places where `body` has a key its schema does not name, or lacks one it requires."""
    schema = _resolve(schema, openapi)
    if body is None:
        return [] if schema.get("nullable") else [f"{where}: null where the schema says not nullable"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [conforms(body, option, openapi, where) for option in schema[key]]
            return [] if any(not problems for problems in options) else min(options, key=len)
    problems = []
    if isinstance(body, dict) and "properties" in schema:
        properties = schema["properties"]
        problems += [f"{where}.{k}: not in the schema" for k in sorted(set(body) - set(properties))]
        problems += [f"{where}.{k}: required but absent" for k in sorted(set(schema.get("required", [])) - set(body))]
        for key, value in body.items():
            if key in properties:
                problems += conforms(value, properties[key], openapi, f"{where}.{key}")
    elif isinstance(body, list) and "items" in schema:
        for index, item in enumerate(body):
            problems += conforms(item, schema["items"], openapi, f"{where}[{index}]")
    return problems


def test_every_object_schema_has_its_pinned_key_set(openapi):
    components = openapi["components"]["schemas"]
    shapes = {
        name: set(schema["properties"])
        for name, schema in components.items()
        if schema.get("type") == "object"
        and "properties" in schema
        and not name.endswith("In")
        and not name.endswith("Patch")
        and name != "CampaignCopyIn"
    }
    paginated = {name: keys for name, keys in shapes.items() if name.startswith(("Paginated", "CursorPaginated"))}
    assert {name: keys for name, keys in shapes.items() if name not in paginated} == PINNED
    assert {keys == CURSOR_PAGINATED for name, keys in paginated.items() if name.startswith("Cursor")} == {True}
    assert {keys == PAGINATED for name, keys in paginated.items() if name.startswith("Paginated")} == {True}


class Walk:
    """A client that checks every answer against the operation the schema documents."""

    def __init__(self, openapi, key: str):
        self.openapi, self.client, self.seen = openapi, Client(HTTP_AUTHORIZATION=f"Bearer {key}"), []

    def __call__(self, method: str, template: str, body=None, status: int = 200, headers=None, **ids):
        path = "/api/v1" + template.format(**ids)
        kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
        response = getattr(self.client, method)(path, **kwargs, **(headers or {}))
        assert response.status_code == status, (method, path, response.content)
        operation = self.openapi["paths"]["/api/v1" + template][method]
        documented = operation["responses"][str(status)]
        self.seen.append((method, template, status))
        if status == 204:
            return None
        problems = conforms(response.json(), documented["content"]["application/json"]["schema"], self.openapi)
        assert problems == [], (method, path, status, problems)
        return response.json()


def test_every_response_of_the_api_conforms_to_its_documented_shape(openapi):
    _key, raw = api_key_create(name="shapes")
    hit = Walk(openapi, raw)
    hit("post", "/brands", {"id": "0001", "name": "Cafe"}, 201)
    hit("get", "/brands")
    hit("patch", "/brands/{id}", {"name": "Cafe Central"}, id="0001")
    stars = hit(
        "post",
        "/rewards",
        {
            "brand_id": "0001",
            "name": "Stars",
            "type": "POINTS",
            "decimals": 0,
            "attributes": {"conversion_factor": 0.1},
        },
        201,
    )["data"]["id"]
    hit(
        "post",
        "/rewards",
        {
            "brand_id": "0001",
            "name": "Off",
            "type": "DISCOUNT",
            "conditions": {"applies_to": ["order"], "max_amount": 50},
        },
        201,
    )
    hit("get", "/rewards")
    hit("get", "/rewards/{id}", id=stars)
    hit("patch", "/rewards/{id}", {"name": "Stars!"}, id=stars)
    gold = hit(
        "post",
        "/tiers",
        {
            "name": "Gold",
            "level": 2,
            "entry_conditions": [[{"field": "customer.metrics.lifetime.spend_total", "operator": "gte", "value": 100}]],
        },
        201,
    )["data"]["id"]
    hit("get", "/tiers")
    hit("patch", "/tiers/{id}", {"name": "Golden"}, id=gold)
    hit("post", "/event-types", {"name": "SURVEY"}, 201)
    hit("get", "/event-types")
    hit("get", "/event-types/{name}", name="SURVEY")
    hit("patch", "/event-types/{name}", {"tracking_only": True}, name="SURVEY")
    campaign = hit(
        "post",
        "/campaigns",
        {
            "brand_id": "0001",
            "name": "1 per 10",
            "trigger": "PURCHASE",
            "start_date": "2026-01-01T00:00:00Z",
            "budget": 1000,
            "limit": {"count": 5, "period": "day"},
            "rules": [
                {
                    "conditions": [[{"field": "order.value", "operator": "gte", "value": 10}]],
                    "effects": [
                        {"reward_id": stars, "kind": "PER_VALUE", "amount": 1, "per": 10, "expiration": "12/months"}
                    ],
                }
            ],
        },
        201,
    )["data"]["id"]
    hit("get", "/campaigns")
    hit("get", "/campaigns/{id}", id=campaign)
    hit("patch", "/campaigns/{id}", {"name": "One per ten"}, id=campaign)
    copy = hit("post", "/campaigns/{id}/copy", {}, 201, id=campaign)["data"]["id"]
    hit("delete", "/campaigns/{id}", status=204, id=copy)

    hit("post", "/customers", {"id": "cust-1", "name": "Ana", "email": "ana@example.com", "tags": {"vip": True}}, 201)
    hit("get", "/customers")
    hit("patch", "/customers/{id}", {"tags": {"city": "CDMX"}}, id="cust-1")
    hit("patch", "/customers/{customer_id}/tags", {"tags": {"level": 2}}, customer_id="cust-1")
    hit("delete", "/customers/{customer_id}/tags", {"tags": ["level"]}, customer_id="cust-1")
    hit("get", "/customers/{customer_id}/consent", customer_id="cust-1")
    consent = {"purposes": {"email_marketing": False}, "vendors": {"meta": True}}
    hit("patch", "/customers/{customer_id}/consent", {"consent": consent}, customer_id="cust-1")
    hit("post", "/customers", {"id": "anon-1", "is_anonymous": True, "dob": "1990-05-17"}, 201)
    hit("patch", "/customers/{customer_id}/identify/anonymous", {"new_id": "ana-1"}, customer_id="anon-1")
    emit = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE"}
    resolved = hit(
        "post",
        "/behavior/events",
        {
            **emit,
            "order": {"purchase_id": "A-1", "value": 120, "products": [{"sku": "LATTE", "amount": 2, "value": 60}]},
        },
        201,
    )["data"]
    assert resolved["status"] == "RESOLVED" and resolved["result"]["accumulations"]
    held = hit(
        "post",
        "/behavior/events",
        {**emit, "fulfilled": False, "reserve": 2, "order": {"value": 30}, "redeem": [{"id": stars, "amount": 5}]},
        201,
    )["data"]
    hit("patch", "/behavior/events/{id}/fulfill", status=200, id=held["id"])
    hit("post", "/behavior/events/{id}/reverse", {"reason": "refund"}, 200, id=held["id"])
    failed = hit(
        "post", "/behavior/events", {**emit, "order": {"value": 1}, "redeem": [{"id": stars, "amount": 999}]}, 422
    )
    assert failed["error"] == "insufficient_balance" and failed["event_id"]
    hit("get", "/behavior/events/{id}", id=failed["event_id"])
    plain = hit("post", "/behavior/events", {**emit, "order": {"value": 20}}, 201)["data"]
    assert set(plain) == EVENT - {"queue_message_id"}
    hit("get", "/behavior/events")
    hit("get", "/behavior/events/{id}", id=resolved["id"])
    hit(
        "put",
        "/events/redeem/preview",
        {"customer_id": "cust-1", "brand_id": "0001", "order": {"value": 100, "redeem": [{"id": stars, "amount": 2}]}},
    )
    hit("get", "/customers/{id}", id="cust-1")
    hit("get", "/customers/{customer_id}/transactions", customer_id="cust-1")
    page = hit("get", "/transactions")
    assert page["data"]
    code = hit("post", "/auth/totp", {"customer_id": "cust-1", "metadata": {"device": "kiosk"}}, 201)["data"]["code"]
    hit("get", "/auth/totp/verify", {"code": code, "customer_id": "cust-1"})  # a GET's body is its query
    hit("get", "/auth/totp/verify", {"code": code}, 404)

    # errors have the error shape
    hit("get", "/customers/{id}", status=404, id="nobody")
    hit("post", "/behavior/events", {**emit, "fulfill": True}, 400)
    hit("patch", "/behavior/events/{id}/fulfill", status=409, id=resolved["id"])
    token = Client().get("/api/v1/auth/authorize", HTTP_X_API_KEY=raw)
    assert token.status_code == 200
    assert (
        conforms(
            token.json(),
            openapi["paths"]["/api/v1/auth/authorize"]["get"]["responses"]["200"]["content"]["application/json"][
                "schema"
            ],
            openapi,
        )
        == []
    )
    assert len(hit.seen) >= 40


def test_an_async_event_answers_its_queue_message_id(openapi, api, customer, brand):
    body = {
        "customer_id": customer.pk,
        "brand_id": brand.pk,
        "type": "PURCHASE",
        "order": {"value": 20},
        "issued_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
    }
    response = api.post("/behavior/events?async=true", body)
    assert response.status_code == 202
    data = response.json()["data"]
    assert set(data) == EVENT and data["status"] == "PENDING" and data["queue_message_id"]
    schema = openapi["paths"]["/api/v1/behavior/events"]["post"]["responses"]["202"]["content"]["application/json"]
    assert conforms(response.json(), schema["schema"], openapi) == []
