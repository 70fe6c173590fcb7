"""Amounts and dates at the extremes over HTTP (issue 15, items 4 to 6): bounds refused when the
programme is saved (400 naming the field), the per-event and per-wallet limits (422 naming the
limit, nothing stored, in both the synchronous and the ?async=true path), and exact decimals from
the request to the stored rows and back out in responses."""

import json
from decimal import Decimal

import pytest
from django.db import connection  # noqa: F401  (the skip conditions read it)

from campaigns.models import Campaign, Reward
from core.amounts import MAX_AMOUNT, MAX_CONVERSION_FACTOR, MAX_EVENT_GRANT, MAX_WALLET_AMOUNT
from core.json import exact_dumps
from events.models import Event
from events.services import event_process_queued
from events.tasks import process_event
from tests.factories import CampaignFactory, RewardFactory, cond
from tests.helpers import assert_error, emit
from wallets.models import Transaction, WalletLine

pytestmark = pytest.mark.django_db

D = Decimal

# SQLite keeps decimal columns as REAL (15 significant digits): sums and rows of 16 digits are
# exact on PostgreSQL, the production database, only.
sixteen_digits = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite keeps decimal columns as REAL (15 digits)"
)


def purchase(purchase_id="X-1", value=10, **extra) -> dict:
    return {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "order": {"purchase_id": purchase_id, "value": value},
        **extra,
    }


def fixed(reward, amount, effects=1) -> dict:
    amount = int(amount) if amount == int(amount) else str(amount)
    return {"effects": [{"reward_id": str(reward.pk), "kind": "FIXED", "amount": amount}] * effects}


def campaign_body(reward, **effect) -> dict:
    return {
        "brand_id": "0001",
        "name": "Far",
        "type": "BEHAVIOR",
        "trigger": "PURCHASE",
        "status": "ACTIVE",
        "start_date": "2024-01-01T00:00:00Z",
        "rules": [{"effects": [{"reward_id": str(reward.pk), "kind": "FIXED", "amount": 1, **effect}]}],
    }


def data(response) -> dict:
    """The response's `data`, its fractional numbers read as Decimals."""
    return json.loads(response.content, parse_float=Decimal)["data"]


