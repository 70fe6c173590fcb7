"""`POST /customers/migrate/events` and `GET /migrations/{id}` (issue 14, item 1): historical
events are queued, stored RESOLVED at their own dates beyond the live 72-hour window, trigger
no campaign, move no wallet, rebuild the customer's metrics and tier, and are never imported
twice; bad records are refused with 400 and nothing stored; another brand's is unknown."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services as programme
from campaigns.models import Tier
from campaigns.services import api_key_create
from events.models import Event
from importing import services, tasks
from importing.events import event_record_clean, events_import
from importing.models import ImportJob
from tests.factories import BrandFactory, CustomerFactory, cond
from tests.helpers import assert_error, emit, totals
from wallets.models import MetricBucket, Transaction
from wallets.selectors import customer_metrics

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def purchase(n: int, *, customer="cust-1", brand="0001", days_ago=100, value=50, **extra) -> dict:
    issued = timezone.now() - timedelta(days=days_ago)
    return {
        "customer_id": customer,
        "brand_id": brand,
        "type": "PURCHASE",
        "issued_at": iso(issued),
        "resolved_at": iso(issued + timedelta(minutes=5)),
        "order": {"purchase_id": f"OLD-{n}", "value": value, "products": [{"sku": "LATTE", "amount": 1}]},
        **extra,
    }


@pytest.fixture
def sent(monkeypatch, django_capture_on_commit_callbacks):
    """POST a migration call; returns (response, the job ids queued for the worker)."""
    queued = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda job_id: queued.append(job_id))

    def send(api, path, body):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(path, body)
        return response, queued

    return send


def test_historical_events_are_queued_then_stored_resolved_without_moving_the_wallet(
    api, customer, brand, stars, star_campaign, sent
):
    response, queued = sent(api, "/customers/migrate/events", {"events": [purchase(1), purchase(2, value=70)]})

    assert response.status_code == 202, response.content
    job = response.json()["data"]
    assert job["status"] == "QUEUED" and job["kind"] == "events" and job["total"] == 2 and job["processed"] == 0
    assert queued == [job["id"]] and not Event.objects.filter(type_id="PURCHASE").exists()  # the worker writes

    tasks.run_import(job["id"])

    done = api.get(f"/migrations/{job['id']}").json()["data"]
    assert (done["status"], done["processed"], done["imported"], done["skipped"], done["failed"]) == (
        "DONE",
        2,
        2,
        0,
        0,
    )
    assert done["errors"] == [] and done["finished_at"]
    events = list(Event.objects.filter(type_id="PURCHASE").order_by("purchase_id"))
    assert [(e.status, e.purchase_id) for e in events] == [("RESOLVED", "OLD-1"), ("RESOLVED", "OLD-2")]
    assert events[0].issued_at < timezone.now() - timedelta(days=99)  # far beyond the live 72 hours
    assert events[0].resolved_at - events[0].issued_at == timedelta(minutes=5)
    assert [t.source for t in events[0].transitions.all()] == ["import"]
    assert totals(customer, stars)["total"] == 0  # the running campaign was not evaluated
    assert not Transaction.objects.exists()
    lifetime = customer_metrics(customer_id="cust-1", now=timezone.now())["lifetime"]
    assert lifetime["number_of_purchases"] == 2 and Decimal(str(lifetime["spend_total"])) == Decimal(120)


def test_the_same_batch_sent_again_imports_nothing_twice(api, customer, brand, sent):
    body = {"events": [purchase(1), purchase(2)]}
    first, _ = sent(api, "/customers/migrate/events", body)
    tasks.run_import(first.json()["data"]["id"])
    again, _ = sent(api, "/customers/migrate/events", body)
    tasks.run_import(again.json()["data"]["id"])
    tasks.run_import(again.json()["data"]["id"])  # a redelivered task changes nothing either

    job = api.get(f"/migrations/{again.json()['data']['id']}").json()["data"]
    assert (job["imported"], job["skipped"], job["failed"]) == (0, 2, 0)
    assert [(e["index"], e["code"]) for e in job["errors"]] == [(0, "already_imported"), (1, "already_imported")]
    assert Event.objects.filter(type_id="PURCHASE").count() == 2
    assert customer_metrics(customer_id="cust-1", now=timezone.now())["lifetime"]["number_of_purchases"] == 2


def test_records_the_programme_cannot_take_are_answered_one_by_one(api, customer, brand, stars, star_campaign, sent):
    live = emit(customer, brand, value=20, purchase_id="LIVE-1")
    records = [
        purchase(1, customer="nobody"),
        purchase(2, brand="NOPE"),
        {**purchase(3), "type": "NO_SUCH_TYPE"},
        {**purchase(4), "type": "TIER_ADJUSTMENT"},  # only the engine records those
        {**purchase(5), "order": {"purchase_id": live.purchase_id, "value": 20}},  # a live purchase
        purchase(6),
        purchase(6),  # the same record twice in one call
    ]
    response, _ = sent(api, "/customers/migrate/events", {"events": records})
    tasks.run_import(response.json()["data"]["id"])

    job = api.get(f"/migrations/{response.json()['data']['id']}").json()["data"]
    assert [(e["index"], e["code"]) for e in job["errors"]] == [
        (0, "unknown_customer"),
        (1, "unknown_brand"),
        (2, "unknown_event_type"),
        (3, "unknown_event_type"),
        (4, "duplicate_purchase"),
        (6, "duplicate_record"),
    ]
    assert (job["imported"], job["failed"]) == (1, 6)
    assert set(Event.objects.filter(type_id="PURCHASE").values_list("purchase_id", flat=True)) == {"LIVE-1", "OLD-6"}


@pytest.mark.parametrize(
    "record, named",
    [
        ({"customer_id": "cust-1", "brand_id": "0001", "type": "SIGN_UP"}, "issued_at"),
        ({**purchase(1), "issued_at": iso(timezone.now() + timedelta(days=1))}, "issued_at"),
        ({**purchase(1), "resolved_at": iso(timezone.now() - timedelta(days=400))}, "resolved_at"),
        ({**purchase(1), "fulfilled": False}, "fulfilled"),
        ({key: value for key, value in purchase(1).items() if key != "order"}, "order"),
        ({**purchase(1), "order": {"value": "ten"}}, "order.value"),
    ],
)
def test_a_record_that_can_never_be_imported_refuses_the_call_and_stores_nothing(api, customer, brand, record, named):
    response = api.post("/customers/migrate/events", {"events": [purchase(9), record]})

    body = assert_error(response, 400, "validation_error", named="events[1]")
    assert list(body["details"]) == ["events[1]"] and named in body["details"]["events[1]"]
    assert not ImportJob.objects.exists() and not Event.objects.filter(type_id="PURCHASE").exists()


@pytest.mark.parametrize(
    "body", [{"events": []}, {"events": {"a": 1}}, {}, {"events": ["not an object"]}, {"events": [purchase(1)] * 1001}]
)
def test_the_call_itself_is_bounded(api, customer, brand, body):
    response = api.post("/customers/migrate/events", body)
    assert response.status_code == 400, response.content
    assert not ImportJob.objects.exists()


class as_key:
    """An API client with this key (the `api` fixture's, for another key)."""

    def __init__(self, raw: str):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def get(self, path):
        return self.client.get(f"/api/v1{path}")

    def post(self, path, body):
        return self.client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")


def test_a_brand_restricted_key_imports_its_brands_only_and_sees_only_its_own_jobs(customer, brand, sent):
    other = BrandFactory(id="0002")
    _, raw = api_key_create(name="cafe", brand_ids=[brand.pk])
    _, outsider = api_key_create(name="other", brand_ids=[other.pk])
    _, unrestricted = api_key_create(name="all")

    mine = as_key(raw)
    response, _ = sent(mine, "/customers/migrate/events", {"events": [purchase(1), purchase(2, brand="0002")]})
    job_id = response.json()["data"]["id"]
    tasks.run_import(job_id)

    job = mine.get(f"/migrations/{job_id}").json()["data"]
    assert [(e["index"], e["code"]) for e in job["errors"]] == [(1, "unknown_brand")]  # as an unknown brand
    assert_error(as_key(outsider).get(f"/migrations/{job_id}"), 404, "not_found")
    assert as_key(unrestricted).get(f"/migrations/{job_id}").status_code == 200
    assert_error(mine.get("/migrations/not-a-job"), 404, "not_found")
    assert set(Event.objects.filter(type_id="PURCHASE").values_list("brand_id", flat=True)) == {"0001"}


def test_imported_purchases_recompute_the_tier(brand):
    silver = programme.tier_create(
        name="Silver", level=2, entry_conditions=[[cond("customer.metrics.lifetime.spend_total", "gte", 100)]]
    )
    CustomerFactory(id="cust-1")
    CustomerFactory(id="cust-2")
    records = [
        event_record_clean(r) for r in (purchase(1, value=60), purchase(2, value=60), purchase(3, customer="cust-2"))
    ]

    result = events_import(records)

    assert result.imported == 3 and not result.errors
    tiers = dict(Tier.objects.filter(customers__id__in=["cust-1", "cust-2"]).values_list("customers__id", "level"))
    assert tiers == {"cust-1": silver.level, "cust-2": 1}
    assert not Event.objects.filter(type_id="TIER_ADJUSTMENT").exists()  # moved silently (history)


def test_imported_figures_give_way_to_the_events_from_the_first_imported_month(customer, brand):
    old, recent = date(2020, 1, 1), date.today().replace(day=1)
    MetricBucket.objects.create(customer=customer, month=old, brand=None, number_of_purchases=40, spend_total=900)
    MetricBucket.objects.create(customer=customer, month=recent, brand=None, number_of_purchases=3, spend_total=30)

    events_import([event_record_clean(purchase(1, days_ago=400, value=10))])

    lifetime = customer_metrics(customer_id="cust-1", now=timezone.now())["lifetime"]
    assert lifetime["number_of_purchases"] == 41  # 40 imported before 2020-02 + 1 event; the recent 3 gave way
    assert MetricBucket.objects.filter(brand__isnull=True).count() == 1


def test_a_batch_costs_the_same_number_of_queries_whatever_its_size(brand):
    for n in range(40):
        CustomerFactory(id=f"c{n}")

    def cost(first: int, size: int) -> int:
        records = [event_record_clean(purchase(first + n, customer=f"c{n}")) for n in range(size)]
        with CaptureQueriesContext(connection) as queries:
            assert events_import(records).imported == size
        return len(queries)

    assert cost(0, 5) == cost(100, 30)  # (SQLite's bulk inserts split past 999 parameters)


def test_a_job_goes_on_from_its_last_committed_chunk(customer, brand, monkeypatch):
    """A worker that dies mid-job (the task is delivered again, acks_late) writes nothing twice."""
    monkeypatch.setattr(services, "CHUNK", 2)
    job = services.import_job_create(kind="events", records=[purchase(n) for n in range(5)])
    events_kind = services.kind_of("events")
    real = events_kind.write
    calls = []

    def dies_on_the_second_chunk(records, **kwargs):
        calls.append(len(records))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker killed mid-chunk: not an error of the job
        return real(records, **kwargs)

    monkeypatch.setattr(services, "kind_of", lambda name: events_kind._replace(write=dies_on_the_second_chunk))
    with pytest.raises(KeyboardInterrupt):
        services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, Event.objects.filter(type_id="PURCHASE").count()) == ("RUNNING", 2, 2)

    services.import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.processed, job.imported, job.skipped) == ("DONE", 5, 5, 0)
    assert Event.objects.filter(type_id="PURCHASE").count() == 5


