"""Masivo's migration calls as an integration moving a programme over sends them (issue 14,
item 1): authorised with a bearer token on Masivo's base path, customers with balances and
metrics, then their historical events, then their ledger history, each call answered 202 with a
job that a worker runs and the client polls. The shapes are Masivo's (SPEC section 8), with the
extra fields real exports carry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Event
from importing import tasks
from tests.masivo.test_examples import MasivoClient, masivo  # noqa: F401, F811 (the fixture)
from wallets.models import Customer

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_programme_moves_in_through_masivos_migration_calls(
    masivo: MasivoClient,  # noqa: F811 (the fixture imported above)
    brand,
    stars,
    star_campaign,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    queued = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda job_id: queued.append(job_id))
    year_ago = timezone.now() - timedelta(days=365)

    def migrate(path, body):
        with django_capture_on_commit_callbacks(execute=True):
            job = masivo.call("post", path, body, status=202)["data"]
        assert job["status"] == "QUEUED" and queued[-1] == job["id"]
        tasks.run_import(job["id"])  # the worker
        done = masivo.call("get", f"/migrations/{job['id']}")["data"]
        assert done["status"] == "DONE" and done["failed"] == 0, done
        return done

    migrate(
        "/customers/migrate",
        {
            "customers": [
                {
                    "id": "m-1",
                    "name": "Ana Torres",
                    "email": "ana@example.com",
                    "registration_date": iso(year_ago),
                    "gender": "FEMALE",
                    "dob": "1990-04-02",
                    "document_type": "CC",
                    "document_number": "123",
                    "country": "CO",
                    "legacy_tier": "gold",  # an export's extra field: ignored
                    "balance": [
                        {
                            "reward_id": str(stars.pk),
                            "amount": 250,
                            "expiration_date": iso(timezone.now() + timedelta(days=90)),
                            "brand_id": "0001",
                            "channel_id": "web",
                            "store_id": "s-1",
                            "issued_at": iso(year_ago),
                        }
                    ],
                    "metrics": {"lifetime": {"number_of_purchases": 12, "spend_total": 900}},
                }
            ]
        },
    )
    migrate(
        "/customers/migrate/events",
        {
            "events": [
                {
                    "id": "legacy-ev-1",
                    "customer_id": "m-1",
                    "brand_id": "0001",
                    "type": "PURCHASE",
                    "fulfilled": True,
                    "issued_at": iso(year_ago + timedelta(days=3)),
                    "resolved_at": iso(year_ago + timedelta(days=3, minutes=1)),
                    "order": {"purchase_id": "L-1", "value": 80.5, "timestamp": "2025-01-01T10:00:00Z"},
                }
            ]
        },
    )
    migrate(
        "/customers/migrate/transactions",
        {
            "transactions": [
                {
                    "id": "tx-1",
                    "customer_id": "m-1",
                    "reward_id": str(stars.pk),
                    "type": "ACCUMULATION",
                    "amount": 300,
                    "created_at": iso(year_ago),
                },
                {
                    "id": "tx-2",
                    "customer_id": "m-1",
                    "reward_id": str(stars.pk),
                    "type": "REDEMPTION",
                    "amount": -50,
                    "created_at": iso(year_ago + timedelta(days=30)),
                },
            ]
        },
    )

    profile = masivo.call("get", "/customers/m-1")["data"]
    assert profile["customer"]["name"] == "Ana Torres" and profile["customer"]["gender"] == "FEMALE"
    (total,) = [t for t in profile["wallet"]["totals"] if t["reward_id"] == str(stars.pk)]
    assert Decimal(str(total["total"])) == 250  # the migrated balance, once, untouched by the campaign
    event = Event.objects.get(purchase_id="L-1")
    assert event.status == "RESOLVED" and event.result.get("accumulations") == []
    value = event.data["order"]["value"]
    assert isinstance(value, Decimal) and value == Decimal("80.5")  # exactly as sent, never a float
    assert Customer.objects.get(pk="m-1").imported_at is not None
    assert not Event.objects.filter(customer_id="m-1", type_id="REGISTRATION").exists()  # no registration
    ledger = masivo.call("get", "/customers/m-1/transactions")["data"]
    assert [(row["type"], Decimal(str(row["amount"]))) for row in ledger] == [("MIGRATION", 250)]
