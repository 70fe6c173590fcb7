"""The OpenAPI schema served at /api/schema/ against the API itself (schemathesis, in process).

For every operation of the live schema, schemathesis generates requests (valid ones, and invalid
ones that break the schema on purpose) and checks every answer:

- no 5xx, whatever the input (`not_a_server_error`);
- the status is one the operation documents, the body and the documented headers match the
  schema, the content type too (`status_code_conformance`, `response_schema_conformance`,
  `response_headers_conformance`, `content_type_conformance`);
- input that breaks the schema is refused with a 4xx, never accepted (`negative_data_rejection`);
- a request that succeeds with the key fails without it (`ignored_auth`).

A small programme (brand, reward, campaign, tier, custom event type, customer with a resolved and
a held event) exists for each operation, and valid requests are pointed at it (path ids, emit
references) so that they can succeed and their success bodies are checked too. Generation is
deterministic (fixed seed, 15 examples an operation, plus schemathesis' coverage cases); the API
trims string fields, so a body that breaks the schema only by surrounding whitespace is not
counted as accepted invalid input.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import hypothesis
import pytest
import schemathesis
from django.utils import timezone
from schemathesis.checks import not_a_server_error
from schemathesis.core.jsonschema import make_validator
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from campaigns import services as programme
from campaigns.services import api_key_create
from config.wsgi import application
from events.services import event_emit
from events.tasks import process_event
from wallets.services import customer_register

# serialized_rollback, like every transactional test here: the flush after each test then leaves the
# data the migrations made for the next test to restore (built-in event types, base tier, content types).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# The key is sent with every request (below); schemathesis must not generate credentials of its own.
schema.config.generation.update(with_security_parameters=False)


def _trimmed(value):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {key: _trimmed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trimmed(item) for item in value]
    return value


def _valid_once_trimmed(case) -> bool:
    """The body breaks the schema only by surrounding whitespace, which the API trims from every
    string field before checking it (DRF CharField), as the schema's description says."""
    meta = case.meta
    if meta is None or not isinstance(case.body, dict):
        return False
    if any(meta.is_negative_at(location) for location in meta.components if location != ParameterLocation.BODY):
        return False
    body = case.operation.get_body_for_media_type(case.media_type)
    if body is None:
        return False
    validator = make_validator(body.optimized_schema, case.operation.schema.adapter.jsonschema_validator_cls)
    return validator.is_valid(_trimmed(case.body))


@schemathesis.check
def negative_data_rejection_after_trimming(ctx, response, case):
    """schemathesis' negative_data_rejection, less the bodies that are valid once trimmed."""
    if _valid_once_trimmed(case):
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection_after_trimming,
    ignored_auth,
]

BRAND, CUSTOMER, EVENT_TYPE, ANONYMOUS = "0001", "cust-1", "SURVEY", "anon-1"


@dataclass
class Programme:
    key: str
    reward_id: str
    campaign_id: str
    tier_id: str
    resolved_event_id: str
    held_event_id: str
    path_ids: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict:
        return {"x-api-key": self.key}


