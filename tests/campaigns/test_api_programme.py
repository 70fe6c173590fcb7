"""A whole programme run through the API alone (SPEC sections 1, 3 and 4): set-up, earning, budgets,
limits, tiers, reversal; CRUD of every set-up resource with filters, paging and `in_use` refusals;
campaign freezing and copies; set-up validation; PATCH /customers/{id}."""

import uuid
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from tests.factories import cond
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

BASE_TIER_ID = "7a1e0000-0000-4000-8000-000000000001"  # campaigns/migrations/0004
SPEND = "customer.metrics.lifetime.spend_total"
# COUPON_REDEMPTION: what a coupon redemption is recorded as (coupons migration 0002)
BUILT_IN = ["ADD_TO_CART", "BIRTHDAY", "COUPON_REDEMPTION", "PURCHASE", "REGISTRATION", "TIER_ADJUSTMENT"]
# operators' manual adjustments (events migration 0011) and referrers' rewards (referrals migration 0002):
# no campaign triggers on them
TRACKING_BUILT_IN = ["ADJUSTMENT", "REFERRAL"]


# ---- helpers ----------------------------------------------------------------------------------------------------


@pytest.fixture
def http(api, client):
    """The JSON client of conftest, plus DELETE."""
    api.delete = lambda path: client.delete(f"/api/v1{path}", **api.headers)
    return api


def iso(moment) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def days(n: float) -> str:
    return iso(timezone.now() + timedelta(days=n))


def ok(response, status: int = 200):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"data"}, body
    return body["data"]


def listing(response) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"data", "from", "to", "count"}, body
    return body


def effect(reward_id, kind="FIXED", amount=1, **more) -> dict:
    return {"reward_id": reward_id, "kind": kind, "amount": amount, **more}


def rule(*effects, conditions=None) -> dict:
    return {"conditions": conditions or [], "effects": list(effects)}


def new_brand(http, brand_id="0001", name="Cafe Central") -> dict:
    return ok(http.post("/brands", {"id": brand_id, "name": name}), 201)


def new_reward(http, brand_id="0001", name="Stars", type="POINTS", decimals=0, **more) -> str:
    body = {"brand_id": brand_id, "name": name, "type": type, "decimals": decimals, **more}
    return ok(http.post("/rewards", body), 201)["id"]


def campaign_body(name, *, rules, trigger="PURCHASE", brand_id="0001", start_date=None, **more) -> dict:
    return {
        "brand_id": brand_id,
        "name": name,
        "type": "BEHAVIOR",
        "trigger": trigger,
        "status": "ACTIVE",
        "start_date": start_date or days(-30),
        "rules": rules,
        **more,
    }


def new_campaign(http, name, **kwargs) -> dict:
    return ok(http.post("/campaigns", campaign_body(name, **kwargs)), 201)


def new_customer(http, customer_id="ana", **more) -> dict:
    return ok(http.post("/customers", {"id": customer_id, "name": "Ana Diaz", "email": "ana@example.com", **more}), 201)


def emit(http, type="PURCHASE", *, brand_id="0001", customer_id="ana", **body):
    return http.post("/behavior/events", {"customer_id": customer_id, "brand_id": brand_id, "type": type, **body})


def purchase(http, value, purchase_id, *, brand_id="0001", customer_id="ana", **order) -> dict:
    return ok(
        emit(
            http,
            brand_id=brand_id,
            customer_id=customer_id,
            order={"purchase_id": purchase_id, "value": value, **order},
        ),
        201,
    )


def earned(event: dict) -> dict:
    """{campaign_id: amount} of the event's accumulations."""
    out = defaultdict(int)
    for line in event["result"]["accumulations"]:
        out[line["campaign_id"]] += line["amount"]
    return dict(out)


def customer(http, customer_id="ana") -> dict:
    return ok(http.get(f"/customers/{customer_id}"))


def totals(http, customer_id="ana") -> dict:
    """{reward name: spendable total} as GET /customers/{id} reports it."""
    return {t["reward"]["name"]: t["total"] for t in customer(http, customer_id)["wallet"]["totals"]}


def tier_level(http, customer_id="ana") -> int:
    return customer(http, customer_id)["customer"]["tier"]["level"]


def ids(body: dict) -> list:
    return [item["id"] for item in body["data"]]


# ---- 1. a whole programme set up through the API ------------------------------------------------------------------


@pytest.fixture
def programme(http):
    """2 brands, 3 rewards, 3 tiers, 2 custom event types, 12 campaigns and a customer, all over HTTP."""
    p = SimpleNamespace()
    new_brand(http, "0001", "Cafe Central")
    new_brand(http, "0002", "Book Corner")
    p.stars = new_reward(http, "0001", "Stars", "POINTS", 0, attributes={"conversion_factor": 0.1})
    p.miles = new_reward(http, None, "Miles", "POINTS", 2)
    p.discount = new_reward(
        http,
        "0002",
        "Book discount",
        "DISCOUNT",
        2,
        attributes={"conversion_factor": 1},
        conditions={"applies_to": ["order"]},
    )
    p.silver = ok(
        http.post("/tiers", {"name": "Silver", "level": 2, "entry_conditions": [[cond(SPEND, "gte", 100)]]}), 201
    )["id"]
    p.gold = ok(
        http.post("/tiers", {"name": "Gold", "level": 3, "entry_conditions": [[cond(SPEND, "gte", 500)]]}), 201
    )["id"]
    assert ok(http.post("/event-types", {"name": "SURVEY", "tracking_only": False}), 201) == {
        "name": "SURVEY",
        "tracking_only": False,
        "built_in": False,
    }
    assert ok(http.post("/event-types", {"name": "PAGE_VIEW", "tracking_only": True}), 201) == {
        "name": "PAGE_VIEW",
        "tracking_only": True,
        "built_in": False,
    }

    def campaign(name, **kwargs) -> str:
        return new_campaign(http, name, **kwargs)["id"]

    never = [rule(effect(p.stars, "FIXED", 1000))]
    p.per_value = campaign(
        "1 star per 10 spent",
        rules=[
            rule(
                effect(p.stars, "PER_VALUE", 1, per=10, basis="order.value", expiration="12/months"),
                conditions=[[cond("order.value", "gte", 10)]],
            )
        ],
    )
    p.discounted = campaign(
        "1/8 mile per unit of discounted value",
        rules=[rule(effect(p.miles, "PER_VALUE", 0.125, per=1, basis="order.discounted_value"))],
    )
    p.per_product = campaign(
        "2 stars a coffee",
        rules=[
            rule(effect(p.stars, "PER_PRODUCT", 2), conditions=[[cond("order.products.sku", "in", ["LATTE", "MOCHA"])]])
        ],
    )
    p.silver_bonus = campaign("Silver bonus", rules=[rule(effect(p.stars, "FIXED", 50, tier_id=p.silver))])
    p.budgeted = campaign("Welcome stars while they last", budget=50, rules=[rule(effect(p.stars, "FIXED", 30))])
    p.limited = campaign(
        "Cart miles once a day",
        trigger="ADD_TO_CART",
        limit={"count": 1, "period": "day"},
        rules=[rule(effect(p.miles, "FIXED", 2.5))],
    )
    p.survey = campaign("Thanks for the survey", trigger="SURVEY", rules=[rule(effect(p.stars, "FIXED", 10))])
    p.scheduled = campaign("Next month's promo", start_date=days(30), rules=never)
    p.inactive = campaign("Paused promo", status="INACTIVE", rules=never)
    p.finished = campaign("Last month's promo", start_date=days(-60), end_date=days(-1), rules=never)
    p.global_miles = campaign("A mile a purchase, any brand", brand_id=None, rules=[rule(effect(p.miles, "FIXED", 1))])
    p.books = campaign(
        "Book discount on credit",
        brand_id="0002",
        rules=[rule(effect(p.discount, "FIXED", 5), conditions=[[cond("order.payment_method", "eq", "CREDIT")]])],
    )
    new_customer(http, "ana")
    return p


