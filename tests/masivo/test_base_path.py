"""Masivo's base path (issue "A drop-in for Masivo integrations", items 7 and 8): an integration
that only swaps the host (keeping `/api/storefront/v1/`) works, and an unknown path under
`/api/` answers the JSON 404 of the error shape, with DEBUG on as well."""

import json

import pytest
from django.test import Client, override_settings

from events.models import Event
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_the_storefront_base_path_serves_the_same_api(api_key, customer, star_campaign):
    shop = Client(HTTP_X_API_KEY=api_key)
    token = shop.get("/api/storefront/v1/auth/authorize").json()["data"]
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 120}}
    created = bearer.post(
        "/api/storefront/v1/behavior/events",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="s-1",
    )
    assert created.status_code == 201, created.content
    event_id = created.json()["data"]["id"]
    assert (
        bearer.get(f"/api/v1/behavior/events/{event_id}").json()
        == bearer.get(f"/api/storefront/v1/behavior/events/{event_id}").json()
    )
    # one idempotency scope whichever base path the retry takes
    again = bearer.post(
        "/api/v1/behavior/events", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="s-1"
    )
    assert again.status_code in (201, 409)
    assert Event.objects.count() == 1
    wallet = bearer.get("/api/storefront/v1/customers/cust-1").json()["data"]["wallet"]
    assert wallet["totals"][0]["total"] == 12


def test_the_alias_is_not_documented_twice():
    schema = Client().get("/api/schema/?format=json").json()
    assert schema["paths"] and not [p for p in schema["paths"] if p.startswith("/api/storefront/")]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/storefront/v1/nope/deeper", "/api/nothing"])
@pytest.mark.parametrize("method", ["get", "patch"])
def test_an_unknown_api_path_is_a_json_404(api_key, debug, path, method):
    with override_settings(DEBUG=debug):
        response = getattr(Client(HTTP_X_API_KEY=api_key, enforce_csrf_checks=True), method)(path)
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 404, "not_found")