@pytest.fixture
def programme_state(monkeypatch) -> Programme:
    """Built through the services, as an integrator's set-up would be."""
    monkeypatch.setattr(process_event, "apply_async", lambda *args, **kwargs: None)  # ?async=true: no broker
    _key, raw = api_key_create(name="schemathesis")
    programme.brand_create(id=BRAND, name="Cafe Central")
    stars = programme.reward_create(
        brand_id=BRAND, name="Stars", type="POINTS", decimals=0, attributes={"conversion_factor": 0.1}
    )
    campaign = programme.campaign_create(
        brand_id=BRAND,
        name="1 star per 10 spent",
        trigger="PURCHASE",
        start_date=timezone.now(),
        rules=[
            {
                "conditions": [],
                "effects": [
                    {"reward_id": str(stars.pk), "kind": "PER_VALUE", "amount": 1, "per": 10, "expiration": "12/months"}
                ],
            }
        ],
    )
    scheduled = programme.campaign_create(
        brand_id=BRAND,
        name="Next season",
        trigger="PURCHASE",
        status="INACTIVE",
        start_date=timezone.now() + timedelta(days=30),
        rules=[],
    )
    tier = programme.tier_create(name="Gold", level=2)
    programme.event_type_create(name=EVENT_TYPE)
    customer_register(id=CUSTOMER, name="Ana Diaz", email="ana@example.com")
    customer_register(id=ANONYMOUS, is_anonymous=True)  # for /identify/anonymous
    resolved = event_emit(
        payload={
            "customer_id": CUSTOMER,
            "brand_id": BRAND,
            "type": "PURCHASE",
            "order": {"purchase_id": "A-1", "value": Decimal(120)},
        }
    )
    held = event_emit(
        payload={
            "customer_id": CUSTOMER,
            "brand_id": BRAND,
            "type": "PURCHASE",
            "fulfilled": False,
            "redeem": [{"id": stars.pk, "amount": Decimal(5)}],
            "order": {"purchase_id": "A-2", "value": Decimal(30)},
        }
    )
    state = Programme(
        key=raw,
        reward_id=str(stars.pk),
        campaign_id=str(campaign.pk),
        tier_id=str(tier.pk),
        resolved_event_id=str(resolved.pk),
        held_event_id=str(held.pk),
    )
    state.path_ids = {
        "/api/v1/brands/{id}": BRAND,
        "/api/v1/rewards/{id}": state.reward_id,
        "/api/v1/campaigns/{id}": state.campaign_id,
        # a campaign that has not started yet may still be changed and deleted
        ("PATCH", "/api/v1/campaigns/{id}"): str(scheduled.pk),
        ("DELETE", "/api/v1/campaigns/{id}"): str(scheduled.pk),
        "/api/v1/campaigns/{id}/copy": state.campaign_id,
        "/api/v1/tiers/{id}": state.tier_id,
        "/api/v1/event-types/{name}": EVENT_TYPE,
        "/api/v1/customers/{id}": CUSTOMER,
        "/api/v1/customers/{customer_id}/transactions": CUSTOMER,
        "/api/v1/customers/{customer_id}/tags": CUSTOMER,
        "/api/v1/customers/{customer_id}/consent": CUSTOMER,
        "/api/v1/customers/{customer_id}/identify/anonymous": ANONYMOUS,
        "/api/v1/customers/{customer_id}/rewards/gift-cards": CUSTOMER,
        "/api/v1/behavior/events/{id}": state.resolved_event_id,
        "/api/v1/behavior/events/{id}/reverse": state.resolved_event_id,
        "/api/v1/behavior/events/{id}/fulfill": state.held_event_id,
    }
    return state


def _is_valid(case, location: str) -> bool:
    """Whether this part of the request was generated to match the schema."""
    meta = case.meta
    if meta is None:
        return False
    component = next((info for loc, info in meta.components.items() if loc.value == location), None)
    if component is None:
        return meta.generation.mode == GenerationMode.POSITIVE
    return component.mode == GenerationMode.POSITIVE


def _redemptions(body: dict) -> list[dict]:
    """Every `redeem` list of an emit or preview body: top level, order, products, shipping, product."""
    order = body.get("order") or {}
    holders = [body, order, order.get("shipping") or {}, body.get("product") or {}, *(order.get("products") or [])]
    return [item for holder in holders for item in holder.get("redeem") or []]


def aim_at_programme(case, state: Programme) -> None:
    """Point the valid parts of a request at the programme, so that valid requests can succeed and
    invalid ones are refused for what is invalid in them (not for an unknown id). Parts generated
    to break the schema are sent as generated; the values put in are ones the schema allows."""
    if case.path_parameters and _is_valid(case, "path"):
        target = state.path_ids.get((case.method.upper(), case.path)) or state.path_ids.get(case.path)
        if target is not None:
            for name in case.path_parameters:
                case.path_parameters[name] = target
    if _is_valid(case, "header") and 0 < len(case.headers.get("Idempotency-Key") or "") <= 255:
        # Generated keys repeat ("0", "00"...): a reused key answers 409 before the body is read.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    body = case.body
    if not isinstance(body, dict) or not _is_valid(case, "body"):
        return
    if case.path in ("/api/v1/behavior/events", "/api/v1/events/redeem/preview"):
        body["customer_id"], body["brand_id"] = CUSTOMER, BRAND
        body["type"] = "PURCHASE" if "order" in body else "REGISTRATION"
        body.pop("issued_at", None)  # generated dates are far outside the accepted 72 hours
        if "order" in body and _is_valid(case, "query"):
            case.query.pop("async", None)  # half the generated emits are ?async=true: apply some of them
        order = body.get("order") if isinstance(body.get("order"), dict) else {}
        if order.get("purchase_id"):
            order["purchase_id"] = uuid.uuid4().hex  # generated ids repeat: 409 duplicate_purchase
        for item in _redemptions(body):
            item["id"] = state.reward_id
    elif case.path == "/api/v1/auth/totp":
        body["customer_id"] = CUSTOMER  # a code for the programme's customer: its 201 is checked too
    elif case.path in ("/api/v1/rewards", "/api/v1/campaigns", "/api/v1/campaigns/{id}", "/api/v1/rewards/{id}"):
        if body.get("brand_id") is not None:
            body["brand_id"] = BRAND
        if "trigger" in body:
            body["trigger"] = "PURCHASE"
        for rule in body.get("rules") or []:
            for effect in rule.get("effects") or []:
                effect["reward_id"] = state.reward_id
                if effect.get("tier_id") is not None:
                    effect["tier_id"] = state.tier_id