FIRST_ORDER = {
    "discounted_value": 45.5,
    "payment_method": "CREDIT",
    "products": [
        {"sku": "LATTE", "amount": 2, "value": 20},
        {"sku": "MUFFIN", "amount": 1, "value": 15},
        {"sku": "MOCHA", "amount": 1, "value": 25},
    ],
}


def test_a_programme_set_up_over_the_api_earns_the_exact_amount_of_every_reward(http, programme):
    p = programme
    first = purchase(http, 60, "A-1", **FIRST_ORDER)
    assert first["status"] == "RESOLVED"
    # 60/10 stars; floor(45.5) * 0.125 = 5.625 miles, cut to 2 decimals; 3 coffees x 2 stars;
    # the budgeted 30; the global mile. Scheduled, inactive and finished campaigns do not fire.
    assert earned(first) == {p.per_value: 6, p.discounted: 5.62, p.per_product: 6, p.budgeted: 30, p.global_miles: 1}
    assert {c["campaign_id"] for c in first["rewarding_campaigns"]} == set(earned(first))
    assert totals(http) == {"Stars": 42, "Miles": 6.62}

    survey = ok(emit(http, "SURVEY"), 201)
    assert earned(survey) == {p.survey: 10}

    books = purchase(http, 30, "B-1", brand_id="0002", payment_method="CREDIT")
    assert earned(books) == {p.books: 5, p.global_miles: 1}  # the 0001 campaigns stay with their brand
    cash = purchase(http, 30, "B-2", brand_id="0002", payment_method="CASH")
    assert earned(cash) == {p.global_miles: 1}
    assert totals(http) == {"Stars": 52, "Miles": 8.62, "Book discount": 5}
    lifetime = customer(http)["customer"]["metrics"]["lifetime"]
    assert (lifetime["number_of_purchases"], lifetime["spend_total"]) == (3, 120)
    assert lifetime["events"] == {"PURCHASE": 3, "SURVEY": 1, "REGISTRATION": 1}  # registered over the API


def test_a_budget_caps_what_the_campaign_grants_and_reports_what_is_left(http, programme):
    p = programme
    assert ok(http.get(f"/campaigns/{p.budgeted}"))["budget_remaining"] == 50
    purchase(http, 60, "A-1")
    campaign = ok(http.get(f"/campaigns/{p.budgeted}"))
    assert (campaign["budget"], campaign["budget_used"], campaign["budget_remaining"]) == (50, 30, 20)
    second = purchase(http, 50, "A-2")
    assert earned(second)[p.budgeted] == 20  # cut to what remained
    third = purchase(http, 50, "A-3")
    assert p.budgeted not in earned(third)
    campaign = ok(http.get(f"/campaigns/{p.budgeted}"))
    assert (campaign["budget"], campaign["budget_used"], campaign["budget_remaining"]) == (50, 50, 0)


def test_the_per_customer_day_limit_stops_a_second_rewarded_event_the_same_day(http, programme):
    p = programme
    new_customer(http, "ben", email="ben@example.com")
    moment = iso(timezone.now() - timedelta(minutes=1))  # both events on the same day, whatever the time
    cart = {"product": {"sku": "BEANS", "value": 12}, "issued_at": moment}
    first = ok(emit(http, "ADD_TO_CART", **cart), 201)
    assert earned(first) == {p.limited: 2.5}
    second = ok(emit(http, "ADD_TO_CART", **cart), 201)
    assert (second["status"], second["result"]["accumulations"], second["rewarding_campaigns"]) == ("RESOLVED", [], [])
    assert totals(http) == {"Miles": 2.5}
    assert earned(ok(emit(http, "ADD_TO_CART", customer_id="ben", **cart), 201)) == {p.limited: 2.5}


def test_the_tier_upgrades_at_once_when_spend_crosses_100_and_records_a_tier_adjustment(http, programme):
    p = programme
    purchase(http, 60, "A-1")
    assert tier_level(http) == 1
    assert customer(http)["customer"]["tier_id"] == BASE_TIER_ID
    assert listing(http.get("/behavior/events?type=TIER_ADJUSTMENT"))["count"] == 0
    crossing = purchase(http, 50, "A-2")
    data = customer(http)["customer"]
    assert (data["tier_id"], data["tier"]) == (p.silver, {"id": p.silver, "name": "Silver", "level": 2})
    adjustments = listing(http.get("/behavior/events?type=TIER_ADJUSTMENT"))
    assert adjustments["count"] == 1
    [adjustment] = adjustments["data"]
    assert (adjustment["type"], adjustment["status"], adjustment["customer_id"], adjustment["brand_id"]) == (
        "TIER_ADJUSTMENT",
        "RESOLVED",
        "ana",
        "0001",
    )
    assert (adjustment["data"]["from_level"], adjustment["data"]["to_level"]) == (1, 2)
    assert (adjustment["data"]["to_tier_id"], adjustment["data"]["cause_event_id"]) == (p.silver, crossing["id"])


def test_a_tier_limited_effect_fires_only_for_customers_in_that_tier(http, programme):
    p = programme
    assert p.silver_bonus not in earned(purchase(http, 110, "A-1"))  # tiers are read before the event
    assert tier_level(http) == 2
    assert earned(purchase(http, 400, "A-2"))[p.silver_bonus] == 50  # Silver before; Gold after it
    assert tier_level(http) == 3
    assert p.silver_bonus not in earned(purchase(http, 10, "A-3"))
    assert [e["data"]["to_level"] for e in listing(http.get("/behavior/events?type=TIER_ADJUSTMENT"))["data"]] == [3, 2]


