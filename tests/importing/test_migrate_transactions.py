"""`POST /customers/migrate` then `POST /customers/migrate/transactions` (issue 14, item 1): a
migrated customer's history is kept as records that must sum, per reward, to its migrated
balance (else 422 naming the customer and the difference, nothing stored); it never moves the
wallet, and sending it again imports nothing twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from importing import tasks
from importing.models import HistoricalTransaction, ImportJob
from importing.transactions import transaction_record_clean, transactions_import
from tests.factories import BrandFactory, RewardFactory
from tests.helpers import assert_error, totals
from wallets.models import Customer, Transaction

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def sent(monkeypatch, django_capture_on_commit_callbacks):
    """POST a migration call and run its job as the worker would; returns (response, job)."""
    queued = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda job_id: queued.append(job_id))

    def send(api, path, body, *, run=True):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(path, body)
        if response.status_code != 202 or not run:
            return response, None
        tasks.run_import(queued[-1])
        return response, api.get(f"/migrations/{queued[-1]}").json()["data"]

    return send


@pytest.fixture
def migrated(api, brand, stars, sent):
    """cust-9 moved in with 100 stars."""
    body = {"customers": [{"id": "cust-9", "name": "Ana", "balance": [{"reward_id": str(stars.pk), "amount": 100}]}]}
    _, job = sent(api, "/customers/migrate", body)
    assert (job["status"], job["imported"]) == ("DONE", 1), job
    return Customer.objects.get(pk="cust-9")


def history(stars, *amounts, customer="cust-9", first=0):
    start = timezone.now() - timedelta(days=500)
    return [
        {
            "id": f"T-{first + n}",
            "customer_id": customer,
            "reward_id": str(stars.pk),
            "type": "ACCUMULATION" if amount > 0 else "REDEMPTION",
            "amount": amount,
            "created_at": iso(start + timedelta(days=n)),
        }
        for n, amount in enumerate(amounts)
    ]


def test_a_history_that_adds_up_is_kept_without_moving_the_wallet(api, stars, migrated, sent):
    response, job = sent(api, "/customers/migrate/transactions", {"transactions": history(stars, 120, -30, 10)})

    assert response.status_code == 202, response.content
    assert (job["status"], job["imported"], job["failed"]) == ("DONE", 3, 0)
    rows = list(HistoricalTransaction.objects.order_by("created_at").values_list("type", "amount"))
    assert rows == [("ACCUMULATION", 120), ("REDEMPTION", -30), ("ACCUMULATION", 10)]
    assert totals(migrated, stars)["total"] == 100  # the balance moved in with the customer, once
    assert list(Transaction.objects.values_list("type", "amount")) == [("MIGRATION", Decimal(100))]


def test_a_history_that_does_not_add_up_is_refused_naming_the_customer_and_the_difference(api, stars, migrated):
    response = api.post("/customers/migrate/transactions", {"transactions": history(stars, 120, -30)})

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "unreconciled" and "cust-9" in body["details"] and "difference -10)" in body["details"]
    assert body["customers"] == {
        "cust-9": [f"reward {stars.pk}: transactions sum to 90, migrated balance is 100 (difference -10)"]
    }
    assert not ImportJob.objects.filter(kind="transactions").exists() and not HistoricalTransaction.objects.exists()


def test_a_history_sent_again_imports_nothing_twice(api, stars, migrated, sent):
    body = {"transactions": history(stars, 60, 40)}
    sent(api, "/customers/migrate/transactions", body)
    response, job = sent(api, "/customers/migrate/transactions", body)

    assert response.status_code == 202, response.content  # already imported keys count once
    assert (job["imported"], job["skipped"]) == (0, 2)
    assert HistoricalTransaction.objects.count() == 2


def test_a_customer_not_imported_yet_is_judged_by_the_job(api, brand, stars, customer, sent):
    """cust-1 registered live (not migrated), cust-7 unknown: neither has a history to import."""
    records = history(stars, 5, customer="cust-1") + history(stars, 5, customer="cust-7", first=10)
    response, job = sent(api, "/customers/migrate/transactions", {"transactions": records})

    assert response.status_code == 202, response.content
    assert [(e["index"], e["code"]) for e in job["errors"]] == [(0, "unknown_customer"), (1, "unknown_customer")]
    assert not HistoricalTransaction.objects.exists()


def test_only_the_customer_that_does_not_add_up_is_refused_by_the_writer(api, stars, migrated, sent):
    body = {"customers": [{"id": "cust-8", "balance": [{"reward_id": str(stars.pk), "amount": 7}]}]}
    sent(api, "/customers/migrate", body)
    records = [transaction_record_clean(r) for r in history(stars, 100) + history(stars, 6, customer="cust-8", first=5)]

    result = transactions_import(records)

    assert result.imported == 1
    assert [(e.index, e.code) for e in result.errors] == [(1, "unreconciled")]
    assert "reward" in result.errors[0].message and "difference -1)" in result.errors[0].message


def test_a_brand_restricted_key_cannot_name_another_brands_reward(brand, stars, migrated):
    theirs = RewardFactory(brand=BrandFactory(id="0002"), name="Theirs")
    records = [transaction_record_clean({**history(stars, 100)[0], "reward_id": str(theirs.pk)})]

    result = transactions_import(records, brands={brand.pk})

    assert [(e.code, e.message) for e in result.errors] == [("unknown_reward", f"reward {str(theirs.pk)!r} not found")]


@pytest.mark.parametrize(
    "change, named",
    [
        ({"amount": 0}, "amount"),
        ({"amount": "1.00001"}, "amount"),
        ({"type": "STOLEN"}, "type"),
        ({"reward_id": "not-a-uuid"}, "reward_id"),
        ({"created_at": "yesterday"}, "created_at"),
    ],
)
def test_bad_rows_are_refused_with_400(api, stars, migrated, change, named):
    response = api.post("/customers/migrate/transactions", {"transactions": [{**history(stars, 100)[0], **change}]})

    body = assert_error(response, 400, "validation_error", named="transactions[0]")
    assert named in body["details"]["transactions[0]"]


def test_a_rows_details_are_bounded_like_a_customers_metadata(stars):
    from importing.records import MAX_OBJECT_CHARS, RecordError

    with pytest.raises(RecordError, match="details"):
        transaction_record_clean({**history(stars, 100)[0], "details": {"note": "x" * (MAX_OBJECT_CHARS + 1)}})