@schema.parametrize()
@hypothesis.settings(
    max_examples=15, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), derandomize=True, database=None
)
def test_api_conforms_to_its_schema(case, programme_state):
    aim_at_programme(case, programme_state)
    case.call_and_validate(headers=programme_state.headers, checks=CHECKS)


# ---- what schemathesis found, pinned -------------------------------------------------------------
# Each of these was found by the test above, run with more examples and random seeds; its fixed
# seed and 15 examples an operation do not reach all of them every time, so they are pinned here.
# SPEC section 3: invalid input is a 400, a 500 is a bug. They fail until the server is fixed.

# UTC form outside year 1..9999 (SQLite: OverflowError); offset beyond PostgreSQL's +-15:59 (DataError)
EDGES_OF_TIME = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-01-01T00:00:00+18:39"]


@pytest.mark.parametrize("value", EDGES_OF_TIME)
@pytest.mark.parametrize(
    "path,name",
    [
        ("/behavior/events", "issued_after"),
        ("/behavior/events", "issued_before"),
        ("/transactions", "created_after"),
        ("/transactions", "created_before"),
        ("/customers/cust-1/transactions", "created_after"),
        ("/customers/cust-1/transactions", "created_before"),
    ],
)
def test_a_date_filter_at_the_edge_of_time_is_never_a_500(api, customer, path, name, value):
    """Valid ISO 8601 instants at the edge of what the database can hold: answered, or refused
    with a 400, never a 500 (the body's date fields already do that)."""
    response = api.get(f"{path}?{urlencode({name: value})}")
    assert response.status_code in (200, 400), (response.status_code, response.content)


@pytest.mark.parametrize("path", ["/behavior/events?to=%C2%B9", "/brands?from=%C2%B2", "/customers?from=%E2%91%A0"])
def test_a_page_bound_that_is_not_a_decimal_number_is_a_400_not_a_500(api, customer, path):
    """`str.isdigit()` holds for "¹", "²", "①", which `int()` cannot read."""
    response = api.get(path)
    assert response.status_code == 400, (response.status_code, response.content)


@pytest.mark.parametrize(
    "path",
    [
        "/behavior/events?async=maybe",
        "/transactions?limit=0",
        "/transactions?limit=-5",
        "/transactions?limit=many",
        "/event-types?tracking_only=maybe",
    ],
)
def test_an_invalid_query_value_is_refused_not_ignored(api, customer, brand, path):
    if path.startswith("/behavior/events"):
        response = api.post(path, {"customer_id": "cust-1", "brand_id": "0001", "type": "REGISTRATION"})
    else:
        response = api.get(path)
    assert response.status_code == 400, (response.status_code, response.content)


@pytest.mark.parametrize("conditions", ["", 0, False, {}])
def test_tier_entry_conditions_that_are_not_a_list_are_refused(api, conditions):
    response = api.post("/tiers", {"name": "Silver", "level": 3, "entry_conditions": conditions})
    assert response.status_code == 400, (response.status_code, response.content)
    assert "entry_conditions" in response.json()["details"]


@pytest.mark.parametrize("body", ["\r", " ", "\n\t "])
def test_a_whitespace_only_body_is_not_json(api, customer, body):
    response = api.patch("/customers/cust-1", body)
    assert response.status_code == 400, (response.status_code, response.content)
    assert response.json()["error"] == "parse_error"
