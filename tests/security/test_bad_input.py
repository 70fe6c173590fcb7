"""Bad input gets a clear 4xx, never a 500, and nothing is stored (issue "Brand isolation and
production hardening", items 14-18)."""

import base64
import json

import pytest
from django.test import Client

from campaigns.models import Campaign
from events.models import Event
from tests.factories import RewardFactory
from tests.helpers import assert_error, emit
from wallets.models import Customer

pytestmark = pytest.mark.django_db


def _nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


def _emit_body(customer, brand, **extra):
    return {"customer_id": customer.pk, "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": 10}, **extra}


# ---- 14. nesting depth -------------------------------------------------------------------------------------


def _deep_text(depth: int) -> str:
    """A JSON text nesting `depth` objects (built as text: json.dumps itself gives up near 1,000)."""
    return '{"k":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [32, 470, 5000])
def test_json_nested_deeper_than_32_levels_is_a_parse_error(api, customer, brand, depth):
    body = json.dumps(_emit_body(customer, brand, metadata="DEEP")).replace('"DEEP"', _deep_text(depth))
    assert_error(api.post("/behavior/events", body), 400, "parse_error")
    assert not Event.objects.exists()


def test_json_nested_32_levels_deep_is_accepted(api, customer, brand):
    # the body's own object counts: with metadata holding 31 levels the body is 32 deep
    response = api.post("/behavior/events", _emit_body(customer, brand, metadata=_nested(31)))
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("headers", [{}, {"HTTP_IDEMPOTENCY_KEY": "deep-1"}], ids=["plain", "idempotency-key"])
def test_deep_json_is_a_4xx_even_unauthenticated(headers):
    body = _deep_text(5000)
    response = Client().post("/api/v1/behavior/events", body, content_type="application/json", **headers)
    assert response.status_code in (400, 401), response.content
    assert set(response.json()) == {"error", "details"}


# ---- 15. tampered cursors ----------------------------------------------------------------------------------


def _b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        _b64(b"\xff\xfe\x00garbage"),
        _b64(b"o=abc"),
        _b64(b"p=1&o=-5"),
        _b64(b"o=99999999999999999999999"),
        _b64(b"p=%00&r=1"),
        _b64(b"p=" + b"9" * 5000),
        _b64(b"r=1&p=abc"),
    ],
)
def test_a_tampered_cursor_is_a_400_invalid_cursor(api, customer, brand, cursor):
    emit(customer, brand, value=10)
    assert_error(api.get(f"/transactions?cursor={cursor}"), 400, "invalid_cursor")


def test_a_real_cursor_still_pages(api, customer, brand, stars, star_campaign):
    for i in range(3):
        emit(customer, brand, value=100, purchase_id=f"C-{i}")
    first = api.get("/transactions?limit=2").json()
    assert first["cursor"] and api.get(f"/transactions?limit=2&cursor={first['cursor']}").status_code == 200


# ---- 16. redemption precision ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decimals", "amount", "where"),
    [
        (0, "1.5", "redeem[0].amount"),
        (0, 0.5, "order.redeem[0].amount"),
        (2, "1.005", "redeem[0].amount"),
        (2, "0.001", "order.products[0].redeem[0].amount"),
    ],
)
def test_a_redemption_finer_than_the_rewards_decimals_is_a_400(api, customer, brand, decimals, amount, where):
    reward = RewardFactory(brand=brand, decimals=decimals)
    item = [{"id": str(reward.pk), "amount": amount}]
    order = {"value": 10}
    body = _emit_body(customer, brand)
    if where.startswith("redeem"):
        body["redeem"] = item
    elif where.startswith("order.products"):
        order["products"] = [{"sku": "A", "redeem": item}]
    else:
        order["redeem"] = item
    body["order"] = order
    assert_error(api.post("/behavior/events", body), 400, "validation_error", named=where)
    assert_error(
        api.put("/events/redeem/preview", {k: body[k] for k in body if k != "type"}),
        400,
        "validation_error",
        named=where,
    )
    assert not Event.objects.exists()


# ---- 17. customer ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("customer_id", ["a/b", "tab\there", "new\nline", "bell\x07", "del\x7f", " ", "..", "."])
def test_a_customer_id_that_could_not_be_read_back_is_refused(api, customer_id):
    assert_error(api.post("/customers", {"id": customer_id, "name": "X"}), 400, "validation_error", named="id")
    assert not Customer.objects.exists()


def test_ordinary_customer_ids_are_accepted(api):
    for customer_id in ("cust-1", "ana@example.com", "Ünïcode 名前", "a.b_c:d"):
        assert api.post("/customers", {"id": customer_id}).status_code == 201
        assert api.get(f"/customers/{customer_id}").status_code == 200


# ---- 18. campaign bounds -----------------------------------------------------------------------------------


def _campaign(stars, conditions):
    return {
        "brand_id": stars.brand_id,
        "name": "big",
        "trigger": "PURCHASE",
        "start_date": "2026-01-01T00:00:00Z",
        "rules": [{"conditions": conditions, "effects": [{"reward_id": str(stars.pk), "kind": "FIXED", "amount": 1}]}],
    }


CONDITION = {"field": "order.value", "operator": "gte", "value": 1}


@pytest.mark.parametrize(
    ("conditions", "named"),
    [
        ([[CONDITION]] * 8000, "rules[0].conditions"),
        ([[CONDITION]] * 21, "rules[0].conditions"),
        ([[CONDITION] * 21], "rules[0].conditions[0]"),
        (
            [[{"field": "order.products.sku", "operator": "in", "value": [f"S{i}" for i in range(1001)]}]],
            "rules[0].conditions[0][0].value",
        ),
    ],
    ids=["8000-groups", "21-groups", "21-conditions", "1001-skus"],
)
def test_a_campaign_over_a_bound_is_a_400(api, stars, conditions, named):
    assert_error(api.post("/campaigns", _campaign(stars, conditions)), 400, "validation_error", named=named)
    assert not Campaign.objects.exists()


def test_a_campaign_at_the_bounds_is_accepted(api, stars):
    conditions = [[CONDITION] * 20] * 20
    conditions[0] = [{"field": "order.products.sku", "operator": "in", "value": [f"S{i}" for i in range(1000)]}]
    assert api.post("/campaigns", _campaign(stars, conditions)).status_code == 201


def test_a_campaign_of_more_than_100_rules_is_a_400(api, stars):
    body = _campaign(stars, [])
    body["rules"] = body["rules"] * 101
    assert_error(api.post("/campaigns", body), 400, "validation_error", named="rules")
