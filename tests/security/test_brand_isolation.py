"""Brand isolation (issue "Brand isolation and production hardening", items 1, 2 and 5): a key
restricted to some brands never spends another brand's rewards, never becomes unrestricted by
losing its brands, and another brand's objects answer like unknown ones."""

import json

import pytest
from django.test import Client

from campaigns.models import ApiKey
from campaigns.services import api_key_create, brand_create, brand_delete
from events.models import Event
from tests.factories import BrandFactory, RewardFactory
from tests.helpers import assert_error, emit, totals
from wallets.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(db):
    return BrandFactory(id="0002", name="Other")


@pytest.fixture
def their_points(other, customer):
    """Brand 0002's points, 100 of them in cust-1's wallet."""
    points = RewardFactory(brand=other, name="Theirs")
    from tests.factories import CampaignFactory, fixed_rule

    CampaignFactory(brand=other, rules=[fixed_rule(points, amount=100)])
    emit(customer, other, value=10)
    return points


def _key_client(*brands) -> Client:
    _key, raw = api_key_create(name="restricted", brand_ids=list(brands))
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


# ---- 1. a brand's rewards are spent only at that brand ----------------------------------------------------


@pytest.mark.parametrize(
    ("where", "asynchronous"),
    [
        ("redeem[0].id", False),
        ("order.redeem[0].id", False),
        ("order.products[0].redeem[0].id", False),
        ("order.shipping.redeem[0].id", False),
        ("redeem[0].id", True),
    ],
)
def test_another_brands_reward_cannot_be_redeemed(customer, brand, their_points, where, asynchronous):
    client = _key_client(brand.pk)
    item = [{"id": str(their_points.pk), "amount": 5}]
    body = {"customer_id": customer.pk, "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": 50}}
    if where.startswith("redeem"):
        body.update(redeem=item, fulfilled=False, reserve=365)
    elif "products" in where:
        body["order"]["products"] = [{"sku": "A", "redeem": item}]
    elif "shipping" in where:
        body["order"]["shipping"] = {"value": 5, "redeem": item}
    else:
        body["order"]["redeem"] = item
    before = Event.objects.count()
    path = "/api/v1/behavior/events" + ("?async=true" if asynchronous else "")
    response = client.post(path, body, content_type="application/json")
    assert_error(response, 400, "validation_error", named=where)
    assert "another brand" in response.json()["details"][where]
    assert Event.objects.count() == before
    assert totals(customer, their_points) == {"total": 100, "reserved": 0, "pending": 0, "debt": 0}
    preview = {k: v for k, v in body.items() if k in ("customer_id", "brand_id", "order", "redeem")}
    response = client.put("/api/v1/events/redeem/preview", preview, content_type="application/json")
    assert_error(response, 400, "validation_error", named=where)


def test_a_global_reward_may_be_redeemed_at_any_brand(api, customer, brand, other):
    points = RewardFactory(brand=None, name="Global")
    from tests.factories import CampaignFactory, fixed_rule

    CampaignFactory(brand=other, rules=[fixed_rule(points, amount=10)])
    emit(customer, other, value=10)
    body = {
        "customer_id": customer.pk,
        "brand_id": brand.pk,
        "type": "PURCHASE",
        "order": {"value": 10},
        "redeem": [{"id": str(points.pk), "amount": 4}],
    }
    assert api.post("/behavior/events", body).status_code == 201
    assert totals(customer, points)["total"] == 6


# ---- 2. restricted means restricted ----------------------------------------------------------------------


def test_a_key_that_loses_its_last_brand_can_use_no_brand(customer, brand):
    brand_create(id="0009", name="Short-lived")
    key, raw = api_key_create(name="only 0009", brand_ids=["0009"])
    brand_delete(brand_id="0009")
    key.refresh_from_db()
    assert not key.is_unrestricted and key.brands.count() == 0
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {"customer_id": customer.pk, "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": 10}}
    assert_error(
        client.post("/api/v1/behavior/events", body, content_type="application/json"), 403, "permission_denied"
    )
    assert client.get("/api/v1/brands").json()["data"] == []
    assert client.get("/api/v1/behavior/events").json()["count"] == 0


