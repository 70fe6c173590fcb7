"""Codes of a COUPONS campaign: generated or supplied, unique in the programme, bounded, listed
with their uses; and what a COUPONS campaign must be when it is saved."""

import re

import pytest
from django.db import IntegrityError, transaction

from coupons.codes import ALPHABET
from coupons.models import CouponCode
from tests.coupons.helpers import coupon_campaign, redeem
from tests.factories import CampaignFactory, cond, fixed_rule, per_value_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(brand, stars):
    return coupon_campaign(brand, stars)


def test_generated_codes_have_the_length_prefix_and_alphabet_asked(api, campaign):
    response = api.post(
        f"/campaigns/{campaign.pk}/codes", {"quantity": 500, "length": 8, "prefix": "sum-", "max_uses": 2}
    )

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["added"] == 500
    assert data["codes_summary"] == {"used": 0, "total": 1000, "left": 1000, "codes": 500}
    codes = list(CouponCode.objects.filter(campaign=campaign).values_list("code", flat=True))
    assert len(set(codes)) == 500
    assert all(re.fullmatch(r"SUM-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", c) for c in codes)
    assert not set("01OIL") & set(ALPHABET)
    assert set(CouponCode.objects.filter(campaign=campaign).values_list("max_uses", "max_uses_per_customer")) == {
        (2, 1)
    }


def test_supplied_codes_are_upper_cased_and_a_taken_one_adds_none(api, brand, stars, campaign):
    assert api.post(f"/campaigns/{campaign.pk}/codes", {"codes": ["welcome", "Vip-2"]}).status_code == 201
    other = coupon_campaign(brand, stars)

    refused = api.post(f"/campaigns/{other.pk}/codes", {"codes": ["NEW-1", "WELCOME"]})

    assert refused.status_code == 409
    assert refused.json()["error"] == "code_exists" and "WELCOME" in refused.json()["details"]
    assert sorted(CouponCode.objects.values_list("code", flat=True)) == ["VIP-2", "WELCOME"]


def test_codes_are_unique_in_the_programme_by_a_constraint(brand, stars, campaign):
    other = coupon_campaign(brand, stars, codes=["ONLY-ONCE"])
    with pytest.raises(IntegrityError), transaction.atomic():
        CouponCode.objects.create(campaign=campaign, code="ONLY-ONCE")
    assert CouponCode.objects.get(code="ONLY-ONCE").campaign_id == other.pk


