"""API keys restricted to brands: 403 for another brand, and lists never show its data."""

import pytest
from django.test import Client

from campaigns.services import api_key_create
from tests.factories import BrandFactory, CampaignFactory, RewardFactory, fixed_rule
from tests.helpers import emit, registration_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_brands(brand, customer):
    other = BrandFactory(id="0002", name="Other")
    mine_reward, other_reward = RewardFactory(brand=brand, name="Mine"), RewardFactory(brand=other, name="Theirs")
    CampaignFactory(brand=brand, rules=[fixed_rule(mine_reward, amount=10)])
    CampaignFactory(brand=other, rules=[fixed_rule(other_reward, amount=20)])
    mine_event = emit(customer, brand, value=10)
    other_event = emit(customer, other, value=10)
    _key, raw = api_key_create(name="brand 1 only", brand_ids=["0001"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, mine_event, other_event, mine_reward, other_reward


def test_restricted_key_cannot_see_or_act_on_another_brands_events(two_brands):
    """Another brand's event answers like an unknown one (404), never a 403 that confirms it."""
    client, mine, other, *_ = two_brands
    assert client.get(f"/api/v1/behavior/events/{mine.pk}").status_code == 200
    for call in (
        lambda: client.get(f"/api/v1/behavior/events/{other.pk}"),
        lambda: client.patch(f"/api/v1/behavior/events/{other.pk}/fulfill"),
        lambda: client.post(
            f"/api/v1/behavior/events/{other.pk}/reverse", {"reason": "x"}, content_type="application/json"
        ),
        # a body that would be refused does not tell the event exists either
        lambda: client.post(f"/api/v1/behavior/events/{other.pk}/reverse", {}, content_type="application/json"),
    ):
        r = call()
        assert r.status_code == 404 and r.json()["error"] == "event_not_found"
    other.refresh_from_db()
    assert other.status == "RESOLVED"


def test_restricted_key_gets_403_for_using_another_brand(two_brands):
    client, *_ = two_brands
    for call in (
        lambda: client.post(
            "/api/v1/behavior/events",
            {"customer_id": "cust-1", "brand_id": "0002", "type": "PURCHASE", "order": {"value": 10}},
            content_type="application/json",
        ),
        lambda: client.post(
            "/api/v1/rewards", {"brand_id": "0002", "name": "x", "type": "POINTS"}, content_type="application/json"
        ),
        lambda: client.post("/api/v1/brands", {"id": "0003", "name": "x"}, content_type="application/json"),
    ):
        r = call()
        assert r.status_code == 403 and r.json()["error"] == "permission_denied"


def test_restricted_key_lists_only_its_brands_data(two_brands):
    client, mine, _other, mine_reward, _other_reward = two_brands
    events = client.get("/api/v1/behavior/events").json()
    registered = registration_of(mine.customer)  # cust-1 was registered at 0001, the first brand
    assert [e["id"] for e in events["data"]] == [str(mine.pk), str(registered.pk)] and events["count"] == 2
    assert [b["id"] for b in client.get("/api/v1/brands").json()["data"]] == ["0001"]
    assert [r["name"] for r in client.get("/api/v1/rewards").json()["data"]] == ["Mine"]
    assert {c["brand_id"] for c in client.get("/api/v1/campaigns").json()["data"]} == {"0001"}
    assert {t["brand_id"] for t in client.get("/api/v1/transactions").json()["data"]} == {"0001"}
    wallet = client.get("/api/v1/customers/cust-1").json()["data"]["wallet"]
    assert [t["reward_id"] for t in wallet["totals"]] == [str(mine_reward.pk)]
    assert {line["brand_id"] for line in wallet["lines"]} == {"0001"}
