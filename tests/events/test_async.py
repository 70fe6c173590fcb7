"""?async=true: 202 with PENDING and a queue_message_id; the task, queued only after commit,
applies the event exactly once."""

import pytest

from events.models import Event
from events.services import event_process_queued
from events.tasks import process_event
from tests.helpers import totals

pytestmark = pytest.mark.django_db

BODY = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 120, "purchase_id": "Q-1"}}


def test_async_emit_answers_202_pending_and_queues_after_commit(
    api, customer, star_campaign, stars, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: sent.append((args, task_id)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = api.post("/behavior/events?async=true", BODY)
    assert r.status_code == 202, r.json()
    body = r.json()["data"]
    assert body["status"] == "PENDING" and body["queue_message_id"]
    assert sent == []  # nothing is sent before the commit
    for callback in callbacks:
        callback()
    assert sent == [([body["id"]], body["queue_message_id"])]
    assert totals(customer, stars)["total"] == 0  # not applied yet

    event = event_process_queued(event_id=body["id"])
    assert event.status == "RESOLVED"
    assert totals(customer, stars)["total"] == 12
    assert event_process_queued(event_id=body["id"]) is None  # a redelivered task does nothing
    assert totals(customer, stars)["total"] == 12
    transitions = list(Event.objects.get(pk=body["id"]).transitions.values_list("to_status", flat=True))
    assert transitions == ["PENDING", "PROCESSING", "RESOLVED"]


def test_async_duplicate_purchase_is_refused_at_once(api, customer, star_campaign, monkeypatch):
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)
    assert api.post("/behavior/events?async=true", BODY).status_code == 202
    r = api.post("/behavior/events?async=true", BODY)
    assert r.status_code == 409 and r.json()["error"] == "duplicate_purchase"


def test_async_event_that_cannot_be_honoured_is_stored_failed(api, customer, stars, monkeypatch):
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)
    body = {**BODY, "redeem": [{"id": str(stars.pk), "amount": 5}]}
    event_id = api.post("/behavior/events?async=true", body).json()["data"]["id"]
    event = event_process_queued(event_id=event_id)
    assert event.status == "FAILED" and event.error_code == "insufficient_balance"
    assert Event.objects.get(pk=event_id).status == "FAILED"


def test_queued_event_cancelled_before_processing_is_never_applied(api, customer, star_campaign, stars, monkeypatch):
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)
    event_id = api.post("/behavior/events?async=true", BODY).json()["data"]["id"]
    assert api.patch(f"/behavior/events/{event_id}/fulfill").status_code == 409
    r = api.post(f"/behavior/events/{event_id}/reverse", {"reason": "customer cancelled"})
    assert r.status_code == 200 and r.json()["data"]["status"] == "CANCELLED"
    assert event_process_queued(event_id=event_id) is None
    assert totals(customer, stars)["total"] == 0
