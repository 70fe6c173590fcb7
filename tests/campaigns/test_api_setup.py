"""Programme set-up over HTTP (SPEC sections 3, 4 and 7): brands, rewards, customers, campaigns."""

import uuid

import pytest

from campaigns.models import Brand, Campaign, Reward
from tests.factories import BrandFactory, RewardFactory
from tests.helpers import (
    assert_error,
    emit,
)
from wallets.models import Customer, Wallet

pytestmark = pytest.mark.django_db


# ---- brands -----------------------------------------------------------------------------------------------------


def test_create_and_read_a_brand(api):
    response = api.post("/brands", {"id": "0001", "name": "Cafe Central"})
    assert response.status_code == 201, response.json()
    created = response.json()["data"]
    assert (created["id"], created["name"]) == ("0001", "Cafe Central") and created["created_at"]
    assert api.get("/brands/0001").json() == {"data": created}
    listing = api.get("/brands").json()
    assert listing == {"data": [created], "from": 0, "to": 0, "count": 1}


def test_a_duplicate_brand_id_is_409_and_keeps_the_first(api):
    api.post("/brands", {"id": "0001", "name": "Cafe Central"})
    assert_error(api.post("/brands", {"id": "0001", "name": "Other"}), 409, "brand_exists")
    assert Brand.objects.get(pk="0001").name == "Cafe Central"


@pytest.mark.parametrize("brand_id", ["nope", "a%00b"], ids=["plain", "with_nul"])
def test_an_unknown_brand_is_404(api, brand, brand_id):
    assert_error(api.get(f"/brands/{brand_id}"), 404, "not_found")


@pytest.mark.parametrize(
    "body, named",
    [
        ({"name": "No id"}, "id"),
        ({"id": "0001"}, "name"),
        ({"id": 1, "name": "Numeric id"}, "id"),
        ({"id": "b" * 256, "name": "Long"}, "id"),
    ],
)
def test_an_invalid_brand_is_400_naming_the_field(api, body, named):
    assert_error(api.post("/brands", body), 400, "validation_error", named)
    assert Brand.objects.count() == 0


# ---- rewards ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("decimals", [0, 4])
def test_create_a_reward_with_decimals_0_to_4(api, brand, decimals):
    response = api.post(
        "/rewards",
        {
            "brand_id": "0001",
            "name": "Stars",
            "type": "POINTS",
            "decimals": decimals,
            "attributes": {"conversion_factor": 0.10},
        },
    )
    assert response.status_code == 201, response.json()
    reward = response.json()["data"]
    assert (reward["brand_id"], reward["name"], reward["type"], reward["decimals"]) == (
        "0001",
        "Stars",
        "POINTS",
        decimals,
    )
    assert reward["attributes"] == {"conversion_factor": 0.1}
    assert api.get(f"/rewards/{reward['id']}").json() == {"data": reward}
    assert Reward.objects.get(pk=reward["id"]).decimals == decimals


def test_a_reward_defaults_to_2_decimals_and_may_be_global(api):
    response = api.post("/rewards", {"name": "Miles", "type": "POINTS"})
    assert response.status_code == 201, response.json()
    assert (response.json()["data"]["decimals"], response.json()["data"]["brand_id"]) == (2, None)


def test_rewards_list_filters_by_brand(api, brand):
    BrandFactory(id="0002")
    mine = RewardFactory(brand=brand)
    RewardFactory(brand=Brand.objects.get(pk="0002"))
    listing = api.get("/rewards?brand_id=0001").json()
    assert [r["id"] for r in listing["data"]] == [str(mine.pk)] and listing["count"] == 1


@pytest.mark.parametrize(
    "change, named",
    [
        ({"decimals": 5}, "decimals"),
        ({"decimals": -1}, "decimals"),
        ({"decimals": "2"}, "decimals"),
        ({"decimals": 1.5}, "decimals"),
        ({"decimals": True}, "decimals"),
        ({"type": "CASH"}, "type"),
        ({"type": "points"}, "type"),
        ({"type": None}, "type"),
        ({"name": ""}, "name"),
        ({"attributes": {"conversion_factor": -1}}, "attributes.conversion_factor"),
        ({"attributes": {"conversion_factor": "lots"}}, "attributes.conversion_factor"),
        ({"attributes": []}, "attributes"),
        ({"conditions": "none"}, "conditions"),
    ],
    ids=lambda v: str(v),
)
def test_an_invalid_reward_is_400_naming_the_field(api, brand, change, named):
    body = {"brand_id": "0001", "name": "Stars", "type": "POINTS", **change}
    assert_error(api.post("/rewards", body), 400, "validation_error", named)
    assert Reward.objects.count() == 0


def test_a_reward_of_an_unknown_brand_is_404(api):
    assert_error(api.post("/rewards", {"brand_id": "9999", "name": "Stars", "type": "POINTS"}), 404, "brand_not_found")
    assert Reward.objects.count() == 0


def test_an_unknown_reward_is_404(api):
    assert_error(api.get(f"/rewards/{uuid.uuid4()}"), 404, "not_found")
    assert_error(api.get("/rewards/not-a-uuid"), 404, "not_found")