def test_generation_tops_up_collisions_with_existing_codes(campaign, monkeypatch):
    """Half of the first round's codes exist already: the call still adds the number asked."""
    from coupons import codes as codegen

    real = codegen.random_codes
    taken = sorted(real(50, length=6, prefix="T"))
    CouponCode.objects.bulk_create([CouponCode(campaign=campaign, code=c) for c in taken])
    rounds = []

    def rigged(count, *, length, prefix):
        rounds.append(count)
        fresh = real(count, length=length, prefix=prefix) - set(taken)
        return set(taken[: count // 2]) | set(list(fresh)[: count - count // 2]) if len(rounds) == 1 else fresh

    monkeypatch.setattr(codegen, "random_codes", rigged)
    from coupons.services import coupon_codes_add

    assert coupon_codes_add(campaign_id=campaign.pk, quantity=40, length=6, prefix="T") == 40
    assert rounds == [40, 20]
    assert CouponCode.objects.filter(campaign=campaign).count() == 90


@pytest.mark.parametrize(
    "body, named",
    [
        ({"quantity": 1_000_001}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 10, "length": 5}, "length"),
        ({"quantity": 10, "length": 33}, "length"),
        ({"quantity": 10, "prefix": "P" * 17}, "prefix"),
        ({"quantity": 10, "prefix": "a b"}, "prefix"),
        ({"quantity": 1_000_000, "length": 6}, "length"),  # 31^6 is too few for a million
        ({"codes": ["ok-1"], "quantity": 3}, "quantity"),
        ({}, "quantity"),
        ({"codes": ["x"]}, "codes"),
        ({"codes": ["A" * 65]}, "codes"),
        ({"codes": [f"C-{i}" for i in range(10_001)]}, "codes"),
        ({"quantity": 3, "max_uses": 0}, "max_uses"),
        ({"quantity": 3, "max_uses": 2, "max_uses_per_customer": 3}, "max_uses_per_customer"),
    ],
)
def test_out_of_bounds_input_is_a_400_naming_the_field(api, campaign, body, named):
    response = api.post(f"/campaigns/{campaign.pk}/codes", body)
    assert response.status_code == 400, response.content
    assert named in str(response.json()["details"])
    assert not CouponCode.objects.exists()


def test_codes_belong_to_coupons_campaigns_only(api, star_campaign):
    response = api.post(f"/campaigns/{star_campaign.pk}/codes", {"quantity": 3})
    assert response.status_code == 400
    assert api.post("/campaigns/3f2c4a59-0000-4000-8000-000000000000/codes", {"quantity": 3}).status_code == 404


def test_codes_are_listed_paged_with_their_uses(api, customer, campaign):
    from coupons.services import coupon_codes_add

    coupon_codes_add(campaign_id=campaign.pk, codes=[f"LIST-{i}" for i in range(5)])
    redeem(customer, "LIST-3")

    page = api.get(f"/campaigns/{campaign.pk}/codes?from=2&to=3").json()
    assert (page["from"], page["to"], page["count"]) == (2, 3, 5)
    assert [c["code"] for c in page["data"]] == ["LIST-2", "LIST-3"]
    used = page["data"][1]
    assert (used["uses_count"], used["uses_left"]) == (1, 0)
    assert [u["customer_id"] for u in used["uses"]] == [customer.pk]
    assert [c["code"] for c in api.get(f"/campaigns/{campaign.pk}/codes?used=true").json()["data"]] == ["LIST-3"]
    assert api.get(f"/campaigns/{campaign.pk}/codes?code=list-1").json()["count"] == 1
    assert api.get(f"/campaigns/{campaign.pk}/codes?used=maybe").status_code == 400


def test_another_brands_key_sees_no_codes(client, campaign):
    from campaigns.services import api_key_create
    from tests.factories import BrandFactory

    _key, raw = api_key_create(name="other", brand_ids=[BrandFactory(id="0002").pk])
    response = client.get(f"/api/v1/campaigns/{campaign.pk}/codes", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404


def test_a_coupons_campaign_is_triggered_by_coupon_redemption_and_grants_fixed_effects(api, brand, stars):
    base = {"brand_id": brand.pk, "name": "Summer", "type": "COUPONS", "start_date": "2026-01-01T00:00:00Z"}
    fixed = [fixed_rule(stars, amount=5)]

    wrong_trigger = api.post("/campaigns", {**base, "trigger": "PURCHASE", "rules": fixed})
    assert wrong_trigger.status_code == 400 and "trigger" in wrong_trigger.json()["details"]
    per_value = api.post("/campaigns", {**base, "trigger": "COUPON_REDEMPTION", "rules": [per_value_rule(stars)]})
    assert "rules[0].effects[0].kind" in per_value.json()["details"]
    behaviour = api.post("/campaigns", {**base, "type": "BEHAVIOR", "trigger": "COUPON_REDEMPTION", "rules": fixed})
    assert behaviour.status_code == 400

    with_text = [{**fixed_rule(stars, conditions=[[cond("event.platform", "eq", "POS")]]), "requirement": "At a till"}]
    created = api.post("/campaigns", {**base, "trigger": "COUPON_REDEMPTION", "rules": with_text})
    assert created.status_code == 201, created.content
    assert created.json()["data"]["rules"][0]["requirement"] == "At a till"
    too_long = [{**fixed_rule(stars), "requirement": "x" * 256}]
    assert api.post("/campaigns", {**base, "trigger": "COUPON_REDEMPTION", "rules": too_long}).status_code == 400


def test_a_behaviour_campaign_cannot_become_a_coupon_one_with_its_trigger(brand, stars):
    from datetime import datetime, timezone

    from campaigns.services import campaign_update
    from core.exceptions import InvalidInput

    draft = CampaignFactory(
        brand=brand, rules=[fixed_rule(stars)], start_date=datetime(2099, 1, 1, tzinfo=timezone.utc)
    )
    with pytest.raises(InvalidInput):
        campaign_update(campaign_id=draft.pk, type="COUPONS")
    campaign_update(campaign_id=draft.pk, type="COUPONS", trigger="COUPON_REDEMPTION")