def test_a_reversal_gives_back_the_budget_and_recomputes_the_tier(http, programme):
    p = programme
    purchase(http, 60, "A-1", **FIRST_ORDER)
    crossing = purchase(http, 50, "A-2")  # no discounted_value: the discounted basis is the value
    assert earned(crossing) == {p.per_value: 5, p.discounted: 6.25, p.budgeted: 20, p.global_miles: 1}
    assert (tier_level(http), totals(http)) == (2, {"Stars": 67, "Miles": 13.87})

    reversed_ = ok(http.post(f"/behavior/events/{crossing['id']}/reverse", {"reason": "order refunded"}))
    assert (reversed_["status"], reversed_["reason"]) == ("REVERSED", "order refunded")
    campaign = ok(http.get(f"/campaigns/{p.budgeted}"))
    assert (campaign["budget_used"], campaign["budget_remaining"]) == (30, 20)
    data = customer(http)
    assert (data["customer"]["tier_id"], data["customer"]["tier"]["level"]) == (BASE_TIER_ID, 1)
    assert data["customer"]["metrics"]["lifetime"]["spend_total"] == 60
    assert totals(http) == {"Stars": 42, "Miles": 6.62}
    down, up = listing(http.get("/behavior/events?type=TIER_ADJUSTMENT"))["data"]
    assert (up["data"]["to_level"], down["data"]["from_level"], down["data"]["to_level"]) == (2, 2, 1)
    assert (down["data"]["cause"], down["data"]["cause_event_id"]) == ("reversal", crossing["id"])

    again = purchase(http, 50, "A-3")  # the budget given back is granted again
    assert earned(again)[p.budgeted] == 20
    assert tier_level(http) == 2


def test_a_tracking_only_event_is_stored_but_earns_nothing(http, programme):
    stored = ok(emit(http, "PAGE_VIEW", tags={"page": "/menu"}, platform="web"), 201)
    assert (stored["type"], stored["status"], stored["rewarding_campaigns"]) == ("PAGE_VIEW", "RESOLVED", [])
    assert stored["result"]["accumulations"] == [] and stored["result"]["redemptions"] == []
    assert ok(http.get(f"/behavior/events/{stored['id']}"))["data"]["tags"] == {"page": "/menu"}
    assert ids(listing(http.get("/behavior/events?type=PAGE_VIEW"))) == [stored["id"]]
    assert customer(http)["wallet"] == {"lines": [], "totals": []}


def test_a_tracking_only_event_earns_nothing_even_with_a_campaign_on_it(http, programme):
    campaign = http.post(
        "/campaigns",
        campaign_body("Page view stars", trigger="PAGE_VIEW", rules=[rule(effect(programme.stars, "FIXED", 1))]),
    )
    if campaign.status_code == 400:  # refusing such a campaign at save time is fine too
        assert_error(campaign, 400, "validation_error", "trigger")
    else:
        assert campaign.status_code == 201, campaign.content
    stored = ok(emit(http, "PAGE_VIEW"), 201)
    assert (stored["result"]["accumulations"], stored["rewarding_campaigns"]) == ([], [])
    assert totals(http) == {}


def test_an_unknown_event_type_on_emit_is_400_and_stores_nothing(http, programme):
    assert_error(emit(http, "SURVEYS"), 400, "validation_error", "type")
    assert_error(emit(http, "survey"), 400, "validation_error", "type")
    # only the customer's REGISTRATION event (it was registered over the API)
    assert [event["type"] for event in listing(http.get("/behavior/events"))["data"]] == ["REGISTRATION"]


# ---- 2. CRUD of every resource --------------------------------------------------------------------------------------


def test_brands_page_patch_and_delete_when_unused(http):
    for n in (1, 2, 3):
        new_brand(http, f"000{n}", f"Brand {n}")
    page = listing(http.get("/brands?from=1&to=1"))
    assert (ids(page), page["from"], page["to"], page["count"]) == (["0002"], 1, 1, 3)
    assert_error(http.get("/brands?from=2&to=1"), 400, "validation_error", "to")
    assert_error(http.get("/brands?from=one"), 400, "validation_error", "from")
    renamed = ok(http.patch("/brands/0002", {"name": "Book Corner"}))
    assert (renamed["id"], renamed["name"]) == ("0002", "Book Corner")
    assert ok(http.get("/brands/0002"))["name"] == "Book Corner"
    assert_error(http.patch("/brands/0002", {"id": "0009"}), 400, "validation_error", "id")
    assert_error(http.patch("/brands/0009", {"name": "Nobody"}), 404, "not_found")
    response = http.delete("/brands/0003")
    assert response.status_code == 204 and response.content == b""
    assert_error(http.get("/brands/0003"), 404, "not_found")
    assert_error(http.delete("/brands/0003"), 404, "not_found")
    assert ids(listing(http.get("/brands"))) == ["0001", "0002"]


def test_a_brand_with_rewards_or_campaigns_cannot_be_deleted(http):
    new_brand(http, "0001")
    new_brand(http, "0002")
    new_reward(http, "0001")
    assert_error(http.delete("/brands/0001"), 409, "in_use")
    global_reward = new_reward(http, None, "Miles")
    new_campaign(http, "Future", brand_id="0002", start_date=days(5), rules=[rule(effect(global_reward))])
    assert_error(http.delete("/brands/0002"), 409, "in_use")
    assert ids(listing(http.get("/brands"))) == ["0001", "0002"]


def test_rewards_filter_by_brand_and_type_page_and_patch(http):
    new_brand(http, "0001")
    new_brand(http, "0002")
    stars = new_reward(http, "0001", "Stars", "POINTS", 0)
    coupon = new_reward(http, "0001", "10% off", "DISCOUNT", 2, conditions={"applies_to": ["order"]})
    miles = new_reward(http, None, "Miles", "POINTS", 2)
    card = new_reward(http, "0002", "Gift card", "GIFT_CARD", 2)
    assert ids(listing(http.get("/rewards?type=POINTS"))) == [stars, miles]
    assert ids(listing(http.get("/rewards?brand_id=0001&type=DISCOUNT"))) == [coupon]
    assert ids(listing(http.get("/rewards?brand_id=0002"))) == [card]
    assert listing(http.get("/rewards?type=PRODUCT")) == {"data": [], "from": 0, "to": -1, "count": 0}
    page = listing(http.get("/rewards?from=1&to=2"))
    assert (ids(page), page["from"], page["to"], page["count"]) == ([coupon, miles], 1, 2, 4)

    patched = ok(
        http.patch(
            f"/rewards/{coupon}",
            {
                "name": "15% off",
                "attributes": {"conversion_factor": 0.5},
                "conditions": {"applies_to": ["order", "product"], "min_order_value": 20},
                "type": "DISCOUNT",
                "decimals": 2,
            },
        )
    )
    assert (patched["name"], patched["type"], patched["decimals"], patched["brand_id"]) == (
        "15% off",
        "DISCOUNT",
        2,
        "0001",
    )
    assert (patched["attributes"], patched["conditions"]) == (
        {"conversion_factor": 0.5},
        {"applies_to": ["order", "product"], "min_order_value": 20},
    )
    assert ok(http.get(f"/rewards/{coupon}")) == patched
    response = http.delete(f"/rewards/{card}")
    assert response.status_code == 204
    assert_error(http.get(f"/rewards/{card}"), 404, "not_found")