# ---- customers ----------------------------------------------------------------------------------------------------------


def test_register_a_customer_with_an_empty_wallet(api):
    response = api.post(
        "/customers", {"id": "cust-1", "name": "Ana Diaz", "email": "ana@example.com", "tags": {"vip": True}}
    )
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["wallet"] == {"lines": [], "totals": []}
    customer = data["customer"]
    assert (customer["id"], customer["name"], customer["email"], customer["status"]) == (
        "cust-1",
        "Ana Diaz",
        "ana@example.com",
        "ACTIVE",
    )
    assert customer["tags"] == {"vip": True} and customer["registration_date"]
    assert Wallet.objects.filter(customer_id="cust-1").count() == 1


def test_a_duplicate_customer_is_409_and_keeps_the_first(api):
    api.post("/customers", {"id": "cust-1", "name": "Ana Diaz"})
    assert_error(api.post("/customers", {"id": "cust-1", "name": "Someone Else"}), 409, "customer_exists")
    assert Customer.objects.get(pk="cust-1").name == "Ana Diaz"
    assert Wallet.objects.count() == 1


def test_get_customer_returns_lifetime_metrics_and_wallet(api):
    response = api.post("/customers", {"id": "cust-1", "name": "Ana Diaz"})
    assert response.status_code == 201
    response = api.get("/customers/cust-1")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"customer", "wallet"}
    assert data["customer"]["id"] == "cust-1"
    metrics = data["customer"]["metrics"]
    assert set(metrics) >= {
        "lifetime",
        "this_year",
        "last_year",
        "this_quarter",
        "last_quarter",
        "this_month",
        "last_month",
    }
    lifetime = metrics["lifetime"]
    assert (lifetime["number_of_purchases"], lifetime["spend_total"], lifetime["last_visit"]) == (0, 0, None)
    assert data["wallet"] == {"lines": [], "totals": []}


def test_get_customer_shows_earned_lines_totals_and_metrics(api, brand, stars, star_campaign, customer):
    event = emit(customer, brand, value=120, purchase_id="A-1")
    data = api.get("/customers/cust-1").json()["data"]
    lifetime = data["customer"]["metrics"]["lifetime"]
    assert (lifetime["number_of_purchases"], lifetime["spend_total"]) == (1, 120)
    assert lifetime["events"] == {"REGISTRATION": 1, "PURCHASE": 1}  # its registration counts too
    assert data["customer"]["metrics"]["this_month"]["number_of_purchases"] == 1
    [line] = data["wallet"]["lines"]
    assert (line["reward_id"], line["amount"], line["remaining"], line["event_id"]) == (
        str(stars.pk),
        12,
        12,
        str(event.pk),
    )
    [total] = data["wallet"]["totals"]
    assert (total["reward_id"], total["total"], total["reserved"], total["pending"]) == (str(stars.pk), 12, 0, 0)
    assert total["reward"]["name"] == "Stars"
    assert total["expiring_amount"] == 12 and total["next_expiration_date"] == line["expiration_date"]


@pytest.mark.parametrize("customer_id", ["nobody", "cust%00-1"], ids=["plain", "with_nul"])
def test_an_unknown_customer_is_404(api, customer, customer_id):
    assert_error(api.get(f"/customers/{customer_id}"), 404, "not_found")


