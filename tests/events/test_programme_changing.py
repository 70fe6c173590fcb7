"""An event uses the campaigns it fires as they stand under their locks, whatever the compiled
programme says (issue 15, items 1-2; the races themselves are in test_campaign_edit_race.py,
PostgreSQL only). Here, on any backend, the row is changed behind the programme cache's back
(a queryset update moves neither the programme version nor anything the cache watches), which is
what an edit committed between the cache read and the lock looks like to the event."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import api_key_create
from events import rewarding
from events.models import Event
from tests.factories import CampaignFactory, CustomerFactory, fixed_rule
from tests.helpers import budget_used, emit, granted
from wallets.models import WalletLine

pytestmark = pytest.mark.django_db


def test_event_is_evaluated_again_with_the_budget_the_row_holds_now(brand, stars):
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)])
    customer = CustomerFactory()
    emit(customer, campaign.brand, value=1)  # compiles and caches the programme: no budget
    # what a budget given by an edit looks like: the past grant counted (and marked) against it
    WalletLine.objects.filter(campaign=campaign).update(budgeted=True)
    Campaign.objects.filter(pk=campaign.pk).update(
        budget=Decimal(14), budget_used=Decimal(10), updated_at=timezone.now()
    )

    event = emit(customer, campaign.brand, value=1)

    assert granted(event) == 4  # cut to what the row's budget left, not the cached "no budget"
    assert budget_used(campaign) == 14


def test_budget_removed_behind_the_cache_grants_in_full(brand, stars):
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)], budget=Decimal(15))
    customer = CustomerFactory()
    emit(customer, campaign.brand, value=1)  # cached: budgeted
    Campaign.objects.filter(pk=campaign.pk).update(budget=None, updated_at=timezone.now())

    event = emit(customer, campaign.brand, value=1)

    assert granted(event) == 10  # no TypeError on the missing budget, no cut
    assert budget_used(campaign) == 10  # the first event's grant; the second is not budgeted


def test_edits_that_keep_landing_answer_503_and_store_nothing(monkeypatch, brand, stars):
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)])
    customer = CustomerFactory()
    _key, raw = api_key_create(name="k")
    calls = []

    def always_changed(*args, **kwargs):
        calls.append(1)
        raise rewarding.ProgrammeChanged

    monkeypatch.setattr("events.services.emit.grants_under_campaign_locks", always_changed)
    response = Client().post(
        "/api/v1/behavior/events",
        {"customer_id": customer.pk, "brand_id": campaign.brand_id, "type": "PURCHASE", "order": {"value": 1}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 503, response.content
    assert response.json()["error"] == "programme_changing"
    assert response["Retry-After"] == "1"
    assert len(calls) == 10  # MAX_EVALUATIONS, then it gives up
    assert not Event.objects.filter(customer=customer, type_id="PURCHASE").exists()
