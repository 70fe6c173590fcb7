"""A campaign's GIFT_CARD grant hands out codes from the reward's pool (giftcards.granting):
what the event, the wallet and the codes say, for a resolved, held, cancelled and reversed event."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from core.exceptions import Conflict
from events.services import event_expire_due, event_fulfill, event_reverse
from giftcards.models import GiftCardCode
from giftcards.services import gift_card_redeem
from tests.factories import CampaignFactory, fixed_rule
from tests.giftcards.conftest import load
from tests.helpers import emit, fresh, totals

pytestmark = pytest.mark.django_db
MASIVO = {"code", "reward_id", "customer_id", "rewarded_at", "description", "expired_at", "redeemed_at"}


def card(code) -> GiftCardCode:
    return GiftCardCode.objects.get(code=code)


def test_a_grant_hands_one_code_to_the_customer_and_the_event(customer, brand, gift, stars, gift_campaign):
    load(gift, "G-1", "G-2", "G-3", description="10 EUR")
    event = emit(customer, brand, value=20)
    [granted] = event.result["gift_card"]
    assert MASIVO <= set(granted)
    assert granted["code"] == "G-1" and granted["reward_id"] == str(gift.pk) and granted["customer_id"] == "cust-1"
    assert granted["description"] == "10 EUR" and granted["rewarded_at"] and granted["redeemed_at"] is None
    row = card("G-1")
    assert (row.status, row.customer_id, row.event_id, row.brand_id) == ("GRANTED", "cust-1", event.pk, brand.pk)
    assert card("G-2").status == "AVAILABLE"
    assert totals(customer, gift)["total"] == 1  # the wallet line holds the card handed out
    assert totals(customer, stars)["total"] == 5
    assert "gift_card_unfilled" not in event.result


def test_each_grant_takes_the_next_codes_and_never_the_same(customer, brand, gift, gift_campaign):
    load(gift, "G-1", "G-2")
    first, second = emit(customer, brand), emit(customer, brand)
    assert [c["code"] for c in first.result["gift_card"] + second.result["gift_card"]] == ["G-1", "G-2"]
    assert totals(customer, gift)["total"] == 2


def test_an_amount_of_two_hands_out_two_cards(customer, brand, gift):
    CampaignFactory(brand=brand, rules=[fixed_rule(gift, amount=2)])
    load(gift, "G-1", "G-2", "G-3")
    event = emit(customer, brand)
    assert [c["code"] for c in event.result["gift_card"]] == ["G-1", "G-2"]
    assert totals(customer, gift)["total"] == 2


def test_an_empty_pool_grants_nothing_and_the_result_says_so(customer, brand, gift, stars, gift_campaign):
    event = emit(customer, brand)
    assert event.status == "RESOLVED"
    assert event.result["gift_card"] == []
    assert event.result["gift_card_unfilled"] == [
        {
            "reward_id": str(gift.pk),
            "campaign_id": str(gift_campaign.pk),
            "rule_id": "rule-1",
            "wanted": 1,
            "handed_out": 0,
            "reason": "pool_empty",
        }
    ]
    assert totals(customer, gift)["total"] == 0  # no line for a card not handed out
    assert totals(customer, stars)["total"] == 5  # the other grants are untouched
    assert [r["rule_id"] for r in fresh(event).rewarding_campaigns] == ["rule-2"]


def test_a_pool_too_small_hands_out_what_it_has(customer, brand, gift):
    CampaignFactory(brand=brand, rules=[fixed_rule(gift, amount=3)])
    load(gift, "G-1")
    event = emit(customer, brand)
    assert [c["code"] for c in event.result["gift_card"]] == ["G-1"]
    assert event.result["gift_card_unfilled"][0]["handed_out"] == 1
    assert totals(customer, gift)["total"] == 1


def test_expired_codes_are_never_handed_out(customer, brand, gift, gift_campaign):
    load(gift, "OLD")
    GiftCardCode.objects.filter(code="OLD").update(expired_at="2020-01-01T00:00:00Z")  # expired since it was loaded
    load(gift, "NEW")
    assert [c["code"] for c in emit(customer, brand).result["gift_card"]] == ["NEW"]
    assert card("OLD").status == "AVAILABLE"


def test_a_budgeted_grant_gives_back_the_budget_it_did_not_hand_out(customer, brand, gift):
    campaign = CampaignFactory(brand=brand, budget=Decimal(10), rules=[fixed_rule(gift, amount=2)])
    load(gift, "G-1")
    emit(customer, brand)
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 1  # 2 asked, 1 handed out
    emit(customer, brand)  # the pool is empty now
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 1


def test_events_without_gift_cards_have_no_gift_card_part(customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=50)
    assert "gift_card" not in event.result and totals(customer, stars)["total"] == 5


def test_a_held_event_holds_its_codes_until_fulfilled(customer, brand, gift, gift_campaign):
    load(gift, "G-1", "G-2")
    held = emit(customer, brand, fulfilled=False)
    [entry] = held.result["gift_card"]
    assert entry["status"] == "HELD" and entry["rewarded_at"] is None
    assert card("G-1").status == "HELD" and totals(customer, gift)["pending"] == 1
    with pytest.raises(Conflict, match="held"):
        gift_card_redeem(customer_id="cust-1", code="G-1")
    assert [c["code"] for c in emit(customer, brand).result["gift_card"]] == ["G-2"]  # nobody else gets G-1

    event_fulfill(event_id=held.pk)
    row = card("G-1")
    assert row.status == "GRANTED" and row.rewarded_at is not None
    [entry] = fresh(held).result["gift_card"]
    assert entry["status"] == "GRANTED" and entry["rewarded_at"]
    assert totals(customer, gift)["total"] == 2


def test_a_cancelled_held_event_returns_its_codes_to_the_pool(customer, brand, gift, gift_campaign):
    load(gift, "G-1")
    held = emit(customer, brand, fulfilled=False)
    event_reverse(event_id=held.pk, reason="order cancelled")
    row = card("G-1")
    assert (row.status, row.customer_id, row.event_id, row.rewarded_at) == ("AVAILABLE", None, None, None)
    assert fresh(held).result["gift_card"][0]["status"] == "RETURNED"
    assert totals(customer, gift)["pending"] == 0
    assert [c["code"] for c in emit(customer, brand).result["gift_card"]] == ["G-1"]  # handed out again


def test_a_reversal_voids_unredeemed_codes_and_keeps_redeemed_ones(customer, brand, gift):
    CampaignFactory(brand=brand, rules=[fixed_rule(gift, amount=2)])
    load(gift, "G-1", "G-2", "G-3")
    event = emit(customer, brand)
    gift_card_redeem(customer_id="cust-1", code="G-2")
    event_reverse(event_id=event.pk, reason="fraud")
    assert card("G-1").status == "VOID" and card("G-1").voided_at is not None
    assert card("G-2").status == "REDEEMED"
    assert {c["code"]: c["status"] for c in fresh(event).result["gift_card"]} == {"G-1": "VOID", "G-2": "REDEEMED"}
    assert totals(customer, gift)["total"] == 0  # the line is taken back; the ledger nets to zero
    assert [c["code"] for c in emit(customer, brand).result["gift_card"]] == ["G-3"]  # voided codes stay out


def test_an_expired_held_event_returns_its_codes_to_the_pool(customer, brand, gift, gift_campaign):
    load(gift, "G-1")
    held = emit(customer, brand, fulfilled=False, reserve=1)
    assert event_expire_due(now=timezone.now() + timedelta(days=2)) == [held.pk]
    assert fresh(held).status == "EXPIRED"
    assert card("G-1").status == "AVAILABLE" and fresh(held).result["gift_card"][0]["status"] == "RETURNED"