def test_an_imported_event_can_be_reversed_like_a_live_one(api, customer, brand):
    events_import([event_record_clean(purchase(1, value=40)), event_record_clean(purchase(2, value=60))])
    first = Event.objects.get(purchase_id="OLD-1")

    response = api.post(f"/behavior/events/{first.pk}/reverse", {"reason": "refunded on the old platform"})

    assert response.status_code == 200, response.content
    assert response.json()["data"]["status"] == "REVERSED"
    lifetime = customer_metrics(customer_id="cust-1", now=timezone.now())["lifetime"]
    assert lifetime["number_of_purchases"] == 1 and Decimal(str(lifetime["spend_total"])) == Decimal(60)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_importing_the_same_events_at_once_write_them_once(brand):
    """Two jobs with the same records (the same call sent twice, run by two workers): the import
    lock serialises them, the second finds every record imported. Real threads on PostgreSQL."""
    from tests.conftest import is_postgres
    from tests.races import race

    if not is_postgres():
        pytest.skip("racing threads need PostgreSQL")

    for n in range(4):
        CustomerFactory(id=f"r{n}")
    records = [event_record_clean(purchase(n, customer=f"r{n % 4}")) for n in range(20)]

    outcomes = race(lambda: events_import(records), lambda: events_import(records))

    assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    assert sorted(result.imported for _, result in outcomes) == [0, 20]
    assert sorted(len(result.skipped) for _, result in outcomes) == [0, 20]
    assert Event.objects.filter(type_id="PURCHASE").count() == 20


@pytest.mark.parametrize("name", ["metadata", "tags"])
def test_an_events_objects_are_bounded_like_a_customers(name):
    from importing.records import MAX_OBJECT_CHARS, RecordError

    with pytest.raises(RecordError, match=name):
        event_record_clean({**purchase(1), name: {"k": "x" * (MAX_OBJECT_CHARS + 1)}})
