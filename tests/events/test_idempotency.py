"""Idempotency-Key: same key and body replays; another body is 409; nothing applies twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.idempotency import idempotency_purge
from events.models import Event, IdempotencyRecord
from tests.helpers import totals

pytestmark = pytest.mark.django_db

BODY = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 120}}


def test_same_key_and_body_replays_the_first_response(api, customer, star_campaign, stars):
    first = api.post("/behavior/events", BODY, HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post(
        "/behavior/events",
        {"order": {"value": 120}, "type": "PURCHASE", "brand_id": "0001", "customer_id": "cust-1"},
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Event.objects.count() == 1
    assert totals(customer, stars)["total"] == 12


def test_same_key_with_another_body_is_a_conflict(api, customer, star_campaign, stars):
    api.post("/behavior/events", BODY, HTTP_IDEMPOTENCY_KEY="k-2")
    r = api.post("/behavior/events", {**BODY, "order": {"value": 130}}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert r.status_code == 409 and r.json()["error"] == "idempotency_conflict"
    assert Event.objects.count() == 1 and totals(customer, stars)["total"] == 12


def test_a_422_is_kept_and_replayed_but_a_400_is_not(api, customer, stars):
    body = {**BODY, "redeem": [{"id": str(stars.pk), "amount": 5}]}
    first = api.post("/behavior/events", body, HTTP_IDEMPOTENCY_KEY="k-3")
    again = api.post("/behavior/events", body, HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(status="FAILED").count() == 1
    bad = api.post("/behavior/events", {**BODY, "fulfill": False}, HTTP_IDEMPOTENCY_KEY="k-4")
    assert bad.status_code == 400 and not IdempotencyRecord.objects.filter(key="k-4").exists()
    fixed = api.post("/behavior/events", {**BODY, "fulfilled": False}, HTTP_IDEMPOTENCY_KEY="k-4")
    assert fixed.status_code == 201


def test_keys_are_scoped_to_the_credential(api, client, customer, star_campaign):
    from campaigns.services import api_key_create

    _key, other = api_key_create(name="other")
    api.post("/behavior/events", BODY, HTTP_IDEMPOTENCY_KEY="k-5")
    r = client.post(
        "/api/v1/behavior/events",
        BODY,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {other}",
        HTTP_IDEMPOTENCY_KEY="k-5",
    )
    assert r.status_code == 201 and not r.has_header("Idempotent-Replayed")
    assert Event.objects.count() == 2


def test_records_older_than_a_day_are_purged(api, customer, star_campaign):
    api.post("/behavior/events", BODY, HTTP_IDEMPOTENCY_KEY="k-6")
    assert idempotency_purge(now=timezone.now() + timedelta(hours=23)) == 0
    assert idempotency_purge(now=timezone.now() + timedelta(hours=25)) == 1
    assert not IdempotencyRecord.objects.exists()