def test_a_reward_granted_by_a_campaign_cannot_be_deleted(http):
    new_brand(http)
    stars = new_reward(http)
    new_campaign(http, "Future stars", start_date=days(5), rules=[rule(effect(stars))])
    assert_error(http.delete(f"/rewards/{stars}"), 409, "in_use")
    assert ok(http.get(f"/rewards/{stars}"))["id"] == stars


def test_a_reward_held_in_a_wallet_cannot_be_deleted_after_its_campaign_is_gone(http):
    new_brand(http)
    stars = new_reward(http)
    campaign = new_campaign(http, "Stars", status="INACTIVE", rules=[rule(effect(stars, amount=4))])
    ok(http.patch(f"/campaigns/{campaign['id']}", {"status": "ACTIVE"}))
    new_customer(http)
    purchase(http, 10, "A-1")
    assert totals(http) == {"Stars": 4}
    assert_error(http.delete(f"/campaigns/{campaign['id']}"), 409, "in_use")  # it has started
    assert_error(http.delete(f"/rewards/{stars}"), 409, "in_use")


def test_tiers_list_by_level_page_patch_and_delete_when_unused(http):
    base = listing(http.get("/tiers"))
    assert base["count"] == 1
    assert {k: base["data"][0][k] for k in ("id", "name", "level", "entry_conditions", "base")} == {
        "id": BASE_TIER_ID,
        "name": "Base",
        "level": 1,
        "entry_conditions": [],
        "base": True,
    }
    gold = ok(http.post("/tiers", {"name": "Gold", "level": 3, "entry_conditions": [[cond(SPEND, "gte", 500)]]}), 201)
    silver = ok(http.post("/tiers", {"name": "Silver", "level": 2}), 201)
    assert (silver["level"], silver["entry_conditions"], silver["base"]) == (2, [], False)
    assert ok(http.get(f"/tiers/{gold['id']}")) == gold
    page = listing(http.get("/tiers?from=1&to=2"))
    assert (ids(page), page["count"]) == ([silver["id"], gold["id"]], 3)

    patched = ok(
        http.patch(
            f"/tiers/{silver['id']}",
            {
                "name": "Silver+",
                "entry_conditions": [
                    [cond(SPEND, "gte", 100)],
                    [cond("customer.metrics.this_year.number_of_purchases", "gte", 10)],
                ],
            },
        )
    )
    assert (patched["name"], patched["level"], len(patched["entry_conditions"])) == ("Silver+", 2, 2)
    assert ok(http.patch(f"/tiers/{gold['id']}", {"level": 4}))["level"] == 4
    response = http.delete(f"/tiers/{gold['id']}")
    assert response.status_code == 204
    assert_error(http.get(f"/tiers/{gold['id']}"), 404, "not_found")
    assert [t["level"] for t in listing(http.get("/tiers"))["data"]] == [1, 2]


def test_the_base_tier_cannot_be_deleted_or_moved(http):
    assert_error(http.delete(f"/tiers/{BASE_TIER_ID}"), 409, "in_use")
    assert_error(http.patch(f"/tiers/{BASE_TIER_ID}", {"level": 2}), 400, "validation_error", "level")
    assert ok(http.patch(f"/tiers/{BASE_TIER_ID}", {"name": "Member"}))["name"] == "Member"
    assert ok(http.get(f"/tiers/{BASE_TIER_ID}"))["level"] == 1


def test_a_tier_with_customers_cannot_be_deleted(http):
    new_brand(http)
    silver = ok(
        http.post("/tiers", {"name": "Silver", "level": 2, "entry_conditions": [[cond(SPEND, "gte", 100)]]}), 201
    )
    new_customer(http)
    purchase(http, 100, "A-1")
    assert tier_level(http) == 2
    assert_error(http.delete(f"/tiers/{silver['id']}"), 409, "in_use")
    assert ok(http.get(f"/tiers/{silver['id']}"))["name"] == "Silver"


def test_a_tier_used_by_a_campaign_effect_cannot_be_deleted(http):
    new_brand(http)
    stars = new_reward(http)
    silver = ok(http.post("/tiers", {"name": "Silver", "level": 2}), 201)
    new_campaign(http, "Silver only", start_date=days(5), rules=[rule(effect(stars, tier_id=silver["id"]))])
    assert_error(http.delete(f"/tiers/{silver['id']}"), 409, "in_use")


def test_event_types_filter_by_tracking_only_page_patch_and_delete_when_unused(http):
    survey = ok(http.post("/event-types", {"name": "SURVEY"}), 201)
    assert survey == {"name": "SURVEY", "tracking_only": False, "built_in": False}
    ok(http.post("/event-types", {"name": "PAGE_VIEW", "tracking_only": True}), 201)
    assert ok(http.get("/event-types/SURVEY")) == survey
    assert ok(http.get("/event-types/PURCHASE")) == {"name": "PURCHASE", "tracking_only": False, "built_in": True}
    names = lambda body: [t["name"] for t in body["data"]]  # noqa: E731
    tracking = listing(http.get("/event-types?tracking_only=true"))
    assert names(tracking) == sorted([*TRACKING_BUILT_IN, "PAGE_VIEW"]) and tracking["count"] == len(names(tracking))
    loyalty = listing(http.get("/event-types?tracking_only=false"))
    assert names(loyalty) == sorted([*BUILT_IN, "SURVEY"])
    page = listing(http.get("/event-types?from=0&to=2"))
    every = sorted([*BUILT_IN, *TRACKING_BUILT_IN, "SURVEY", "PAGE_VIEW"])
    assert (names(page), page["from"], page["to"], page["count"]) == (every[:3], 0, 2, len(every))

    assert ok(http.patch("/event-types/SURVEY", {"tracking_only": True}))["tracking_only"] is True
    tracking = names(listing(http.get("/event-types?tracking_only=true")))
    assert tracking == sorted([*TRACKING_BUILT_IN, "PAGE_VIEW", "SURVEY"])
    assert_error(http.patch("/event-types/PURCHASE", {"tracking_only": True}), 400, "validation_error", "tracking_only")
    assert_error(
        http.patch("/event-types/SURVEY", {"name": "POLL", "tracking_only": True}), 400, "validation_error", "name"
    )
    assert_error(http.post("/event-types", {"name": "SURVEY"}), 409, "event_type_exists")
    response = http.delete("/event-types/PAGE_VIEW")
    assert response.status_code == 204
    assert_error(http.get("/event-types/PAGE_VIEW"), 404, "not_found")


