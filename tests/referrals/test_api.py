"""The REST side: REFERRALS campaigns (referee_rules, max_uses), request-code, registration
with a referral code, and brand isolation."""

import pytest

from campaigns.services import api_key_create, campaign_update
from referrals.models import ReferralCode
from referrals.services import ALPHABET, CODE_LENGTH
from tests.factories import BrandFactory, CustomerFactory, RewardFactory, cond, fixed_rule
from tests.helpers import T4, assert_error, totals
from tests.referrals.helpers import START, referral_campaign

pytestmark = pytest.mark.django_db

CODE_KEYS = {"id", "code", "customer_id", "campaign_id", "uses_count", "max_uses", "created_at", "metadata"}


def campaign_body(stars, **extra):
    return {
        "brand_id": "0001",
        "name": "Bring a friend",
        "type": "REFERRALS",
        "trigger": "PURCHASE",
        "start_date": START.isoformat(),
        "rules": [fixed_rule(stars, amount=100)],
        "referee_rules": [fixed_rule(stars, amount=20)],
        "max_uses": 5,
        **extra,
    }


def test_a_referrals_campaign_is_created_and_shown_with_referee_rules_and_max_uses(api, brand, stars):
    response = api.post("/campaigns", campaign_body(stars))
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["type"] == "REFERRALS" and data["max_uses"] == 5
    assert data["referee_rules"][0]["effects"][0]["amount"] == 20 and data["referee_rules"][0]["id"]
    behaviour = api.get(f"/campaigns/{referral_campaign(brand, stars).pk}").json()["data"]
    assert behaviour["max_uses"] is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"type": "BEHAVIOR"}, "referee_rules"),
        ({"type": "BEHAVIOR", "referee_rules": []}, "max_uses"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses": 1_000_001}, "max_uses"),
        ({"max_uses": "5"}, "max_uses"),
        ({"limit": {"count": 1, "period": "day"}}, "limit"),
        ({"referee_rules": [{"conditions": [[cond("order.nope", "eq", 1)]], "effects": []}]}, None),
        ({"referee_rules": "all"}, "referee_rules"),
    ],
)
def test_referral_fields_are_validated(api, brand, stars, change, named):
    body = assert_error(api.post("/campaigns", campaign_body(stars, **change)), 400, "validation_error", named)
    if named is None:
        assert any(k.startswith("referee_rules[0]") for k in body["details"]), body


def test_a_gift_card_reward_cannot_be_granted_by_a_referral(api, brand, stars):
    card = RewardFactory(brand=brand, type="GIFT_CARD")
    body = campaign_body(stars, referee_rules=[fixed_rule(card, amount=1)])
    assert_error(api.post("/campaigns", body), 400, "validation_error", "referee_rules[0].effects[0].reward_id")


def test_max_uses_is_frozen_once_the_campaign_started(api, brand, stars):
    campaign = referral_campaign(brand, stars, max_uses=2)
    assert_error(api.patch(f"/campaigns/{campaign.pk}", {"max_uses": 3}), 409, "campaign_frozen")
    assert api.patch(f"/campaigns/{campaign.pk}", {"name": "Friends"}).status_code == 200


def test_request_code_creates_once_then_returns_the_same_code(api, brand, stars, ana, friends):
    first = api.post(
        f"/customers/{ana.pk}/referrals/request-code", {"campaign_id": str(friends.pk), "brand_id": "0001"}
    )
    assert first.status_code == 201, first.content
    code = first.json()["data"]
    assert set(code) == CODE_KEYS
    assert (code["customer_id"], code["uses_count"], code["max_uses"]) == ("ana", 0, 2)
    assert len(code["code"]) == CODE_LENGTH and set(code["code"]) <= set(ALPHABET)

    again = api.post(
        f"/customers/{ana.pk}/referrals/request-code", {"campaign_id": str(friends.pk), "brand_id": "0001"}
    )
    assert again.status_code == 200 and again.json()["data"] == code
    assert ReferralCode.objects.count() == 1