@pytest.mark.parametrize(
    "body, named",
    [
        ({"name": "No id"}, "id"),
        ({"id": 42}, "id"),
        ({"id": "c" * 256}, "id"),
        ({"id": "cust-1", "email": "not-an-email"}, "email"),
        ({"id": "cust-1", "status": "DELETED"}, "status"),
        ({"id": "cust-1", "tags": ["vip"]}, "tags"),
        ({"id": "cust-1", "registration_date": "2026-01-01T10:00:00"}, "registration_date"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_an_invalid_customer_is_400_naming_the_field(api, body, named):
    assert_error(api.post("/customers", body), 400, "validation_error", named)
    assert Customer.objects.count() == 0 and Wallet.objects.count() == 0


# ---- campaigns ----------------------------------------------------------------------------------------------------------------


def campaign_body(reward_id, **changes) -> dict:
    body = {
        "brand_id": "0001",
        "name": "1 star per 10 spent",
        "type": "BEHAVIOR",
        "trigger": "PURCHASE",
        "status": "ACTIVE",
        "start_date": "2026-01-01T00:00:00Z",
        "end_date": None,
        "budget": None,
        "rules": [
            {
                "conditions": [[{"field": "order.value", "operator": "gte", "value": 10}]],
                "effects": [
                    {
                        "reward_id": str(reward_id),
                        "kind": "PER_VALUE",
                        "amount": 1,
                        "per": 10,
                        "basis": "order.value",
                        "expiration": "12/months",
                    }
                ],
            }
        ],
    }
    body.update(changes)
    return body


def test_create_and_read_a_campaign(api, brand, stars):
    response = api.post("/campaigns", campaign_body(stars.pk))
    assert response.status_code == 201, response.json()
    campaign = response.json()["data"]
    assert (campaign["brand_id"], campaign["trigger"], campaign["status"], campaign["type"]) == (
        "0001",
        "PURCHASE",
        "ACTIVE",
        "BEHAVIOR",
    )
    assert campaign["start_date"] == "2026-01-01T00:00:00Z" and campaign["end_date"] is None
    [rule] = campaign["rules"]
    assert rule["id"]
    assert rule["effects"] == campaign_body(stars.pk)["rules"][0]["effects"]
    assert api.get(f"/campaigns/{campaign['id']}").json() == {"data": campaign}


def test_a_campaign_may_grant_a_global_reward(api, brand):
    miles = RewardFactory(brand=None)
    assert api.post("/campaigns", campaign_body(miles.pk)).status_code == 201


def _rule(condition=None, effect=None) -> list:
    cond = {"field": "order.value", "operator": "gte", "value": 10, **(condition or {})}
    eff = {
        "kind": "PER_VALUE",
        "amount": 1,
        "per": 10,
        "basis": "order.value",
        "expiration": "12/months",
        **(effect or {}),
    }
    return [{"conditions": [[cond]], "effects": [eff]}]


C = "rules[0].conditions[0][0]"
E = "rules[0].effects[0]"
INVALID_CAMPAIGNS = [
    ("unknown_condition_field", {"rules": _rule({"field": "order.colour"})}, f"{C}.field"),
    ("unknown_operator", {"rules": _rule({"operator": "approx"})}, f"{C}.operator"),
    ("text_for_a_number_field", {"rules": _rule({"value": "ten"})}, f"{C}.value"),
    ("bool_for_a_number_field", {"rules": _rule({"value": True})}, f"{C}.value"),
    (
        "number_for_a_string_field",
        {"rules": _rule({"field": "order.payment_method", "operator": "eq", "value": 5})},
        f"{C}.value",
    ),
    ("scalar_for_in", {"rules": _rule({"operator": "in", "value": 10})}, f"{C}.value"),
    (
        "condition_without_value",
        {"rules": [{"conditions": [[{"field": "order.value", "operator": "gte"}]], "effects": _rule()[0]["effects"]}]},
        C,
    ),
    ("unknown_reward", {"rules": _rule(effect={"reward_id": str(uuid.uuid4())})}, f"{E}.reward_id"),
    ("unknown_kind", {"rules": _rule(effect={"kind": "DOUBLE"})}, f"{E}.kind"),
    ("zero_amount", {"rules": _rule(effect={"amount": 0})}, f"{E}.amount"),
    ("over_precise_amount", {"rules": _rule(effect={"amount": "0.00001"})}, f"{E}.amount"),
    ("bad_expiration_weeks", {"rules": _rule(effect={"expiration": "30/weeks"})}, f"{E}.expiration"),
    ("bad_expiration_number", {"rules": _rule(effect={"expiration": 30})}, f"{E}.expiration"),
    ("bad_basis", {"rules": _rule(effect={"basis": "order.shipping"})}, f"{E}.basis"),
    ("no_effects", {"rules": [{"conditions": [], "effects": []}]}, "rules[0].effects"),
    (
        "conditions_not_groups",
        {"rules": [{"conditions": [{"field": "order.value"}], "effects": _rule()[0]["effects"]}]},
        "rules[0].conditions",
    ),
    ("rules_not_a_list", {"rules": {"conditions": []}}, "rules"),
    ("end_before_start", {"end_date": "2025-12-31T00:00:00Z"}, "end_date"),
    ("start_without_time_zone", {"start_date": "2026-01-01T00:00:00"}, "start_date"),
    ("unknown_trigger", {"trigger": "SURVEY"}, "trigger"),
    ("bad_status", {"status": "RUNNING"}, "status"),
    ("negative_budget", {"budget": -1}, "budget"),
]


@pytest.mark.parametrize("case, changes, named", INVALID_CAMPAIGNS, ids=[c[0] for c in INVALID_CAMPAIGNS])
def test_an_invalid_campaign_is_400_naming_the_field(api, brand, stars, case, changes, named):
    body = campaign_body(stars.pk, **changes)
    for rule in body["rules"] if isinstance(body["rules"], list) else []:
        for effect in rule.get("effects") or []:
            effect.setdefault("reward_id", str(stars.pk))
    assert_error(api.post("/campaigns", body), 400, "validation_error", named)
    assert Campaign.objects.count() == 0


def test_a_campaign_may_not_grant_another_brands_reward(api, brand):
    other = RewardFactory(brand=BrandFactory(id="0002"))
    assert_error(api.post("/campaigns", campaign_body(other.pk)), 400, "validation_error", f"{E}.reward_id")
    assert Campaign.objects.count() == 0


def test_a_campaign_of_an_unknown_brand_is_404(api, stars):
    assert_error(api.post("/campaigns", campaign_body(stars.pk, brand_id="9999")), 404, "brand_not_found")
    assert Campaign.objects.count() == 0