@pytest.mark.parametrize("name", [*BUILT_IN, *TRACKING_BUILT_IN])
def test_a_built_in_event_type_cannot_be_deleted(http, name):
    assert_error(http.delete(f"/event-types/{name}"), 409, "in_use")
    assert ok(http.get(f"/event-types/{name}"))["built_in"] is True


def test_an_event_type_with_events_cannot_be_deleted(http):
    new_brand(http)
    new_customer(http)
    ok(http.post("/event-types", {"name": "SURVEY"}), 201)
    ok(emit(http, "SURVEY"), 201)
    assert_error(http.delete("/event-types/SURVEY"), 409, "in_use")
    assert ok(http.get("/event-types/SURVEY"))["name"] == "SURVEY"


def test_an_event_type_that_triggers_a_campaign_cannot_be_deleted(http):
    new_brand(http)
    stars = new_reward(http)
    ok(http.post("/event-types", {"name": "SURVEY"}), 201)
    new_campaign(http, "Survey stars", trigger="SURVEY", start_date=days(5), rules=[rule(effect(stars))])
    assert_error(http.delete("/event-types/SURVEY"), 409, "in_use")


@pytest.fixture
def campaigns(http):
    """One campaign of each derived status, over two brands and a global one."""
    new_brand(http, "0001")
    new_brand(http, "0002")
    stars = new_reward(http, "0001", "Stars")
    pages = new_reward(http, "0002", "Pages")
    miles = new_reward(http, None, "Miles")
    c = SimpleNamespace(stars=stars)
    c.running = new_campaign(http, "Running", start_date=days(-10), rules=[rule(effect(stars))])["id"]
    c.paused = new_campaign(http, "Paused", status="INACTIVE", start_date=days(-10), rules=[rule(effect(stars))])["id"]
    c.scheduled = new_campaign(
        http, "Scheduled", brand_id="0002", trigger="REGISTRATION", start_date=days(10), rules=[rule(effect(pages))]
    )["id"]
    c.finished = new_campaign(
        http, "Finished", brand_id="0002", start_date=days(-20), end_date=days(-1), rules=[rule(effect(pages))]
    )["id"]
    c.global_ = new_campaign(http, "Global", brand_id=None, start_date=days(-10), rules=[rule(effect(miles))])["id"]
    return c


@pytest.mark.parametrize(
    "query, expected",
    [
        ("brand_id=0001", ["running", "paused"]),
        ("brand_id=0002", ["scheduled", "finished"]),
        ("type=BEHAVIOR", ["running", "paused", "scheduled", "finished", "global_"]),
        ("type=COUPONS", []),
        ("trigger=REGISTRATION", ["scheduled"]),
        ("trigger=PURCHASE&brand_id=0002", ["finished"]),
        ("status=ACTIVE", ["running", "scheduled", "finished", "global_"]),
        ("status=INACTIVE", ["paused"]),
        ("status=RUNNING", ["running", "global_"]),
        ("status=PAUSED", ["paused"]),
        ("status=SCHEDULED", ["scheduled"]),
        ("status=FINISHED", ["finished"]),
    ],
)
def test_campaigns_list_filters(http, campaigns, query, expected):
    body = listing(http.get(f"/campaigns?{query}"))
    assert ids(body) == [getattr(campaigns, name) for name in expected]
    assert body["count"] == len(expected)


def test_campaigns_report_their_derived_status_and_page(http, campaigns):
    derived = {
        c["name"]: (c["status"], c["derived_status"], c["frozen"]) for c in listing(http.get("/campaigns"))["data"]
    }
    assert derived == {
        "Running": ("ACTIVE", "RUNNING", True),
        "Paused": ("INACTIVE", "PAUSED", False),
        "Scheduled": ("ACTIVE", "SCHEDULED", False),
        "Finished": ("ACTIVE", "FINISHED", True),
        "Global": ("ACTIVE", "RUNNING", True),
    }
    page = listing(http.get("/campaigns?from=1&to=3"))
    assert (ids(page), page["from"], page["to"], page["count"]) == (
        [campaigns.paused, campaigns.scheduled, campaigns.finished],
        1,
        3,
        5,
    )
    page = listing(http.get("/campaigns?status=ACTIVE&from=2&to=9"))
    assert (ids(page), page["from"], page["to"], page["count"]) == ([campaigns.finished, campaigns.global_], 2, 3, 4)
    assert_error(http.get("/campaigns?status=LIVE"), 400, "validation_error", "status")


def test_a_campaign_that_has_not_started_can_be_deleted_and_a_started_one_cannot(http, campaigns):
    for started in (campaigns.running, campaigns.finished, campaigns.global_):
        assert_error(http.delete(f"/campaigns/{started}"), 409, "in_use")
    for unstarted in (campaigns.paused, campaigns.scheduled):
        response = http.delete(f"/campaigns/{unstarted}")
        assert response.status_code == 204, response.content
        assert_error(http.get(f"/campaigns/{unstarted}"), 404, "not_found")
    assert listing(http.get("/campaigns"))["count"] == 3
    assert_error(http.delete(f"/campaigns/{uuid.uuid4()}"), 404, "not_found")


def test_a_campaign_paused_after_it_started_still_cannot_be_deleted(http, campaigns):
    ok(http.patch(f"/campaigns/{campaigns.running}", {"status": "INACTIVE"}))
    assert_error(http.delete(f"/campaigns/{campaigns.running}"), 409, "in_use")


# ---- 3. campaign freezing and copies -------------------------------------------------------------------------------


@pytest.fixture
def cafe(http):
    new_brand(http)
    new_customer(http)
    return SimpleNamespace(stars=new_reward(http))


