"""Unknown fields (issue "A drop-in for Masivo integrations", item 3): a near-miss spelling of a
known field stays a 400 with the suggestion (tests/events/test_api_validation.py); any other
unknown field, at any level of any body, is accepted, kept in an event's stored payload as sent,
ignored by the engine, and reported in a top-level `warnings`."""

import json

import pytest

from events.models import Event
from tests.helpers import totals

pytestmark = pytest.mark.django_db

# What real Masivo integrations send: `quantity` beside `amount`, an order `timestamp`.
MASIVO_PURCHASE = {
    "customer_id": "cust-1",
    "brand_id": "0001",
    "type": "PURCHASE",
    "colour": "red",
    "order": {
        "purchase_id": "M-1",
        "value": 120,
        "timestamp": "2026-12-02T10:00:00Z",
        "products": [{"sku": "LATTE", "amount": 2, "quantity": 2, "value": 120, "unit_price": {"value": 60}}],
        "shipping": {"value": 0, "carrier": "none"},
    },
}


def test_a_masivo_purchase_with_fields_masivo_ignores_is_accepted_and_warned(api, customer, star_campaign, stars):
    response = api.post("/behavior/events", MASIVO_PURCHASE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["data"]["status"] == "RESOLVED"
    assert {w["field"] for w in body["warnings"]} == {
        "colour",
        "order.timestamp",
        "order.products[0].quantity",
        "order.products[0].unit_price",
        "order.shipping.carrier",
    }
    assert {w["message"] for w in body["warnings"]} == {"unknown field, ignored"}
    assert totals(customer, stars)["total"] == 12  # ignored by the engine: 1 star per 10 of the value

    stored = Event.objects.get().data
    assert stored["colour"] == "red" and stored["order"]["timestamp"] == "2026-12-02T10:00:00Z"
    assert stored["order"]["products"][0]["quantity"] == 2
    assert stored["order"]["products"][0]["unit_price"] == {"value": 60}
    shown = api.get(f"/behavior/events/{body['data']['id']}").json()
    assert shown["data"]["data"]["order"]["products"][0]["quantity"] == 2
    assert "warnings" not in shown  # a read sent no body


def test_a_body_without_unknown_fields_has_no_warnings(api, customer, star_campaign):
    body = {k: v for k, v in MASIVO_PURCHASE.items() if k != "colour"}
    body["order"] = {"purchase_id": "M-2", "value": 50}
    response = api.post("/behavior/events", body)
    assert response.status_code == 201 and "warnings" not in response.json()


def test_unknown_fields_of_other_bodies_are_accepted_warned_and_dropped(api, customer):
    response = api.post("/customers", {"id": "new-1", "name": "Ann", "favourite_drink": "tea"})
    assert response.status_code == 201, response.content
    assert response.json()["warnings"] == [{"field": "favourite_drink", "message": "unknown field, ignored"}]


def test_a_near_miss_is_still_refused_with_the_suggestion(api, customer, star_campaign):
    body = json.loads(json.dumps(MASIVO_PURCHASE))
    body["order"]["prodcuts"] = body["order"].pop("products")
    response = api.post("/behavior/events", body)
    assert response.status_code == 400
    assert "'products'" in response.json()["details"]["order.prodcuts"]
    assert not Event.objects.exists()


def test_the_async_path_keeps_unknown_fields_too(api, customer, star_campaign):
    response = api.post("/behavior/events?async=true", MASIVO_PURCHASE)
    assert response.status_code == 202, response.content
    assert "order.products[0].quantity" in {w["field"] for w in response.json()["warnings"]}
    assert Event.objects.get().data["order"]["products"][0]["quantity"] == 2


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/brands", {"id": "0009", "name": "Cafe", "label": "x"}, "label"),
        ("/tiers", {"name": "Silver", "level": 2, "perks": []}, "perks"),
        ("/customers", {"id": "cust-9", "phone": "555"}, "phone"),
    ],
    ids=["brand", "tier", "customer"],
)
def test_set_up_bodies_accept_unknown_fields_with_a_warning(api, path, body, field):
    response = api.post(path, body)
    assert response.status_code == 201, response.content
    assert response.json()["warnings"] == [{"field": field, "message": "unknown field, ignored"}]


def test_a_customer_patch_accepts_an_unknown_field_with_a_warning(api, customer):
    response = api.patch("/customers/cust-1", {"name": "Ann", "phone": "555"})
    assert response.status_code == 200, response.content
    assert response.json()["warnings"] == [{"field": "phone", "message": "unknown field, ignored"}]
    assert response.json()["data"]["customer"]["name"] == "Ann"


def test_the_unknown_fields_of_one_body_are_bounded(api, customer, star_campaign):
    many = {**MASIVO_PURCHASE, **{f"extra_field_{n}": n for n in range(101)}}
    many["order"] = {"purchase_id": "M-9", "value": 10}
    response = api.post("/behavior/events", many)
    assert response.status_code == 400 and "body" in response.json()["details"]
    assert not Event.objects.exists()
    some = {key: value for key, value in many.items() if not key.startswith("extra_field_")}
    some |= {f"extra_field_{n}": n for n in range(95)}  # with `colour`, 96 unknown fields: within the bound
    assert api.post("/behavior/events", some).status_code == 201
