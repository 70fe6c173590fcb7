"""The gift-card endpoints: loading a pool, a customer's cards, redeeming one; their bounds,
refusals and brand isolation."""

import pytest

from campaigns.services import api_key_create
from giftcards.models import GiftCardCode
from giftcards.services import MAX_CODES_PER_LOAD
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, fixed_rule
from tests.giftcards.conftest import load
from tests.helpers import emit

pytestmark = pytest.mark.django_db


def keyed(api, *brand_ids):
    """The same client with a key restricted to these brands."""
    _key, raw = api_key_create(name="restricted", brand_ids=list(brand_ids))
    api.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    return api


def test_loading_codes_answers_what_was_added_and_the_duplicates(api, gift):
    load(gift, "OLD-1")
    r = api.post(
        f"/rewards/{gift.pk}/gift-cards",
        {"codes": ["A-1", {"code": "A-2", "description": "own", "expired_at": "2099-01-01T00:00:00Z"}, "A-1", "OLD-1"]},
    )
    assert r.status_code == 201, r.json()
    assert r.json()["data"] == {"reward_id": str(gift.pk), "added": 2, "duplicates": ["A-1", "OLD-1"], "left": 3}
    a2 = GiftCardCode.objects.get(code="A-2")
    assert a2.description == "own" and a2.expired_at.year == 2099 and a2.status == "AVAILABLE"


def test_a_code_is_unique_in_the_programme_across_rewards(api, brand, gift):
    other = RewardFactory(brand=brand, type="GIFT_CARD", attributes={})
    load(gift, "SAME")
    r = api.post(f"/rewards/{other.pk}/gift-cards", {"codes": ["SAME"]})
    assert r.status_code == 201 and r.json()["data"]["added"] == 0 and r.json()["data"]["duplicates"] == ["SAME"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"codes": []}, "codes"),
        ({"codes": ["has space"]}, "codes[0]"),
        ({"codes": ["a/b"]}, "codes[0]"),
        ({"codes": ["x" * 101]}, "codes"),
        ({"codes": [7]}, "codes"),
        ({"codes": ["A"], "expired_at": "2001-01-01T00:00:00Z"}, "codes[0]"),
        ({"codes": ["A"], "description": "d" * 256}, "description"),
        ({"codes": [f"C{i}" for i in range(MAX_CODES_PER_LOAD + 1)]}, "codes"),
    ],
)
def test_bad_loads_are_refused_whole(api, gift, body, field):
    r = api.post(f"/rewards/{gift.pk}/gift-cards", body)
    assert r.status_code == 400, r.json()
    assert field in str(r.json()["details"])
    assert GiftCardCode.objects.count() == 0


def test_only_gift_card_rewards_hold_codes(api, gift, stars):
    r = api.post(f"/rewards/{stars.pk}/gift-cards", {"codes": ["A"]})
    assert r.status_code == 422 and r.json()["error"] == "not_a_gift_card_reward"
    r = api.post("/rewards/00000000-0000-0000-0000-000000000000/gift-cards", {"codes": ["A"]})
    assert r.status_code == 404 and r.json()["error"] == "reward_not_found"
    assert api.post("/rewards/not-a-uuid/gift-cards", {"codes": ["A"]}).status_code == 404


def test_a_restricted_key_loads_its_brands_rewards_only(api, brand, gift):
    other = RewardFactory(brand=BrandFactory(id="0002"), type="GIFT_CARD", attributes={})
    shared = RewardFactory(brand=None, type="GIFT_CARD", attributes={})
    keyed(api, "0002")
    assert api.post(f"/rewards/{gift.pk}/gift-cards", {"codes": ["A"]}).json()["error"] == "reward_not_found"
    assert api.post(f"/rewards/{shared.pk}/gift-cards", {"codes": ["A"]}).status_code == 403
    assert api.post(f"/rewards/{other.pk}/gift-cards", {"codes": ["A"]}).status_code == 201
    assert list(GiftCardCode.objects.values_list("reward_id", flat=True)) == [other.pk]


def test_the_customer_lists_its_cards_in_masivos_shape(api, customer, brand, gift, gift_campaign):
    load(gift, "G-1", "G-2", description="10 EUR")
    event = emit(customer, brand)
    emit(customer, brand)
    r = api.get("/customers/cust-1/rewards/gift-cards")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2 and [c["code"] for c in body["data"]] == ["G-2", "G-1"]  # newest first
    first = body["data"][1]
    assert first["reward_id"] == str(gift.pk) and first["customer_id"] == "cust-1"
    assert first["description"] == "10 EUR" and first["status"] == "GRANTED" and first["redeemed_at"] is None
    assert api.get("/customers/cust-1/rewards/gift-cards?to=0").json()["data"][0]["code"] == "G-2"
    assert api.get("/customers/cust-1/rewards/gift-cards?status=REDEEMED").json()["count"] == 0
    assert api.get("/customers/cust-1/rewards/gift-cards?status=AVAILABLE").status_code == 400
    assert api.get("/customers/cust-1/rewards/gift-cards?reward_id=x").status_code == 400
    assert api.get("/customers/nobody/rewards/gift-cards").json()["error"] == "customer_not_found"
    # the event's result renders the same card
    shown = api.get(f"/behavior/events/{event.pk}").json()["data"]["result"]["gift_card"]
    assert shown == [first]