def test_rules_of_a_scheduled_campaign_can_be_patched_and_the_next_emit_uses_them(http, cafe):
    campaign = new_campaign(http, "Tomorrow", start_date=days(1), rules=[rule(effect(cafe.stars, amount=3))])
    assert campaign["frozen"] is False
    patched = ok(http.patch(f"/campaigns/{campaign['id']}", {"rules": [rule(effect(cafe.stars, amount=7))]}))
    assert patched["rules"][0]["effects"][0]["amount"] == 7 and patched["frozen"] is False
    started = ok(http.patch(f"/campaigns/{campaign['id']}", {"start_date": days(-1)}))
    assert (started["frozen"], started["derived_status"]) == (True, "RUNNING")
    assert earned(purchase(http, 10, "A-1")) == {campaign["id"]: 7}


def test_the_trigger_and_brand_of_a_scheduled_campaign_can_be_changed(http, cafe):
    new_brand(http, "0002", "Book Corner")
    miles = new_reward(http, None, "Miles", decimals=2)
    campaign = new_campaign(http, "Tomorrow", start_date=days(1), rules=[rule(effect(cafe.stars, amount=3))])
    moved = ok(
        http.patch(
            f"/campaigns/{campaign['id']}",
            {
                "brand_id": "0002",
                "trigger": "REGISTRATION",
                "rules": [rule(effect(miles, amount=1.5))],
                "start_date": days(-1),
            },
        )
    )
    assert (moved["brand_id"], moved["trigger"], moved["frozen"]) == ("0002", "REGISTRATION", True)
    assert earned(ok(emit(http, "REGISTRATION", brand_id="0001"), 201)) == {}
    assert earned(ok(emit(http, "REGISTRATION", brand_id="0002"), 201)) == {campaign["id"]: 1.5}
    # the brand's rewards only: stars belong to 0001
    other = new_campaign(http, "Tomorrow too", start_date=days(1), rules=[rule(effect(cafe.stars))])
    assert_error(
        http.patch(f"/campaigns/{other['id']}", {"brand_id": "0002"}),
        400,
        "validation_error",
        "rules[0].effects[0].reward_id",
    )


def test_rules_of_a_never_activated_campaign_can_be_patched_and_apply_once_it_is_activated(http, cafe):
    campaign = new_campaign(http, "Draft", status="INACTIVE", rules=[rule(effect(cafe.stars, amount=3))])
    assert (campaign["frozen"], campaign["derived_status"]) == (False, "PAUSED")
    assert earned(purchase(http, 10, "A-1")) == {}
    ok(
        http.patch(
            f"/campaigns/{campaign['id']}",
            {"rules": [rule(effect(cafe.stars, "PER_VALUE", 2, per=5), conditions=[[cond("order.value", "gte", 20)]])]},
        )
    )
    assert ok(http.patch(f"/campaigns/{campaign['id']}", {"status": "ACTIVE"}))["frozen"] is True
    assert earned(purchase(http, 10, "A-2")) == {}
    assert earned(purchase(http, 27, "A-3")) == {campaign["id"]: 10}


@pytest.mark.parametrize(
    "change",
    [
        {"rules": "new"},
        {"trigger": "REGISTRATION"},
        {"start_date": "2026-01-02T00:00:00Z"},
        {"brand_id": None},
    ],
    ids=["rules", "trigger", "start_date", "brand_id"],
)
def test_a_started_campaign_refuses_rule_trigger_start_and_brand_changes_with_409(http, cafe, change):
    campaign = new_campaign(
        http, "Started", start_date="2026-01-01T00:00:00Z", rules=[rule(effect(cafe.stars, amount=3))]
    )
    assert campaign["frozen"] is True
    if change.get("rules") == "new":
        change = {"rules": [rule(effect(cafe.stars, amount=30))]}
    assert_error(http.patch(f"/campaigns/{campaign['id']}", change), 409, "campaign_frozen")
    assert ok(http.get(f"/campaigns/{campaign['id']}")) == campaign
    assert earned(purchase(http, 10, "A-1")) == {campaign["id"]: 3}


def test_a_started_campaign_still_takes_name_status_end_date_and_budget_changes(http, cafe):
    campaign = new_campaign(http, "Started", rules=[rule(effect(cafe.stars, amount=3))])
    path = f"/campaigns/{campaign['id']}"
    assert ok(http.patch(path, {"name": "Three stars"}))["name"] == "Three stars"
    paused = ok(http.patch(path, {"status": "INACTIVE"}))
    assert (paused["status"], paused["derived_status"], paused["frozen"]) == ("INACTIVE", "PAUSED", True)
    assert earned(purchase(http, 10, "A-1")) == {}
    end = days(30)
    assert ok(http.patch(path, {"end_date": end}))["end_date"] == end
    budgeted = ok(http.patch(path, {"budget": 100, "status": "ACTIVE"}))
    assert (budgeted["budget"], budgeted["budget_used"], budgeted["budget_remaining"]) == (100, 0, 100)
    assert earned(purchase(http, 10, "A-2")) == {campaign["id"]: 3}
    final = ok(http.get(path))
    assert (final["name"], final["status"], final["end_date"], final["budget_used"], final["budget_remaining"]) == (
        "Three stars",
        "ACTIVE",
        end,
        3,
        97,
    )
    assert final["rules"] == campaign["rules"]


def test_a_budget_below_what_was_already_granted_is_400(http, cafe):
    campaign = new_campaign(http, "Budgeted", budget=50, rules=[rule(effect(cafe.stars, amount=30))])
    path = f"/campaigns/{campaign['id']}"
    purchase(http, 10, "A-1")
    assert_error(http.patch(path, {"budget": 29}), 400, "validation_error", "budget")
    assert ok(http.get(path))["budget"] == 50
    exact = ok(http.patch(path, {"budget": 30}))
    assert (exact["budget"], exact["budget_used"], exact["budget_remaining"]) == (30, 30, 0)
    assert earned(purchase(http, 10, "A-2")) == {}
    unlimited = ok(http.patch(path, {"budget": None}))
    assert (unlimited["budget"], unlimited["budget_used"], unlimited["budget_remaining"]) == (None, 30, None)
    assert earned(purchase(http, 10, "A-3")) == {campaign["id"]: 30}


def test_a_budget_set_on_a_campaign_that_ran_without_one_counts_what_it_already_granted(http, cafe):
    campaign = new_campaign(http, "Thirty stars", rules=[rule(effect(cafe.stars, amount=30))])
    path = f"/campaigns/{campaign['id']}"
    assert earned(purchase(http, 10, "A-1")) == {campaign["id"]: 30}
    # "budget (never below what was already granted)": 30 were granted
    assert_error(http.patch(path, {"budget": 20}), 400, "validation_error", "budget")
    budgeted = ok(http.patch(path, {"budget": 100}))
    assert (budgeted["budget"], budgeted["budget_used"], budgeted["budget_remaining"]) == (100, 30, 70)


