"""SPEC section 7, call by call over the API, with exactly its numbers."""

import pytest

pytestmark = pytest.mark.django_db


def _total(body, reward_id):
    return next(t for t in body["result"]["wallet"]["totals"] if t["reward_id"] == reward_id)


def test_spec_walkthrough_gives_its_numbers(api):
    assert api.post("/brands", {"id": "0001", "name": "Cafe Central"}).status_code == 201
    r = api.post(
        "/rewards",
        {
            "brand_id": "0001",
            "name": "Stars",
            "type": "POINTS",
            "decimals": 0,
            "attributes": {"conversion_factor": 0.10},
        },
    )
    assert r.status_code == 201, r.json()
    reward_id = r.json()["data"]["id"]
    r = api.post("/customers", {"id": "cust-1", "name": "Ana Diaz", "email": "ana@example.com"})
    assert r.status_code == 201, r.json()
    assert r.json()["data"]["wallet"] == {"lines": [], "totals": []}
    r = api.post(
        "/campaigns",
        {
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
                            "reward_id": reward_id,
                            "kind": "PER_VALUE",
                            "amount": 1,
                            "per": 10,
                            "basis": "order.value",
                            "expiration": "12/months",
                        }
                    ],
                }
            ],
        },
    )
    assert r.status_code == 201, r.json()
    campaign_id = r.json()["data"]["id"]

    r = api.post(
        "/behavior/events",
        {
            "customer_id": "cust-1",
            "brand_id": "0001",
            "type": "PURCHASE",
            "order": {
                "purchase_id": "A-1001",
                "value": 120.00,
                "payment_method": "CREDIT",
                "products": [{"sku": "LATTE", "amount": 2, "value": 60.00}],
            },
        },
    )
    assert r.status_code == 201, r.json()
    first = r.json()["data"]
    assert first["status"] == "RESOLVED" and first["fulfilled"] is True
    [acc] = first["result"]["accumulations"]
    assert acc["amount"] == 12 and acc["campaign_id"] == campaign_id and acc["reward_id"] == reward_id
    assert first["result"]["redemptions"] == []
    assert _total(first, reward_id) | {} == _total(first, reward_id)
    t = _total(first, reward_id)
    assert (t["total"], t["reserved"], t["pending"]) == (12, 0, 0)
    assert first["rewarding_campaigns"] == [
        {"campaign_id": campaign_id, "rule_id": first["rewarding_campaigns"][0]["rule_id"]}
    ]

    r = api.post(
        "/behavior/events",
        {
            "customer_id": "cust-1",
            "brand_id": "0001",
            "type": "PURCHASE",
            "fulfilled": False,
            "reserve": 2,
            "redeem": [{"id": reward_id, "amount": 5}],
            "order": {"purchase_id": "A-1002", "value": 30},
        },
    )
    assert r.status_code == 201, r.json()
    held = r.json()["data"]
    assert held["status"] == "PENDING" and held["reservation_expires_at"]
    t = _total(held, reward_id)
    assert (t["total"], t["reserved"], t["pending"]) == (7, 5, 3)

    r = api.patch(f"/behavior/events/{held['id']}/fulfill")
    assert r.status_code == 200, r.json()
    assert r.json()["data"]["status"] == "RESOLVED"
    t = _total(r.json()["data"], reward_id)
    assert (t["total"], t["reserved"], t["pending"]) == (10, 0, 0)

    r = api.post(f"/behavior/events/{held['id']}/reverse", {"reason": "order refunded"})
    assert r.status_code == 200, r.json()
    assert r.json()["data"]["status"] == "REVERSED"
    t = _total(r.json()["data"], reward_id)
    assert (t["total"], t["reserved"], t["pending"]) == (12, 0, 0)

    r = api.get("/customers/cust-1")
    assert r.status_code == 200
    body = r.json()["data"]
    lifetime = body["customer"]["metrics"]["lifetime"]
    assert lifetime["number_of_purchases"] == 1 and lifetime["spend_total"] == 120
    assert [x["total"] for x in body["wallet"]["totals"]] == [12]