def test_redeeming_a_card_marks_it_used_once(api, customer, brand, gift, gift_campaign):
    load(gift, "G-1")
    emit(customer, brand)
    r = api.post("/customers/cust-1/rewards/gift-cards/G-1/redeem")
    assert r.status_code == 200, r.json()
    assert r.json()["data"]["status"] == "REDEEMED" and r.json()["data"]["redeemed_at"]
    again = api.post("/customers/cust-1/rewards/gift-cards/G-1/redeem")
    assert again.status_code == 409 and again.json()["error"] == "gift_card_already_redeemed"


def test_another_customers_card_answers_like_an_unknown_one(api, customer, brand, gift, gift_campaign):
    load(gift, "G-1", "FREE")
    CustomerFactory(id="cust-2")
    emit(customer, brand)
    for path in ("cust-2/rewards/gift-cards/G-1", "cust-2/rewards/gift-cards/FREE", "cust-1/rewards/gift-cards/NOPE"):
        r = api.post(f"/customers/{path}/redeem")
        assert r.status_code == 404 and r.json()["error"] == "gift_card_not_found"
    assert api.post("/customers/nobody/rewards/gift-cards/G-1/redeem").json()["error"] == "customer_not_found"
    assert GiftCardCode.objects.get(code="G-1").status == "GRANTED"


def test_held_and_expired_cards_are_not_redeemed(api, customer, brand, gift, gift_campaign):
    load(gift, "HELD", "LATE", "OK")
    emit(customer, brand, fulfilled=False)  # takes HELD
    emit(customer, brand)  # takes LATE
    GiftCardCode.objects.filter(code="LATE").update(expired_at="2020-01-01T00:00:00Z")
    r = api.post("/customers/cust-1/rewards/gift-cards/HELD/redeem")
    assert r.status_code == 409 and r.json()["error"] == "gift_card_not_redeemable"
    r = api.post("/customers/cust-1/rewards/gift-cards/LATE/redeem")
    assert r.status_code == 422 and r.json()["error"] == "gift_card_expired"


def test_a_restricted_key_sees_and_redeems_its_brands_cards_only(api, customer, brand, gift, gift_campaign):
    other_brand = BrandFactory(id="0002")
    other_gift = RewardFactory(brand=other_brand, type="GIFT_CARD", attributes={})
    CampaignFactory(brand=other_brand, rules=[fixed_rule(other_gift, amount=1)])
    load(gift, "MINE-NOT")
    load(other_gift, "THEIRS")
    emit(customer, brand)
    emit(customer, other_brand)
    keyed(api, "0002")
    assert [c["code"] for c in api.get("/customers/cust-1/rewards/gift-cards").json()["data"]] == ["THEIRS"]
    assert api.post("/customers/cust-1/rewards/gift-cards/MINE-NOT/redeem").status_code == 404
    assert api.post("/customers/cust-1/rewards/gift-cards/THEIRS/redeem").status_code == 200


def test_the_walkthrough_of_the_docs_works_over_the_api(api, brand, customer):
    """docs/giftcards.md "See it work": a GIFT_CARD reward, a campaign, codes, a purchase, the list, a redemption."""
    r = api.post("/rewards", {"brand_id": "0001", "name": "Gift card 10", "type": "GIFT_CARD", "decimals": 0})
    reward_id = r.json()["data"]["id"]
    campaign = {
        "brand_id": "0001",
        "name": "Gift",
        "type": "BEHAVIOR",
        "status": "ACTIVE",
        "trigger": "PURCHASE",
        "start_date": "2024-01-01T00:00:00Z",
        "rules": [{"conditions": [], "effects": [{"reward_id": reward_id, "kind": "FIXED", "amount": 1}]}],
    }
    assert api.post("/campaigns", campaign).status_code == 201
    loaded = api.post(f"/rewards/{reward_id}/gift-cards", {"codes": ["GC-1", "GC-2", "GC-3"], "description": "10 EUR"})
    assert loaded.json()["data"]["left"] == 3
    event = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 20}}
    granted = api.post("/behavior/events", event).json()["data"]["result"]["gift_card"]
    assert [c["code"] for c in granted] == ["GC-1"]
    assert api.get("/customers/cust-1/rewards/gift-cards").json()["data"][0]["status"] == "GRANTED"
    assert api.post("/customers/cust-1/rewards/gift-cards/GC-1/redeem").json()["data"]["status"] == "REDEEMED"
