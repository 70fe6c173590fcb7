"""Redemption at every level (SPEC sections 3 and 5): placement rules, reward conditions, and the
preview that changes nothing."""

import pytest

from events.models import Event
from tests.factories import CampaignFactory, RewardFactory, fixed_rule
from tests.helpers import totals
from wallets.models import Transaction, WalletLine, WalletTotal

pytestmark = pytest.mark.django_db


@pytest.fixture
def holdings(api, brand, customer, stars):
    """What cust-1 holds, by name: 100 Stars (POINTS), 10 of a DISCOUNT for products, 3 of a PRODUCT
    reward and 50 of a GIFT_CARD, granted by one purchase over the API."""
    discount = RewardFactory(
        brand=brand,
        name="5 off",
        type="DISCOUNT",
        decimals=0,
        conditions={"applies_to": ["product"], "skus": ["LATTE"]},
        attributes={"conversion_factor": 5},
    )
    free = RewardFactory(brand=brand, name="Free cake", type="PRODUCT", decimals=0, attributes={})
    gift = RewardFactory(brand=brand, name="Gift card", type="GIFT_CARD", decimals=2, attributes={})
    CampaignFactory(
        brand=brand,
        rules=[
            fixed_rule(stars, amount=100),
            fixed_rule(discount, amount=10),
            fixed_rule(free, amount=3),
            fixed_rule(gift, amount=50),
        ],
    )
    r = api.post(
        "/behavior/events", {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 1}}
    )
    assert r.status_code == 201
    return {"stars": stars, "discount": discount, "free": free, "gift": gift}


def emit(api, order=None, redeem=None):
    body = {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "order": {
            "value": 40,
            "products": [{"sku": "LATTE", "amount": 1, "value": 20}, {"sku": "CAKE", "amount": 1, "value": 20}],
            **(order or {}),
        },
    }
    if redeem:
        body["redeem"] = redeem
    return api.post("/behavior/events", body)


def r(reward, amount):
    return [{"id": str(reward.pk), "amount": amount}]


def test_points_may_be_redeemed_at_every_level(api, customer, holdings):
    stars = holdings["stars"]
    resp = emit(
        api,
        {
            "redeem": r(stars, 1),
            "shipping": {"value": 5, "redeem": r(stars, 2)},
            "products": [{"sku": "LATTE", "value": 20, "redeem": r(stars, 3)}],
        },
        redeem=r(stars, 4),
    )
    assert resp.status_code == 201, resp.json()
    places = sorted(x["place"] for x in resp.json()["data"]["result"]["redemptions"])
    assert places == ["order.products[0].redeem[0]", "order.redeem[0]", "order.shipping.redeem[0]", "redeem[0]"]
    assert totals(customer, stars)["total"] == 200 - 10  # 100 + 100 from this purchase's campaign - 10


@pytest.mark.parametrize(
    "where, reward, ok",
    [
        ("product", "discount", True),  # configured for products (LATTE)
        ("order", "discount", False),  # not configured for the order
        ("shipping", "discount", False),
        ("order", "free", True),  # PRODUCT rewards at order level only
        ("product", "free", False),
        ("order", "gift", False),  # GIFT_CARD never inside an event
        ("shipping", "gift", False),
    ],
)
def test_placement_rules_by_reward_type(api, customer, holdings, where, reward, ok):
    redeem = r(holdings[reward], 1)
    order = {
        "order": {"redeem": redeem},
        "product": {"products": [{"sku": "LATTE", "value": 20, "redeem": redeem}]},
        "shipping": {"shipping": {"value": 5, "redeem": redeem}},
    }[where]
    before = Transaction.objects.count()
    resp = emit(api, order)
    if ok:
        assert resp.status_code == 201, resp.json()
    else:
        assert resp.status_code == 422
        body = resp.json()
        assert body["error"] == "reward_not_redeemable_here"
        assert body["reward_id"] == str(holdings[reward].pk) and body["place"].startswith("order")
        assert Event.objects.get(pk=body["event_id"]).status == "FAILED"
        assert Transaction.objects.count() == before  # nothing moved


def test_reward_conditions_hold_inside_the_order_but_not_for_top_level_redeem(api, customer, holdings):
    discount = holdings["discount"]
    resp = emit(api, {"products": [{"sku": "CAKE", "value": 20, "redeem": r(discount, 1)}]})
    assert resp.status_code == 422 and "CAKE" in resp.json()["details"]
    resp = emit(api, redeem=r(discount, 1))  # operators' corrections: no condition checked
    assert resp.status_code == 201
    assert totals(customer, discount)["total"] == 10 + 10 - 1


def test_preview_reports_each_redemption_and_changes_nothing(api, customer, holdings):
    stars, discount = holdings["stars"], holdings["discount"]
    snapshot = (
        list(Transaction.objects.values_list("id", flat=True)),
        list(WalletTotal.objects.values()),
        list(WalletLine.objects.values()),
        Event.objects.count(),
    )
    body = {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "order": {
            "value": 40,
            "redeem": r(stars, 50),
            "products": [
                {"sku": "LATTE", "value": 20, "redeem": r(discount, 2)},
                {"sku": "CAKE", "value": 20, "redeem": r(discount, 1)},
            ],
        },
    }
    resp = api._call("put", "/events/redeem/preview", body)
    assert resp.status_code == 200, resp.json()
    data = resp.json()["data"]
    assert [x["status"] for x in data["redemptions"]] == ["OK", "OK", "ERROR"]
    assert data["redemptions"][2]["error"]["error"] == "reward_not_redeemable_here"
    assert data["valid"] is False
    # 50 stars x 0.1 + 2 discounts x 5 = 15 off a 40 order
    assert data["order"] == {"value": 40, "discount": 15, "value_after": 25}
    too_much = {**body, "order": {"value": 40, "redeem": r(stars, 10_000)}}
    resp = api._call("put", "/events/redeem/preview", too_much)
    assert resp.json()["data"]["redemptions"][0]["error"]["error"] == "insufficient_balance"
    assert snapshot == (
        list(Transaction.objects.values_list("id", flat=True)),
        list(WalletTotal.objects.values()),
        list(WalletLine.objects.values()),
        Event.objects.count(),
    )


def test_reward_conditions_are_validated_when_the_reward_is_saved(api, brand):
    resp = api.post("/rewards", {"brand_id": "0001", "name": "x", "type": "DISCOUNT", "conditions": {}})
    assert resp.status_code == 400 and "conditions.applies_to" in resp.json()["details"]
    resp = api.post("/rewards", {"brand_id": "0001", "name": "x", "type": "POINTS", "conditions": {"nope": 1}})
    assert resp.status_code == 400 and "conditions.nope" in resp.json()["details"]
    resp = api.post(
        "/rewards", {"brand_id": "0001", "name": "x", "type": "PRODUCT", "conditions": {"applies_to": ["shipping"]}}
    )
    assert resp.status_code == 400
