"""POST /coupons/redeem: Masivo's shape, every refusal with its machine code, and the
redemption as an event (status, ledger rows, metrics)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import api_key_create, campaign_update
from coupons.models import CouponCode, CouponUse
from events.models import Event
from tests.coupons.helpers import coupon_campaign, redeem
from tests.factories import BrandFactory, CustomerFactory, RewardFactory, cond, fixed_rule
from tests.helpers import T4, emit, rows_of, totals

pytestmark = pytest.mark.django_db


def body(customer, code, **extra):
    return {"customer_id": customer.pk, "code": code, **extra}


def test_a_redemption_answers_masivos_shape_with_the_wallet_including_the_grant(api, customer, stars, summer):
    response = api.post("/coupons/redeem", body(customer, "summer-1", brand_id="0001", platform="APP"))

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert {"customer", "wallet", "accumulations"} <= set(data)
    assert data["customer"]["id"] == customer.pk
    assert [(a["amount"], a["campaign_id"], a["state"]) for a in data["accumulations"]] == [
        (50, str(summer.pk), "AVAILABLE")
    ]
    assert [(t["reward_id"], t["total"]) for t in data["wallet"]["totals"]] == [(str(stars.pk), 50)]
    assert data["code"] == "SUMMER-1" and data["status"] == "RESOLVED"
    event = Event.objects.get(pk=data["event_id"])
    assert (event.type_id, event.status, event.platform) == ("COUPON_REDEMPTION", "RESOLVED", "APP")
    assert [t for t, _a, _l in rows_of(event)] == ["ACCUMULATION"]
    assert CouponCode.objects.get(code="SUMMER-1").uses_count == 1
    assert CouponUse.objects.get(event=event).customer_id == customer.pk
    # it is a visit like any event: counted in the customer's metrics
    metrics = api.get(f"/customers/{customer.pk}").json()["data"]["customer"]["metrics"]["lifetime"]
    assert metrics["events"] == {"COUPON_REDEMPTION": 1}


def test_brand_id_defaults_to_the_campaigns_brand(customer, stars, summer):
    event = redeem(customer, "SUMMER-1")
    assert event.brand_id == "0001"
    assert totals(customer, stars) == T4(50)


def test_an_unknown_code_answers_422_and_stores_nothing(api, customer, summer):
    response = api.post("/coupons/redeem", body(customer, "NOPE-1"))
    assert response.status_code == 422
    assert response.json()["error"] == "coupon_not_found"
    assert not Event.objects.filter(type_id="COUPON_REDEMPTION").exists()


def test_a_used_up_code_answers_422_with_its_failed_event(api, customer, stars, summer):
    assert api.post("/coupons/redeem", body(customer, "SUMMER-1")).status_code == 201
    other = CustomerFactory()

    response = api.post("/coupons/redeem", body(other, "SUMMER-1"))

    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "coupon_used_up"
    failed = Event.objects.get(pk=error["event_id"])
    assert (failed.status, failed.error_code) == ("FAILED", "coupon_used_up")
    assert totals(other, stars) == T4(0)
    assert CouponCode.objects.get(code="SUMMER-1").uses_count == 1


def test_a_shared_code_serves_each_customer_once_and_stops_at_its_max_uses(customer, stars, summer):
    from core.exceptions import BusinessRuleError

    redeem(customer, "SHARED-3")
    with pytest.raises(BusinessRuleError) as again:
        redeem(customer, "SHARED-3")
    assert again.value.code == "coupon_customer_limit"
    others = [CustomerFactory() for _ in range(3)]
    redeem(others[0], "SHARED-3")
    redeem(others[1], "SHARED-3")
    with pytest.raises(BusinessRuleError) as full:
        redeem(others[2], "SHARED-3")
    assert full.value.code == "coupon_used_up"
    assert CouponCode.objects.get(code="SHARED-3").uses_count == 3


@pytest.mark.parametrize(
    "change",
    [
        {"status": Campaign.Status.INACTIVE},
        {"end_date": timezone.now() - timedelta(days=1), "start_date": timezone.now() - timedelta(days=10)},
        {"start_date": timezone.now() + timedelta(days=1)},
    ],
    ids=["paused", "finished", "scheduled"],
)
def test_a_code_of_a_campaign_that_is_not_running_answers_422(api, customer, summer, change):
    Campaign.objects.filter(pk=summer.pk).update(**change)
    response = api.post("/coupons/redeem", body(customer, "SUMMER-1"))
    assert response.status_code == 422
    assert response.json()["error"] == "coupon_campaign_not_running"
    assert CouponCode.objects.get(code="SUMMER-1").uses_count == 0


def test_a_condition_not_met_answers_the_rules_requirement(api, customer, brand, stars):
    rule = {
        **fixed_rule(stars, amount=5, conditions=[[cond("order.store_id", "eq", "S1")]]),
        "requirement": "Only at store S1",
    }
    coupon_campaign(brand, stars, rules=[rule], codes=["STORE-ONLY"])

    refused = api.post("/coupons/redeem", body(customer, "STORE-ONLY", store_id="S2"))
    assert refused.status_code == 422
    assert (refused.json()["error"], refused.json()["requirement"]) == (
        "coupon_requirement_not_met",
        "Only at store S1",
    )
    assert CouponCode.objects.get(code="STORE-ONLY").uses_count == 0

    assert api.post("/coupons/redeem", body(customer, "STORE-ONLY", store_id="S1")).status_code == 201
    assert totals(customer, stars) == T4(5)


def test_without_its_own_text_a_condition_not_met_answers_the_default(api, customer, brand, stars):
    coupon_campaign(
        brand, stars, rules=[fixed_rule(stars, conditions=[[cond("event.platform", "eq", "POS")]])], codes=["POS-1"]
    )
    refused = api.post("/coupons/redeem", body(customer, "POS-1", platform="APP"))
    assert refused.json()["requirement"] == "Condition was not met"


def test_a_code_whose_rewards_are_out_of_budget_answers_422(customer, brand, stars):
    from core.exceptions import BusinessRuleError

    coupon_campaign(brand, stars, amount=50, budget=Decimal(60), codes=["B-1", "B-2", "B-3"])
    redeem(customer, "B-1")  # 50 of the 60
    other = CustomerFactory()
    redeem(other, "B-2")  # cut to the 10 left, like any budgeted grant
    assert totals(other, stars) == T4(10)
    with pytest.raises(BusinessRuleError) as refused:
        redeem(CustomerFactory(), "B-3")
    assert refused.value.code == "coupon_budget_exhausted"


def test_the_campaigns_per_customer_limit_applies_across_its_codes(customer, brand, stars):
    from core.exceptions import BusinessRuleError

    coupon_campaign(brand, stars, limit={"count": 1, "period": "lifetime"}, codes=["L-1", "L-2"])
    redeem(customer, "L-1")
    with pytest.raises(BusinessRuleError) as refused:
        redeem(customer, "L-2")
    assert refused.value.code == "coupon_campaign_limit"


def test_a_brand_restricted_key_cannot_redeem_another_brands_code(client, customer, stars, summer):
    other = BrandFactory(id="0002")
    key, raw = api_key_create(name="other brand", brand_ids=[other.pk])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for extra in ({}, {"brand_id": "0002"}):
        response = client.post(
            "/api/v1/coupons/redeem", body(customer, "SUMMER-1", **extra), content_type="application/json", **headers
        )
        assert response.status_code == 422, response.content
        assert response.json()["error"] == "coupon_not_found"
    assert CouponCode.objects.get(code="SUMMER-1").uses_count == 0


def test_a_code_of_a_global_campaign_is_redeemed_at_the_brand_given(customer, brand):
    reward = RewardFactory(brand=None, decimals=0)
    coupon_campaign(None, reward, codes=["GLOBAL-1"])
    event = redeem(customer, "GLOBAL-1", brand)
    assert event.brand_id == brand.pk and totals(customer, reward) == T4(50)


def test_coupon_redemption_events_cannot_be_emitted_by_the_api(api, customer, summer):
    response = api.post(
        "/behavior/events", {"customer_id": customer.pk, "brand_id": "0001", "type": "COUPON_REDEMPTION"}
    )
    assert response.status_code == 400
    assert "POST /coupons/redeem" in str(response.json()["details"])


def test_a_coupon_campaign_never_fires_on_other_events(customer, brand, stars, summer):
    emit(customer, brand, value=100)
    assert totals(customer, stars) == T4(0)


def test_a_customer_without_coupon_consent_is_refused_and_nothing_stored(api, customer, summer):
    assert (
        api.patch(
            f"/customers/{customer.pk}/consent", {"consent": {"purposes": {"coupon_campaigns": False}}}
        ).status_code
        == 200
    )
    response = api.post("/coupons/redeem", body(customer, "SUMMER-1"))
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["purpose"]) == ("no_consent", "coupon_campaigns")
    assert not Event.objects.filter(type_id="COUPON_REDEMPTION").exists()


def test_input_is_bounded(api, customer, summer):
    assert api.post("/coupons/redeem", body(customer, "X" * 65)).status_code == 400
    assert api.post("/coupons/redeem", {"code": "SUMMER-1"}).status_code == 400
    assert api.post("/coupons/redeem", body(customer, "SUMMER-1", cdoe="x")).status_code == 400  # near miss
    assert api.post("/coupons/redeem", body(CustomerFactory.build(id="ghost"), "SUMMER-1")).status_code == 404


def test_a_started_coupon_campaign_keeps_its_type_and_trigger(summer):
    from core.exceptions import Conflict

    with pytest.raises(Conflict):
        campaign_update(campaign_id=summer.pk, type=Campaign.Type.BEHAVIOR, trigger="PURCHASE")
