"""Consent in the engine (issue "A drop-in for Masivo integrations", item 4): a customer whose
consent says `behavioral_campaigns: false` still has events stored and answered as usual, but
no campaign is evaluated for them, so they grant nothing; the stored result says why.
Redemptions still work, and metrics still count."""

import pytest

from campaigns.services import event_type_create
from events.services import event_fulfill
from tests.helpers import T4, emit, totals
from wallets import customers as profile_services

pytestmark = pytest.mark.django_db

PURCHASE = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE"}


def withdraw(customer, purpose="behavioral_campaigns", allowed=False):
    profile_services.customer_consent_set(customer_id=customer.pk, consent={"purposes": {purpose: allowed}})


def test_without_behavioral_consent_an_event_is_stored_and_answered_but_grants_nothing(
    api, customer, stars, star_campaign
):
    withdraw(customer)
    response = api.post("/behavior/events", {**PURCHASE, "order": {"purchase_id": "A-1", "value": 120}})
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["status"] == "RESOLVED" and data["rewarding_campaigns"] == []
    assert data["result"]["accumulations"] == [] and data["result"]["campaigns_skipped"] == "no_behavioral_consent"
    assert data["result"]["customer"]["metrics"]["lifetime"]["number_of_purchases"] == 1  # metrics still count
    assert totals(customer, stars) == T4(0)
    assert api.get(f"/behavior/events/{data['id']}").json()["data"]["result"] == data["result"]


def test_redemptions_still_work_without_behavioral_consent(customer, brand, stars, star_campaign):
    emit(customer, brand, value=120)  # 12 stars while consent allows it
    withdraw(customer)
    event = emit(customer, brand, value=50, redeem=[(stars, 5)])
    assert event.status == "RESOLVED" and event.result["campaigns_skipped"] == "no_behavioral_consent"
    assert [r["amount"] for r in event.result["redemptions"]] == [5]
    assert totals(customer, stars) == T4(12 - 5)  # and the 5 stars of this purchase were not granted


def test_another_purpose_withdrawn_changes_nothing_and_consent_given_back_rewards_again(
    customer, brand, stars, star_campaign
):
    withdraw(customer, "email_marketing")
    first = emit(customer, brand, value=100)
    assert "campaigns_skipped" not in first.result and totals(customer, stars) == T4(10)
    withdraw(customer)
    assert emit(customer, brand, value=100).result["accumulations"] == []
    withdraw(customer, allowed=True)
    again = emit(customer, brand, value=100)
    assert "campaigns_skipped" not in again.result and totals(customer, stars) == T4(20)


def test_a_tracking_only_event_has_no_campaign_to_skip(customer, brand):
    event_type_create(name="PAGE_VIEW", tracking_only=True)
    withdraw(customer)
    event = emit(customer, brand, type="PAGE_VIEW")
    assert event.status == "RESOLVED" and "campaigns_skipped" not in event.result


def test_a_held_event_keeps_saying_why_it_granted_nothing_once_fulfilled(customer, brand, stars, star_campaign):
    withdraw(customer)
    held = emit(customer, brand, value=100, fulfilled=False)
    withdraw(customer, allowed=True)  # consent is judged when the event is applied, not when it is fulfilled
    fulfilled = event_fulfill(event_id=held.pk)
    assert fulfilled.status == "RESOLVED" and fulfilled.result["campaigns_skipped"] == "no_behavioral_consent"
    assert fulfilled.result["accumulations"] == [] and totals(customer, stars) == T4(0)