def test_reversing_a_grant_made_before_the_campaign_had_a_budget_keeps_the_budget_consistent(http, cafe):
    campaign = new_campaign(http, "Thirty stars", rules=[rule(effect(cafe.stars, amount=30))])
    path = f"/campaigns/{campaign['id']}"
    first = purchase(http, 10, "A-1")
    ok(http.patch(path, {"budget": 100}))
    reversed_ = ok(http.post(f"/behavior/events/{first['id']}/reverse", {"reason": "order refunded"}))
    assert reversed_["status"] == "REVERSED"
    after = ok(http.get(path))
    assert (after["budget"], after["budget_used"], after["budget_remaining"]) == (100, 0, 100)
    assert totals(http) == {"Stars": 0}


def test_a_copy_is_inactive_and_editable_and_fires_once_activated(http, cafe):
    source = new_campaign(http, "Three stars", budget=100, rules=[rule(effect(cafe.stars, amount=3))])
    purchase(http, 10, "A-1")
    copy = ok(http.post(f"/campaigns/{source['id']}/copy", {}), 201)
    assert copy["id"] != source["id"]
    assert (copy["name"], copy["status"], copy["frozen"], copy["trigger"], copy["brand_id"]) == (
        "Copy of Three stars",
        "INACTIVE",
        False,
        "PURCHASE",
        "0001",
    )
    assert (copy["budget"], copy["budget_used"], copy["budget_remaining"]) == (100, 0, 100)
    assert copy["rules"] == source["rules"]
    assert earned(purchase(http, 10, "A-2")) == {source["id"]: 3}  # the copy waits

    edited = ok(http.patch(f"/campaigns/{copy['id']}", {"rules": [rule(effect(cafe.stars, amount=9))]}))
    assert edited["rules"][0]["effects"][0]["amount"] == 9
    ok(http.patch(f"/campaigns/{source['id']}", {"status": "INACTIVE"}))
    assert ok(http.patch(f"/campaigns/{copy['id']}", {"status": "ACTIVE"}))["frozen"] is True
    assert earned(purchase(http, 10, "A-3")) == {copy["id"]: 9}
    assert ok(http.get(f"/campaigns/{source['id']}"))["rules"] == source["rules"]


def test_a_copy_takes_a_new_name_and_start(http, cafe):
    source = new_campaign(http, "Three stars", rules=[rule(effect(cafe.stars, amount=3))])
    start = days(7)
    copy = ok(http.post(f"/campaigns/{source['id']}/copy", {"name": "Next week", "start_date": start}), 201)
    assert (copy["name"], copy["start_date"], copy["derived_status"], copy["status"]) == (
        "Next week",
        start,
        "SCHEDULED",
        "INACTIVE",
    )
    assert_error(http.post(f"/campaigns/{source['id']}/copy", {"rules": []}), 400, "validation_error", "rules")
    assert_error(http.post(f"/campaigns/{uuid.uuid4()}/copy", {}), 404, "not_found")


# ---- 4. validation of the set-up endpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry_conditions, named",
    [
        ([[cond("order.value", "gte", 100)]], "entry_conditions[0][0].field"),
        ([[cond("event.type", "eq", "PURCHASE")]], "entry_conditions[0][0].field"),
        ([[cond("customer.tier_level", "gte", 2)]], "entry_conditions[0][0].field"),
        ([[cond("customer.metrics.forever.spend_total", "gte", 1)]], "entry_conditions[0][0].field"),
        ([[cond(SPEND, "gte", 100)], [cond(SPEND, "approx", 1)]], "entry_conditions[1][0].operator"),
        ([[cond(SPEND, "gte", "lots")]], "entry_conditions[0][0].value"),
        ([[{"field": SPEND, "operator": "gte"}]], "entry_conditions[0][0]"),
        ([cond(SPEND, "gte", 100)], "entry_conditions"),
        ([[]], "entry_conditions"),
        ({"field": SPEND}, "entry_conditions"),
    ],
    ids=[
        "order_field",
        "event_field",
        "tier_level",
        "unknown_period",
        "bad_operator",
        "text_value",
        "no_value",
        "not_groups",
        "empty_group",
        "object",
    ],
)
def test_a_tier_with_a_bad_entry_condition_is_400_naming_the_field(http, entry_conditions, named):
    assert_error(
        http.post("/tiers", {"name": "Silver", "level": 2, "entry_conditions": entry_conditions}),
        400,
        "validation_error",
        named,
    )
    assert listing(http.get("/tiers"))["count"] == 1
    assert_error(
        http.patch(f"/tiers/{BASE_TIER_ID}", {"entry_conditions": entry_conditions}), 400, "validation_error", named
    )


@pytest.mark.parametrize(
    "body, named",
    [
        ({"name": "Silver", "level": 0}, "level"),
        ({"name": "Silver", "level": 11}, "level"),
        ({"name": "Silver", "level": "2"}, "level"),
        ({"level": 2}, "name"),
    ],
)
def test_an_invalid_tier_is_400_naming_the_field(http, body, named):
    assert_error(http.post("/tiers", body), 400, "validation_error", named)


def test_a_duplicate_tier_level_is_409(http):
    ok(http.post("/tiers", {"name": "Silver", "level": 2}), 201)
    gold = ok(http.post("/tiers", {"name": "Gold", "level": 3}), 201)
    assert_error(http.post("/tiers", {"name": "Another silver", "level": 2}), 409, "tier_level_taken")
    assert_error(http.post("/tiers", {"name": "Another base", "level": 1}), 409, "tier_level_taken")
    assert_error(http.patch(f"/tiers/{gold['id']}", {"level": 2}), 409, "tier_level_taken")
    assert [(t["name"], t["level"]) for t in listing(http.get("/tiers"))["data"]] == [
        ("Base", 1),
        ("Silver", 2),
        ("Gold", 3),
    ]