def refused(response, status: int, code: str) -> dict:
    """The API's error shape with this status and code, and the limit it names."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "details", "limit", "reward_id"}, body
    assert body["error"] == code, body
    return body


def stored() -> tuple[int, int, int]:
    return (
        Event.objects.exclude(type_id="REGISTRATION").count(),
        WalletLine.objects.count(),
        Transaction.objects.count(),
    )


# ---- item 4: refused when saved ------------------------------------------------------------------------------------


@pytest.mark.parametrize("expiration", ["9999/years", "101/years", "1201/months", "36501/days"])
def test_a_campaign_whose_expiration_passes_the_bound_is_400_and_one_at_the_bound_is_201(
    api, brand, stars, customer, expiration
):
    body = assert_error(
        api.post("/campaigns", campaign_body(stars, expiration=expiration)),
        400,
        "validation_error",
        "rules[0].effects[0].expiration",
    )
    assert "at most 100 years" in json.dumps(body)
    assert api.post("/campaigns", campaign_body(stars, expiration="100/years")).status_code == 201
    assert api.post("/behavior/events", purchase()).status_code == 201


@pytest.mark.parametrize("factor", [10**12, float(MAX_CONVERSION_FACTOR) + 1])
def test_a_reward_whose_conversion_factor_passes_the_bound_is_400_on_create_and_patch(api, brand, stars, factor):
    body = {"brand_id": "0001", "name": "Gold", "type": "POINTS", "attributes": {"conversion_factor": factor}}
    answer = json.dumps(assert_error(api.post("/rewards", body), 400, "validation_error"))
    assert "conversion_factor" in answer and str(MAX_CONVERSION_FACTOR) in answer
    patch = api.patch(f"/rewards/{stars.pk}", {"attributes": {"conversion_factor": factor}})
    assert_error(patch, 400, "validation_error")
    assert Reward.objects.get(pk=stars.pk).conversion_factor == D("0.1")


def test_the_largest_conversion_factor_is_saved_and_emits_and_previews_answer(api, brand, customer):
    body = {
        "brand_id": "0001",
        "name": "Gold",
        "type": "POINTS",
        "decimals": 4,
        "attributes": {"conversion_factor": int(MAX_CONVERSION_FACTOR)},
    }
    response = api.post("/rewards", body)
    assert response.status_code == 201, response.content
    gold = Reward.objects.get(pk=response.json()["data"]["id"])
    CampaignFactory(brand=brand, rules=[fixed(gold, MAX_AMOUNT)])
    assert api.post("/behavior/events", purchase()).status_code == 201
    row = Transaction.objects.get(type="ACCUMULATION")
    assert row.cost == MAX_AMOUNT * MAX_CONVERSION_FACTOR

    preview = api._call(
        "put",
        "/events/redeem/preview",
        {"customer_id": "cust-1", "brand_id": "0001", "redeem": [{"id": str(gold.pk), "amount": int(MAX_AMOUNT)}]},
    )
    assert preview.status_code == 200, preview.content
    assert D(str(preview.json()["data"]["redemptions"][0]["value"])) == MAX_AMOUNT * MAX_CONVERSION_FACTOR


def test_a_factor_saved_before_the_bound_leaves_emits_and_previews_answering(api, brand, customer):
    legacy = RewardFactory(brand=brand, decimals=0, attributes={"conversion_factor": 10**12})  # no API check
    CampaignFactory(brand=brand, rules=[fixed(legacy, MAX_AMOUNT)])
    assert api.post("/behavior/events", purchase()).status_code == 201
    assert Transaction.objects.get().cost is None  # the column cannot hold it: not recorded

    preview = api._call(
        "put",
        "/events/redeem/preview",
        {"customer_id": "cust-1", "brand_id": "0001", "redeem": [{"id": str(legacy.pk), "amount": 10**12}]},
    )
    assert preview.status_code == 200, preview.content
    assert preview.json()["data"]["redemptions"][0]["value"] is None


# ---- item 5: the limits of one event and of a wallet ------------------------------------------------------------------


def test_an_event_past_the_event_grant_limit_is_422_naming_it_and_stores_nothing(api, brand, stars, customer):
    CampaignFactory(brand=brand, rules=[fixed(stars, MAX_AMOUNT, 10)] * 2)  # 20 x 10^12 > the limit

    response = api.post("/behavior/events", purchase(), HTTP_IDEMPOTENCY_KEY="big-1")

    body = refused(response, 422, "event_grant_limit")
    assert str(MAX_EVENT_GRANT) in body["details"] and body["limit"] == MAX_EVENT_GRANT
    assert body["reward_id"] == str(stars.pk)
    assert stored() == (0, 0, 0)
    # nothing is kept under the idempotency key either: the same purchase can be sent again
    again = api.post("/behavior/events", purchase(), HTTP_IDEMPOTENCY_KEY="big-1")
    refused(again, 422, "event_grant_limit")


def test_the_issues_event_of_eleven_thousand_maximal_grants_is_422_not_500(api, brand, stars, customer):
    # 11 campaigns of 100 rules x 10 effects of 10^12: 1.1 x 10^16 overflows the total column
    for _ in range(11):
        CampaignFactory(brand=brand, rules=[fixed(stars, MAX_AMOUNT, 10)] * 100)

    response = api.post("/behavior/events", purchase())

    refused(response, 422, "event_grant_limit")
    assert stored() == (0, 0, 0)


def test_an_event_that_would_take_the_wallet_past_its_limit_is_422_naming_it(api, brand, stars, customer):
    filling = {"conditions": [[cond("event.tags.fill", "eq", "yes")]], **fixed(stars, MAX_AMOUNT, 10)}
    CampaignFactory(brand=brand, rules=[filling])  # the event limit, on events tagged fill
    for n in range(int(MAX_WALLET_AMOUNT / MAX_EVENT_GRANT)):
        assert api.post("/behavior/events", purchase(f"F-{n}", tags={"fill": "yes"})).status_code == 201
    CampaignFactory(brand=brand, rules=[fixed(stars, 1)])
    before = stored()

    body = refused(api.post("/behavior/events", purchase("OVER")), 422, "wallet_limit")

    assert str(MAX_WALLET_AMOUNT) in body["details"] and body["limit"] == MAX_WALLET_AMOUNT
    assert stored() == before


def test_an_async_event_past_the_limit_ends_failed_with_the_limit_as_its_reason(
    api, brand, stars, customer, monkeypatch
):
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)
    CampaignFactory(brand=brand, rules=[fixed(stars, MAX_AMOUNT, 10)] * 2)

    response = api.post("/behavior/events?async=true", purchase())
    assert response.status_code == 202, response.content
    event = event_process_queued(event_id=response.json()["data"]["id"])

    assert event.status == Event.Status.FAILED and event.error_code == "event_grant_limit"
    assert str(MAX_EVENT_GRANT) in event.reason
    assert (WalletLine.objects.count(), Transaction.objects.count()) == (0, 0)
    shown = api.get(f"/behavior/events/{event.pk}").json()["data"]
    assert shown["status"] == "FAILED"


# ---- item 6: exact decimals end to end ------------------------------------------------------------------------------


@sixteen_digits
def test_a_wallet_total_above_10_12_renders_as_its_exact_decimal(api, brand, customer):
    fine = RewardFactory(brand=brand, decimals=4, attributes={})
    CampaignFactory(brand=brand, rules=[fixed(fine, MAX_AMOUNT, 3), fixed(fine, D("0.0009"))])

    emitted = api.post("/behavior/events", purchase())

    assert emitted.status_code == 201, emitted.content
    text = api.get("/customers/cust-1").content.decode()
    assert '"total":3000000000000.0009' in text.replace(" ", "")
    assert '"total":3000000000000.0009' in emitted.content.decode().replace(" ", "")


@sixteen_digits
def test_an_async_redemption_of_sixteen_digits_is_a_redemption_row_of_exactly_that(api, brand, customer, monkeypatch):
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)
    fine = RewardFactory(brand=brand, decimals=4, attributes={"conversion_factor": "0.1"})
    CampaignFactory(brand=brand, rules=[fixed(fine, MAX_AMOUNT)])
    emit(customer, brand, value=1)
    Campaign.objects.all().update(status="INACTIVE")  # only the redemption moves money
    body = purchase("R-1", redeem=[{"id": str(fine.pk), "amount": D("999999999999.9992")}])

    response = api.post("/behavior/events?async=true", exact_dumps(body))
    assert response.status_code == 202, response.content
    event = event_process_queued(event_id=response.json()["data"]["id"])

    assert event.status == Event.Status.RESOLVED
    [row] = Transaction.objects.filter(event_id=event.pk, type="REDEMPTION")
    assert row.amount == D("-999999999999.9992")
    assert row.cost == D("-99999999999.9999")  # -999999999999.9992 x 0.1, rounded to 4 places
    shown = api.get(f"/behavior/events/{event.pk}").content.decode().replace(" ", "")
    assert '"amount":999999999999.9992' in shown


def test_stored_campaign_rules_keep_their_exact_decimals(api, brand, customer):
    fine = RewardFactory(brand=brand, decimals=4, attributes={})
    body = campaign_body(fine, amount=D("0.0001"))
    body["rules"][0]["conditions"] = [[cond("order.value", "gte", D("999999999999.9997"))]]
    body["rules"].append(
        {
            "conditions": [[cond("order.value", "lt", D("1234567890123.4567"))]],
            "effects": [{"reward_id": str(fine.pk), "kind": "FIXED", "amount": 1}],
        }
    )

    response = api.post("/campaigns", exact_dumps(body))

    assert response.status_code == 201, response.content
    rules = Campaign.objects.get().rules
    assert rules[0]["effects"][0]["amount"] == D("0.0001")
    assert rules[0]["conditions"][0][0]["value"] == D("999999999999.9997")
    assert rules[1]["conditions"][0][0]["value"] == D("1234567890123.4567")
    shown = api.get(f"/campaigns/{response.json()['data']['id']}").content.decode().replace(" ", "")
    assert '"value":999999999999.9997' in shown and '"value":1234567890123.4567' in shown
    assert '"amount":0.0001' in shown


def test_stored_reward_conditions_keep_their_exact_decimals(api, brand):
    body = {"brand_id": "0001", "name": "Fine", "type": "POINTS", "conditions": {"max_amount": D("999999999999.9997")}}

    response = api.post("/rewards", exact_dumps(body))

    assert response.status_code == 201, response.content
    assert Reward.objects.get(name="Fine").conditions["max_amount"] == D("999999999999.9997")
    assert '"max_amount":999999999999.9997' in response.content.decode().replace(" ", "")


@sixteen_digits
def test_a_stored_condition_compares_with_its_exact_value(api, brand, customer):
    test_stored_campaign_rules_keep_their_exact_decimals(api, brand, customer)
    # the float of 999999999999.9997 is 999999999999.9998: an order of ...9997 would not match
    below = api.post("/behavior/events", exact_dumps(purchase("B-1", D("999999999999.9996"))))
    assert [a["amount"] for a in data(below)["result"]["accumulations"]] == [1]
    at = api.post("/behavior/events", exact_dumps(purchase("B-2", D("999999999999.9997"))))
    assert sorted(a["amount"] for a in data(at)["result"]["accumulations"]) == [D("0.0001"), 1]