def test_unticking_every_brand_in_the_admin_leaves_the_key_restricted(admin_client, brand):
    key, _raw = api_key_create(name="one brand", brand_ids=[brand.pk])
    response = admin_client.post(
        f"/admin/campaigns/apikey/{key.pk}/change/", {"name": "one brand", "is_active": "on", "brands": []}
    )
    assert response.status_code == 302, response.content
    key.refresh_from_db()
    assert key.brands.count() == 0 and not key.is_unrestricted


def test_unrestricted_is_an_explicit_property_shown_in_the_admin(admin_client, brand):
    unrestricted, _ = api_key_create(name="all brands")
    restricted, _ = api_key_create(name="brand 0001", brand_ids=[brand.pk])
    assert unrestricted.is_unrestricted and not restricted.is_unrestricted
    page = admin_client.get("/admin/campaigns/apikey/").content.decode()
    assert "Unrestricted" in page
    assert ApiKey.objects.filter(is_unrestricted=True).count() == 1


# ---- 5. no probing -------------------------------------------------------------------------------------------


def test_another_brands_event_answers_like_an_unknown_one(customer, brand, other):
    theirs = emit(customer, other, value=10)
    client = _key_client(brand.pk)
    unknown = "00000000-0000-4000-8000-000000000000"
    for method, suffix, body in (("get", "", None), ("patch", "/fulfill", None), ("post", "/reverse", {"reason": "x"})):
        answers = []
        for event_id in (theirs.pk, unknown):
            kwargs = {"data": body, "content_type": "application/json"} if body else {}
            response = getattr(client, method)(f"/api/v1/behavior/events/{event_id}{suffix}", **kwargs)
            answers.append((response.status_code, response.json()["error"]))
        assert answers[0] == answers[1] == (404, "event_not_found"), (method, suffix, answers)
    assert Event.objects.get(pk=theirs.pk).status == "RESOLVED"


@pytest.mark.parametrize("resource", ["rewards", "campaigns"])
def test_another_brands_reward_or_campaign_answers_like_an_unknown_one(brand, other, resource):
    from tests.factories import CampaignFactory

    theirs = RewardFactory(brand=other) if resource == "rewards" else CampaignFactory(brand=other)
    client = _key_client(brand.pk)
    unknown = "00000000-0000-4000-8000-000000000000"
    for method, body in (("get", None), ("patch", {"name": "mine now"}), ("delete", None)):
        kwargs = {"data": body, "content_type": "application/json"} if body else {}
        answers = [getattr(client, method)(f"/api/v1/{resource}/{pk}", **kwargs) for pk in (theirs.pk, unknown)]
        assert [(r.status_code, r.json()["error"]) for r in answers] == [(404, "not_found")] * 2, method
    theirs.refresh_from_db()
    assert theirs.name != "mine now"


# ---- 4. shared customer state is written by unrestricted keys only ------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"tags": {"vip": True}},
        {"status": "INACTIVE"},
        {"name": "Mallory"},
        {"email": "m@example.com"},
        {"metadata": {}},
    ],
    ids=["tags", "status", "name", "email", "metadata"],
)
def test_a_restricted_key_may_not_change_a_customers_shared_state(customer, brand, other, change):
    before = Customer.objects.values().get(pk=customer.pk)
    response = _key_client(brand.pk).patch(
        "/api/v1/customers/cust-1", json.dumps(change), content_type="application/json"
    )
    assert_error(response, 403, "permission_denied")
    assert Customer.objects.values().get(pk=customer.pk) == before


