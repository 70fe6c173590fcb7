"""Maintenance and ledger reads as Masivo's (issue "A drop-in for Masivo integrations", item 6):
`POST /customers/fulfill_expired_events` queues the late fulfilment through Celery;
`GET /transactions?date=DD-MM-YYYY` and `GET /customers/{id}/transactions?year=YYYY`."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.services import api_key_create
from events import tasks
from events.models import Event
from events.services import event_expire_due
from tests.factories import BrandFactory
from tests.helpers import assert_error, emit, totals

pytestmark = pytest.mark.django_db


@pytest.fixture
def expired(customer, brand, stars, star_campaign):
    """A held purchase of 50 (5 stars) issued 30 hours ago, expired unfulfilled."""
    event = emit(customer, brand, value=50, fulfilled=False, issued_at=timezone.now() - timedelta(hours=30))
    event_expire_due(now=timezone.now())
    event.refresh_from_db()
    assert event.status == "EXPIRED"
    return event


def _queue(api, body, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks.fulfill_expired, "delay", lambda event_id: sent.append(event_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/customers/fulfill_expired_events", body)
    return response, sent


def test_expired_events_are_queued_for_late_fulfilment(
    api, customer, stars, expired, monkeypatch, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    body = {"start_date": str(today - timedelta(days=2)), "end_date": str(today)}
    response, sent = _queue(api, body, monkeypatch, django_capture_on_commit_callbacks)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "message": "1 event(s) have been queued for fulfillment",
        "details": "Events will be processed in the background",
    }
    assert sent == [str(expired.pk)]
    assert totals(customer, stars)["total"] == 0  # queued, not yet applied
    tasks.fulfill_expired(str(expired.pk))  # what the worker runs
    late = Event.objects.get(replaces=expired)
    assert late.status == "RESOLVED" and totals(customer, stars)["total"] == 5
    tasks.fulfill_expired(str(expired.pk))  # a redelivered task applies nothing twice
    assert Event.objects.filter(replaces=expired).count() == 1 and totals(customer, stars)["total"] == 5


@pytest.mark.parametrize(
    "body, named",
    [
        ({"start_date": "2026-01-01"}, "end_date"),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "end_date"),
        ({"start_date": "01-01-2026", "end_date": "2026-01-02"}, "start_date"),
    ],
    ids=["missing", "backwards", "over-a-year", "bad-date"],
)
def test_a_bad_range_is_a_400(api, body, named, monkeypatch, django_capture_on_commit_callbacks):
    response, sent = _queue(api, body, monkeypatch, django_capture_on_commit_callbacks)
    assert_error(response, 400, "validation_error", named)
    assert sent == []


def test_a_restricted_key_queues_only_its_brands_events(expired, monkeypatch, django_capture_on_commit_callbacks):
    BrandFactory(id="0002")
    _key, raw = api_key_create(name="other", brand_ids=["0002"])
    other = type("Api", (), {})()
    client = Client(HTTP_X_API_KEY=raw)
    other.post = lambda path, body: client.post(f"/api/v1{path}", body, content_type="application/json")
    today = timezone.localdate()
    body = {"start_date": str(today - timedelta(days=2)), "end_date": str(today)}
    response, sent = _queue(other, body, monkeypatch, django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.json()["message"].startswith("0 event(s)")
    assert sent == []


def test_transactions_of_one_day(api, customer, brand, star_campaign):
    today = timezone.localdate()
    emit(customer, brand, value=100)
    emit(customer, brand, value=30, issued_at=timezone.now() - timedelta(hours=1))
    rows = api.get(f"/transactions?date={today:%d-%m-%Y}").json()["data"]
    assert len(rows) == 2
    assert api.get(f"/transactions?date={today - timedelta(days=1):%d-%m-%Y}").json()["data"] == []
    assert_error(api.get("/transactions?date=2026-12-01"), 400, "validation_error", "date")
    assert_error(api.get("/transactions?date=31-02-2026"), 400, "validation_error", "date")
    assert api.get(f"/transactions?date={today:%d-%m-%Y}&limit=1000").status_code == 200


def test_a_customers_transactions_of_one_year(api, customer, brand, star_campaign):
    emit(customer, brand, value=100)
    year = timezone.localdate().year
    assert len(api.get(f"/customers/cust-1/transactions?year={year}").json()["data"]) == 1
    assert api.get(f"/customers/cust-1/transactions?year={year - 1}").json()["data"] == []
    assert_error(api.get("/customers/cust-1/transactions?year=twenty"), 400, "validation_error", "year")


def test_a_masivo_cursor_is_the_last_id_seen(api, customer, brand, star_campaign):
    for n in range(3):
        emit(customer, brand, value=100 + n)
    ids = [row["id"] for row in api.get("/transactions").json()["data"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    after_first = api.get(f"/transactions?cursor={ids[0]}&limit=1").json()
    assert [row["id"] for row in after_first["data"]] == [ids[1]]
    assert [row["id"] for row in api.get(f"/transactions?cursor={ids[1]}").json()["data"]] == [ids[2]]
    assert api.get(f"/transactions?cursor={ids[2]}").json()["data"] == []
    assert_error(api.get(f"/transactions?cursor={'9' * 25}"), 400, "invalid_cursor")