def test_request_code_refusals(api, brand, stars, ana, friends):
    path = f"/customers/{ana.pk}/referrals/request-code"
    body = {"campaign_id": str(friends.pk), "brand_id": "0001"}
    assert_error(api.post("/customers/nobody/referrals/request-code", body), 404, "customer_not_found")
    assert_error(api.post(path, {**body, "brand_id": "nope"}), 404, "brand_not_found")
    behaviour = api.post(
        "/campaigns", {**campaign_body(stars), "type": "BEHAVIOR", "referee_rules": [], "max_uses": None}
    )
    assert_error(api.post(path, {**body, "campaign_id": behaviour.json()["data"]["id"]}), 404, "campaign_not_found")
    assert_error(api.post(path, {"brand_id": "0001"}), 400, "validation_error", "campaign_id")
    assert_error(api.post(path, {**body, "campaign_id": "not-a-uuid"}), 400, "validation_error", "campaign_id")
    assert_error(api.post(path, {**body, "metadata": {"x": "y" * 9000}}), 400, "validation_error", "metadata")
    campaign_update(campaign_id=friends.pk, status="INACTIVE")
    assert_error(api.post(path, body), 422, "campaign_not_running")


def test_another_brands_campaign_is_unknown_and_its_brand_forbidden(client, brand, stars, ana, friends):
    other = BrandFactory(id="0002")
    theirs = referral_campaign(other, RewardFactory(brand=other))
    _key, raw = api_key_create(name="shop", brand_ids=["0001"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "content_type": "application/json"}
    path = f"/api/v1/customers/{ana.pk}/referrals/request-code"

    mine = client.post(path, {"campaign_id": str(friends.pk), "brand_id": "0001"}, **headers)
    assert mine.status_code == 201
    assert_error(
        client.post(path, {"campaign_id": str(theirs.pk), "brand_id": "0001"}, **headers), 404, "campaign_not_found"
    )
    assert client.post(path, {"campaign_id": str(theirs.pk), "brand_id": "0002"}, **headers).status_code == 403


def test_a_customer_registered_with_a_code_and_its_purchase_reward_both(api, brand, stars, ana, friends):
    code = api.post(f"/customers/{ana.pk}/referrals/request-code", {"campaign_id": str(friends.pk), "brand_id": "0001"})
    registered = api.post("/customers", {"id": "ben", "referral_code": code.json()["data"]["code"]})
    assert registered.status_code == 201, registered.content

    event = api.post(
        "/behavior/events", {"customer_id": "ben", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 30}}
    )

    assert event.status_code == 201, event.content
    referral = event.json()["data"]["result"]["referral"]
    assert set(referral) == {"qualified"}
    assert referral["qualified"][0]["referrer_id"] == "ana" and set(referral["qualified"][0]) == {
        "referral_id",
        "campaign_id",
        "referrer_id",
    }  # the referrer's grants are kept, not shown
    ben = CustomerFactory._meta.model.objects.get(pk="ben")
    assert totals(ben, stars) == T4(20) and totals(ana, stars) == T4(100)


def test_an_emitted_event_tells_why_its_code_was_ignored(api, brand, stars, ana, friends):
    response = api.post(
        "/behavior/events",
        {"customer_id": "ana", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 30}, "referral_code": "ZZZ"},
    )
    assert response.status_code == 201
    assert response.json()["data"]["result"]["referral"] == {"code": "ZZZ", "linked": False, "ignored": "unknown_code"}


def test_a_referral_event_cannot_be_emitted_through_the_api(api, brand, ana):
    body = {"customer_id": "ana", "brand_id": "0001", "type": "REFERRAL"}
    assert_error(api.post("/behavior/events", body), 400, "validation_error", "type")


def test_request_code_metadata_is_bounded(api, brand, stars, ana, friends):
    body = {"campaign_id": str(friends.pk), "brand_id": "0001", "metadata": {"note": "x" * 8192}}
    response = api.post(f"/customers/{ana.pk}/referrals/request-code", body)
    assert_error(response, 400, "validation_error", named="metadata")
    assert not ReferralCode.objects.exists()
