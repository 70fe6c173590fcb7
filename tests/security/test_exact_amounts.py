"""Exact amounts (issue "Brand isolation and production hardening", item 8): the idempotency body
hash and the stored payload keep the decimal that was sent, with no float on the way; reversing
a purchase of any value leaves spend_total exactly as before; verify_ledger also proves the
metrics equal those rebuilt from the events."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection  # noqa: F401  (the skip conditions read it)

from events.models import Event
from events.services import event_reverse
from wallets.models import MetricBucket

pytestmark = pytest.mark.django_db

VALUE = "999999999999.9997"  # 16 digits: the nearest float prints as 999999999999.9998
NEIGHBOUR = "999999999999.9998"  # the same float as VALUE

# SQLite stores a decimal column as REAL (15 significant digits): 16-digit amounts are exact on
# PostgreSQL, the production database; SQLite (make run) is for trying the engine out.
sixteen_digits = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite keeps decimal columns as REAL (15 digits)"
)


def _purchase(value: str, purchase_id: str = "p-1") -> str:
    return (
        '{"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", '
        f'"order": {{"purchase_id": "{purchase_id}", "value": {value}}}}}'
    )


@sixteen_digits
def test_a_body_differing_only_in_the_last_decimal_is_another_body(api, customer, brand):
    first = api.post("/behavior/events", _purchase(VALUE), HTTP_IDEMPOTENCY_KEY="exact-1")
    assert first.status_code == 201, first.content
    again = api.post("/behavior/events", _purchase(NEIGHBOUR), HTTP_IDEMPOTENCY_KEY="exact-1")
    assert again.status_code == 409 and again.json()["error"] == "idempotency_conflict"
    same = api.post("/behavior/events", _purchase(VALUE), HTTP_IDEMPOTENCY_KEY="exact-1")
    assert same.status_code == 201 and same["Idempotent-Replayed"] == "true"


@sixteen_digits
def test_the_stored_payload_and_the_response_keep_the_decimal_sent(api, customer, brand):
    response = api.post("/behavior/events", _purchase(VALUE))
    assert response.status_code == 201, response.content
    event = Event.objects.get()
    assert event.data["order"]["value"] == Decimal(VALUE)
    shown = api.get(f"/behavior/events/{event.pk}").content.decode()
    assert f'"value":{VALUE}' in shown.replace(" ", "")


@sixteen_digits
def test_reversing_a_purchase_of_any_value_leaves_spend_total_exactly_as_before(api, customer, brand):
    assert api.post("/behavior/events", _purchase("0.0001", "small")).status_code == 201
    before = MetricBucket.objects.get().spend_total
    assert api.post("/behavior/events", _purchase(VALUE)).status_code == 201
    assert MetricBucket.objects.get().spend_total == before + Decimal(VALUE)

    event_reverse(event_id=Event.objects.get(purchase_id="p-1").pk, reason="refund")

    assert MetricBucket.objects.get().spend_total == before == Decimal("0.0001")
    lifetime = api.get("/customers/cust-1").json()["data"]["customer"]["metrics"]["lifetime"]
    assert Decimal(str(lifetime["spend_total"])) == before


@pytest.mark.ledger_drift_expected
@pytest.mark.parametrize(
    "tamper",
    [{"spend_total": Decimal("120.0001")}, {"number_of_purchases": 2}, {"events": {"PURCHASE": 3}}],
    ids=["spend", "purchases", "event-counts"],
)
def test_verify_ledger_proves_metrics_equal_the_events(api, customer, brand, tamper):
    assert api.post("/behavior/events", _purchase("120")).status_code == 201
    call_command("verify_ledger")  # clean
    MetricBucket.objects.update(**tamper)
    with pytest.raises(CommandError, match="drift"):
        call_command("verify_ledger")