def test_a_restricted_key_may_register_and_read_customers_and_an_unrestricted_one_may_change_them(api, brand):
    shop = _key_client(brand.pk)
    created = shop.post(
        "/api/v1/customers", json.dumps({"id": "new-1", "name": "Ann"}), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    assert shop.get("/api/v1/customers/new-1").json()["data"]["customer"]["name"] == "Ann"
    assert api.patch("/customers/new-1", {"tags": {"vip": True}}).status_code == 200
    assert Customer.objects.get(pk="new-1").tags == {"vip": True}


# ---- 3. a restricted key sees only its brands' part of a customer ------------------------------------------


@pytest.fixture
def two_brands(customer, brand, stars, other, their_points):
    """cust-1 holds 100 of brand 0002's points (one purchase of 10 there) and earns 12 stars at
    0001 with a purchase of 120; both brands grant a global reward too."""
    from tests.factories import CampaignFactory, fixed_rule

    coins = RewardFactory(brand=None, name="Coins")
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=12), fixed_rule(coins, amount=1)])
    emit(customer, brand, value=120)
    return coins


def _reward_ids(totals) -> set[str]:
    return {t["reward_id"] for t in totals}


def test_a_customer_read_by_a_restricted_key_shows_its_brands_wallet_and_metrics(api, customer, two_brands, stars):
    mine = _key_client("0001").get("/api/v1/customers/cust-1").json()["data"]
    assert _reward_ids(mine["wallet"]["totals"]) == {str(stars.pk), str(two_brands.pk)}
    lifetime = mine["customer"]["metrics"]["lifetime"]
    assert lifetime["number_of_purchases"] == 1 and lifetime["spend_total"] == 120
    assert lifetime["events"] == {"PURCHASE": 1}

    everything = api.get("/customers/cust-1").json()["data"]
    assert len(everything["wallet"]["totals"]) == 3
    assert everything["customer"]["metrics"]["lifetime"]["number_of_purchases"] == 2
    assert everything["customer"]["metrics"]["lifetime"]["spend_total"] == 130


def test_an_event_response_shows_a_restricted_key_its_brands_part(customer, two_brands, stars, brand):
    shop = _key_client("0001")
    body = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 50}}
    created = shop.post("/api/v1/behavior/events", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    stored = shop.get(f"/api/v1/behavior/events/{created.json()['data']['id']}").json()["data"]
    listed = shop.get("/api/v1/behavior/events").json()["data"][0]
    for shown in (created.json()["data"], stored, listed):
        result = shown["result"]
        assert _reward_ids(result["wallet"]["totals"]) == {str(stars.pk), str(two_brands.pk)}
        assert result["customer"]["metrics"]["lifetime"]["number_of_purchases"] == 2  # 120 and 50 at 0001
        assert result["customer"]["metrics"]["lifetime"]["spend_total"] == 170
        assert "lifetime_by_brand" not in result["customer"]

    unrestricted = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='all')[1]}")
    whole = unrestricted.get(f"/api/v1/behavior/events/{stored['id']}").json()["data"]["result"]
    assert len(whole["wallet"]["totals"]) == 3
    assert whole["customer"]["metrics"]["lifetime"]["number_of_purchases"] == 3


def test_the_customers_list_of_a_restricted_key(customer, two_brands, other):
    from tests.factories import CustomerFactory

    CustomerFactory(id="only-theirs", brand_id="0002")  # registered at 0002, its REGISTRATION event there
    emit(Customer.objects.get(pk="only-theirs"), other, value=10)
    BrandFactory(id="0003")
    CustomerFactory(id="stranger", brand_id="0003")  # registered at a brand neither key has
    shop = _key_client("0001")
    registered = shop.post("/api/v1/customers", json.dumps({"id": "signed-up-here"}), content_type="application/json")
    assert registered.status_code == 201

    listed = {c["id"] for c in shop.get("/api/v1/customers").json()["data"]}
    assert listed == {"cust-1", "signed-up-here"}
    theirs = {c["id"] for c in _key_client("0002").get("/api/v1/customers").json()["data"]}
    assert theirs == {"cust-1", "only-theirs"}


def test_transactions_of_a_restricted_key_are_its_brands(customer, two_brands):
    rows = _key_client("0001").get("/api/v1/customers/cust-1/transactions").json()["data"]
    assert rows and {row["brand_id"] for row in rows} == {"0001"}
    rows = _key_client("0001").get("/api/v1/transactions").json()["data"]
    assert rows and {row["brand_id"] for row in rows} == {"0001"}