@pytest.mark.parametrize(
    "body, named",
    [
        ({"name": "survey"}, "name"),
        ({"name": "Survey"}, "name"),
        ({"name": "1SURVEY"}, "name"),
        ({"name": "SUR VEY"}, "name"),
        ({"name": "SURVEY-2"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "S" * 65}, "name"),
        ({}, "name"),
        ({"name": "SURVEY", "tracking_only": "yes"}, "tracking_only"),
        ({"name": "SURVEY", "built_in": True}, "built_in"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_an_event_type_name_must_be_an_upper_case_identifier(http, body, named):
    assert_error(http.post("/event-types", body), 400, "validation_error", named)
    assert listing(http.get("/event-types"))["count"] == len(BUILT_IN) + len(TRACKING_BUILT_IN)


@pytest.mark.parametrize(
    "change, named",
    [
        ({"type": "DISCOUNT"}, "type"),
        ({"decimals": 2}, "decimals"),
        ({"brand_id": "0002"}, "brand_id"),
        ({"brand_id": None}, "brand_id"),
    ],
)
def test_a_reward_type_decimals_or_brand_change_on_patch_is_400(http, change, named):
    new_brand(http, "0001")
    new_brand(http, "0002")
    stars = new_reward(http, "0001", "Stars", "POINTS", 0)
    assert_error(http.patch(f"/rewards/{stars}", {"name": "Renamed", **change}), 400, "validation_error", named)
    reward = ok(http.get(f"/rewards/{stars}"))
    assert (reward["name"], reward["type"], reward["decimals"], reward["brand_id"]) == ("Stars", "POINTS", 0, "0001")


@pytest.mark.parametrize(
    "limit",
    [
        {"count": 0, "period": "day"},
        {"count": 1_000_001, "period": "day"},
        {"count": 1, "period": "year"},
        {"count": "1", "period": "day"},
        {"count": True, "period": "day"},
        {"count": 1.5, "period": "day"},
        {"count": 1},
        {"period": "day"},
        {"count": 1, "period": "day", "per": "customer"},
        "1/day",
        [1, "day"],
        1,
    ],
    ids=lambda v: str(v)[:40],
)
def test_a_malformed_campaign_limit_is_400(http, cafe, limit):
    body = campaign_body("Limited", limit=limit, rules=[rule(effect(cafe.stars))])
    assert_error(http.post("/campaigns", body), 400, "validation_error", "limit")
    assert listing(http.get("/campaigns"))["count"] == 0
    draft = new_campaign(http, "Draft", status="INACTIVE", rules=[rule(effect(cafe.stars))])
    assert_error(http.patch(f"/campaigns/{draft['id']}", {"limit": limit}), 400, "validation_error", "limit")
    assert ok(http.get(f"/campaigns/{draft['id']}"))["limit"] is None


@pytest.mark.parametrize(
    "limit", [{"count": 1, "period": p} for p in ("lifetime", "day", "week", "month")] + [None], ids=str
)
def test_a_well_formed_campaign_limit_is_kept(http, cafe, limit):
    campaign = new_campaign(http, "Limited", limit=limit, rules=[rule(effect(cafe.stars))])
    assert ok(http.get(f"/campaigns/{campaign['id']}"))["limit"] == limit


@pytest.mark.parametrize(
    "tier_id", [lambda: str(uuid.uuid4()), lambda: "gold", lambda: 3], ids=["unknown_uuid", "not_a_uuid", "number"]
)
def test_a_campaign_effect_with_an_unknown_tier_is_400(http, cafe, tier_id):
    body = campaign_body("Gold only", rules=[rule(effect(cafe.stars, tier_id=tier_id()))])
    assert_error(http.post("/campaigns", body), 400, "validation_error", "rules[0].effects[0].tier_id")
    assert listing(http.get("/campaigns"))["count"] == 0


def test_a_campaign_patch_with_an_unknown_tier_is_400(http, cafe):
    draft = new_campaign(http, "Draft", start_date=days(3), rules=[rule(effect(cafe.stars))])
    change = {"rules": [rule(effect(cafe.stars)), rule(effect(cafe.stars, tier_id=str(uuid.uuid4())))]}
    assert_error(
        http.patch(f"/campaigns/{draft['id']}", change), 400, "validation_error", "rules[1].effects[0].tier_id"
    )
    assert ok(http.get(f"/campaigns/{draft['id']}"))["rules"] == draft["rules"]


# ---- 5. PATCH /customers/{id} -------------------------------------------------------------------------------------


@pytest.fixture
def ana(http):
    return new_customer(
        http, "ana", tags={"vip": True, "segment": "gold", "city": "Quito"}, metadata={"source": "pos", "store": "12"}
    )["customer"]


def test_patch_customer_replaces_name_email_status_and_merges_tags(http, ana):
    data = ok(
        http.patch(
            "/customers/ana",
            {
                "name": "Ana María Díaz",
                "email": "ana.maria@example.com",
                "status": "INACTIVE",
                "tags": {"segment": None, "city": "Lima", "newsletter": False},
            },
        )
    )
    updated = data["customer"]
    assert (updated["id"], updated["name"], updated["email"], updated["status"]) == (
        "ana",
        "Ana María Díaz",
        "ana.maria@example.com",
        "INACTIVE",
    )
    assert updated["tags"] == {"vip": True, "city": "Lima", "newsletter": False}
    assert updated["metadata"] == {"source": "pos", "store": "12"}  # untouched when not sent
    assert updated["registration_date"] == ana["registration_date"]
    assert data["wallet"] == {"lines": [], "totals": []}
    assert customer(http)["customer"] == updated


def test_patch_customer_replaces_metadata_and_an_empty_tags_object_changes_nothing(http, ana):
    updated = ok(http.patch("/customers/ana", {"metadata": {"store": "14"}, "tags": {}}))["customer"]
    assert (updated["metadata"], updated["tags"]) == (
        {"store": "14"},
        {"vip": True, "segment": "gold", "city": "Quito"},
    )
    assert ok(http.patch("/customers/ana", {}))["customer"] == updated


def test_patch_customer_tags_are_seen_by_the_next_event(http, ana):
    new_brand(http)
    stars = new_reward(http)
    campaign = new_campaign(
        http, "VIP stars", rules=[rule(effect(stars, amount=5), conditions=[[cond("customer.tags.vip", "eq", True)]])]
    )
    assert earned(purchase(http, 10, "A-1")) == {campaign["id"]: 5}
    ok(http.patch("/customers/ana", {"tags": {"vip": None}}))
    assert earned(purchase(http, 10, "A-2")) == {}


@pytest.mark.parametrize(
    "body, named",
    [
        ({"id": "ana-2"}, "id"),
        ({"tier_id": BASE_TIER_ID}, "tier_id"),
        ({"email": "not-an-email"}, "email"),
        ({"status": "DELETED"}, "status"),
        ({"tags": ["vip"]}, "tags"),
        ({"metadata": "none"}, "metadata"),
        ({"name": 42}, "name"),
        ({"name": "Ana", "registration_date": "2026-01-01T00:00:00Z"}, "registration_date"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_patch_customer_with_an_unknown_or_invalid_field_is_400_and_changes_nothing(http, ana, body, named):
    assert_error(http.patch("/customers/ana", body), 400, "validation_error", named)
    assert customer(http)["customer"] == ana


def test_patch_of_an_unknown_customer_is_404(http, ana):
    assert_error(http.patch("/customers/nobody", {"name": "Nobody"}), 404, "not_found")
    assert listing(http.get("/customers"))["count"] == 1
