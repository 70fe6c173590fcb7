"""Customers imported set-based (importing.customers): balances, expiry, MIGRATION rows, totals,
metrics, per-record outcomes, brand restriction, query count and a real race on PostgreSQL."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Tier
from campaigns.services import api_key_create
from events.models import Event
from events.selectors import ledger_problems
from importing.customers import customer_record_clean, customers_import
from importing.records import RecordError
from tests.factories import BrandFactory, CustomerFactory, RewardFactory
from tests.helpers import T4, totals
from tests.races import kinds, race
from wallets.models import Customer, MetricBucket, Transaction, WalletLine
from wallets.selectors import customer_metrics
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def clean_all(*raws):
    return [customer_record_clean(raw) for raw in raws]


def line(reward, amount, **extra):
    return {"reward_id": str(reward.pk), "amount": amount, **extra}


@pytest.fixture
def global_points(db):
    return RewardFactory(brand=None, name="Miles", decimals=2, attributes={"conversion_factor": "0.5"})


def test_balance_lines_become_lines_with_migration_rows_and_totals(brand, stars, global_points):
    key, _raw = api_key_create(name="migrator")
    records = clean_all(
        {
            "id": "m-1",
            "name": "Ana",
            "email": "ana@example.com",
            "registration_date": "2024-02-10T09:00:00Z",
            "gender": "female",
            "document_type": "CC",
            "document_number": "123",
            "some_extra": {"ignored": True},
            "balance": [
                line(
                    stars,
                    100,
                    expiration_date="2027-01-31T00:00:00Z",
                    issued_at="2025-12-01T10:00:00Z",
                    channel_id="web",
                    store_id="s-9",
                ),  # fmt: skip
                line(stars, "20", brand_id=brand.pk),
                line(global_points, "12.50"),
            ],
        }
    )

    result = customers_import(records, api_key=key, now=NOW)

    assert (result.imported, result.skipped, result.errors) == (1, [], [])
    customer = Customer.objects.get(pk="m-1")
    assert customer.imported_at == NOW and customer.registered_by_id == key.pk
    assert customer.tier == Tier.objects.get(level=1)
    assert (customer.gender, customer.document_number, customer.registration_date.year) == ("FEMALE", "123", 2024)
    lines = list(WalletLine.objects.filter(wallet__customer=customer).order_by("id"))
    assert [(ln.state, ln.amount, ln.remaining, ln.campaign_id, ln.event_id) for ln in lines] == [
        ("AVAILABLE", 100, 100, None, None),
        ("AVAILABLE", 20, 20, None, None),
        ("AVAILABLE", Decimal("12.5"), Decimal("12.5"), None, None),
    ]
    assert lines[0].expiration_date == datetime(2027, 1, 31, tzinfo=UTC)
    assert lines[1].expiration_date is None and lines[1].issued_at == NOW
    assert [ln.brand_id for ln in lines] == [brand.pk, brand.pk, None]  # the reward's brand by default
    rows = list(Transaction.objects.filter(wallet__customer=customer).order_by("id"))
    assert [(r.type, r.amount, r.line_id, r.cost) for r in rows] == [
        ("MIGRATION", 100, lines[0].pk, Decimal("10")),
        ("MIGRATION", 20, lines[1].pk, Decimal("2")),
        ("MIGRATION", Decimal("12.5"), lines[2].pk, Decimal("6.25")),
    ]
    assert rows[0].created_at == datetime(2025, 12, 1, 10, tzinfo=UTC) and rows[1].created_at == NOW
    assert rows[0].details == {"channel_id": "web", "store_id": "s-9"} and rows[1].details == {}
    assert totals(customer, stars, now=NOW) == T4(120)
    assert totals(customer, global_points, now=NOW) == T4("12.5")
    # an import records no REGISTRATION event and announces nothing
    assert Event.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_a_line_already_past_its_date_is_imported_expired(stars):
    records = clean_all(
        {
            "id": "m-2",
            "balance": [
                line(stars, 30, issued_at="2025-01-01T00:00:00Z", expiration_date="2026-01-01T00:00:00Z"),
                line(stars, 5),
            ],
        }  # fmt: skip
    )

    customers_import(records, now=NOW)

    expired, live = WalletLine.objects.filter(wallet__customer_id="m-2").order_by("id")
    assert (expired.state, expired.amount, expired.remaining) == ("EXPIRED", 30, 0)
    rows = Transaction.objects.filter(line=expired).order_by("id").values_list("type", "amount", "created_at")
    assert list(rows) == [
        ("MIGRATION", 30, datetime(2025, 1, 1, tzinfo=UTC)),
        ("EXPIRATION", -30, datetime(2026, 1, 1, tzinfo=UTC)),
    ]
    assert (live.state, live.remaining) == ("AVAILABLE", 5)
    assert totals(Customer.objects.get(pk="m-2"), stars, now=NOW) == T4(5)
    assert ledger_problems() == []  # what verify_ledger checks (as after every test)


def test_metrics_become_brandless_buckets_with_the_lifetime_rest_in_the_registration_month(db):
    records = clean_all(
        {
            "id": "m-3",
            "registration_date": "2023-05-20T10:00:00Z",
            "metrics": {
                "2026-05": {"number_of_purchases": 2, "spend_total": "80.5", "events": {"PURCHASE": 2},
                            "last_visit": "2026-05-30T10:00:00Z"},
                "2026-06": {"number_of_purchases": 1, "spend_total": 20},
                "lifetime": {"number_of_purchases": 10, "spend_total": "400.5", "events": {"PURCHASE": 10, "BIRTHDAY": 1},
                             "last_visit": "2026-05-30T10:00:00Z"},
            },
        }
    )  # fmt: skip

    customers_import(records, now=NOW)

    buckets = {b.month: b for b in MetricBucket.objects.filter(customer_id="m-3")}
    assert set(buckets) == {date(2023, 5, 1), date(2026, 5, 1), date(2026, 6, 1)}
    assert all(b.brand_id is None for b in buckets.values())
    rest = buckets[date(2023, 5, 1)]
    assert (rest.number_of_purchases, rest.spend_total, rest.events) == (
        7,
        Decimal("300"),
        {"PURCHASE": 8, "BIRTHDAY": 1},
    )
    assert buckets[date(2026, 6, 1)].events == {} and buckets[date(2026, 6, 1)].last_visit is None
    metrics = customer_metrics(customer_id="m-3", now=NOW)
    assert metrics["lifetime"]["number_of_purchases"] == 10
    assert Decimal(str(metrics["lifetime"]["spend_total"])) == Decimal("400.5")
    assert metrics["this_month"]["number_of_purchases"] == 1
    assert metrics["last_month"]["number_of_purchases"] == 2


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"name": "no id"}, "id:"),
        ({"id": "a/b"}, "id:"),
        ({"id": "x", "gender": "other"}, "gender:"),
        ({"id": "x", "document_type": "CC"}, "document_type and document_number"),
        ({"id": "x", "email": "not-an-email"}, "email:"),
        ({"id": "x", "balance": [{"reward_id": "00000000-0000-0000-0000-000000000001", "amount": 0}]}, "balance[0].amount"),
        ({"id": "x", "balance": [{"amount": 3}]}, "balance[0].reward_id"),
        ({"id": "x", "balance": [{"reward_id": "00000000-0000-0000-0000-000000000001", "amount": 1}] * 51}, "balance:"),
        ({"id": "x", "metrics": {"2026-13": {}}}, "metrics.2026-13"),
        ({"id": "x", "metrics": {"2099-01": {"number_of_purchases": 1}}}, "future"),
        ({"id": "x", "metrics": {"lifetime": {"number_of_purchases": 1}, "2026-01": {"number_of_purchases": 2}}},
         "metrics.lifetime"),
        ({"id": "x", "metrics": {"lifetime": {"number_of_purchases": -1}}}, "number_of_purchases"),
        ({"id": "x", "metrics": {"lifetime": {"spend_total": "NaN"}}}, "spend_total"),
        ({"id": "x", "tags": {"k": "v" * 20_000}}, "tags:"),
        ({"id": "x", **{f"extra{i}": 1 for i in range(100)}}, "fields"),
    ],
)  # fmt: skip
def test_record_errors_name_the_field(raw, named):
    with pytest.raises(RecordError) as caught:
        customer_record_clean(raw)
    assert named in caught.value.message


def test_outcomes_per_record_write_nothing_for_the_refused_ones(brand, stars):
    other = BrandFactory(id="0002")
    two_decimals = RewardFactory(brand=brand, decimals=0)
    CustomerFactory(id="registered")
    customers_import(clean_all({"id": "old", "balance": [line(stars, 1)]}), now=NOW)
    records = clean_all(
        {"id": "old", "balance": [line(stars, 5)]},
        {"id": "registered"},
        {"id": "new-1", "balance": [line(stars, 7)]},
        {"id": "new-1", "balance": [line(stars, 8)]},
        {
            "id": "bad-reward",
            "balance": [line(stars, 1), {"reward_id": "00000000-0000-0000-0000-000000000009", "amount": 1}],
        },
        {"id": "bad-brand", "balance": [line(stars, 1, brand_id="nope")]},
        {"id": "mismatch", "balance": [line(stars, 1, brand_id=other.pk)]},
        {"id": "too-fine", "balance": [line(two_decimals, "1.5")]},
        {"id": "new-2"},
    )

    result = customers_import(records, now=NOW)

    assert result.imported == 2
    assert [(i.index, i.id, i.code) for i in result.skipped] == [(0, "old", "already_imported")]
    assert [(i.index, i.id, i.code) for i in result.errors] == [
        (1, "registered", "customer_exists"),
        (3, "new-1", "duplicate"),
        (4, "bad-reward", "unknown_reward"),
        (5, "bad-brand", "unknown_brand"),
        (6, "mismatch", "brand_mismatch"),
        (7, "too-fine", "invalid_amount"),
    ]
    assert set(Customer.objects.filter(imported_at__isnull=False).values_list("pk", flat=True)) == {
        "old",
        "new-1",
        "new-2",
    }
    assert totals(Customer.objects.get(pk="old"), stars) == T4(1)  # not 1 + 5
    assert totals(Customer.objects.get(pk="new-1"), stars) == T4(7)  # the first occurrence
    assert not WalletLine.objects.filter(wallet__customer_id__in=["registered", "bad-reward"]).exists()


def test_a_brand_restricted_key_sees_other_brands_as_unknown(brand, stars, global_points):
    other = BrandFactory(id="0002")
    theirs = RewardFactory(brand=other)
    records = clean_all(
        {"id": "r-1", "balance": [line(theirs, 1)]},
        {"id": "r-2", "balance": [line(global_points, 1, brand_id=other.pk)]},
        {"id": "r-3", "balance": [line(stars, 2), line(global_points, 3, brand_id=brand.pk)]},
    )

    result = customers_import(records, brands={brand.pk}, now=NOW)

    assert [(i.id, i.code, i.message) for i in result.errors] == [
        ("r-1", "unknown_reward", f"balance[0].reward_id: unknown reward {str(theirs.pk)!r}"),
        ("r-2", "unknown_brand", f"balance[0].brand_id: unknown brand {other.pk!r}"),
    ]
    assert result.imported == 1 and totals(Customer.objects.get(pk="r-3"), global_points) == T4(3)


def test_the_statements_of_a_batch_do_not_grow_with_its_size(stars, django_assert_max_num_queries):
    def batch(prefix, n):
        return clean_all(
            *({"id": f"{prefix}-{i}", "balance": [line(stars, 3), line(stars, 4)],
               "metrics": {"lifetime": {"number_of_purchases": 2}, "2026-01": {"number_of_purchases": 1}}}
              for i in range(n))
        )  # fmt: skip

    small, large = batch("s", 2), batch("l", 300)
    with django_assert_max_num_queries(15) as small_queries:  # COPY statements are counted too (core.bulk)
        customers_import(small, now=NOW)
    with django_assert_max_num_queries(len(small_queries.captured_queries)):
        assert customers_import(large, now=NOW).imported == 300
    assert MetricBucket.objects.filter(customer__id__startswith="l-").count() == 600


# ---- PostgreSQL: real concurrency ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_imports_of_overlapping_batches_write_each_customer_once():
    if connection.vendor != "postgresql":
        pytest.skip("the import lock is PostgreSQL's")
    stars = RewardFactory(brand=BrandFactory(id="0001"))
    first = clean_all(*({"id": f"c-{i}", "balance": [line(stars, 10)]} for i in range(0, 300)))
    second = clean_all(*({"id": f"c-{i}", "balance": [line(stars, 10)]} for i in range(150, 450)))

    outcomes = race(lambda: customers_import(first), lambda: customers_import(second))

    assert kinds(outcomes) == {"ok": 2}
    results = [value for _kind, value in outcomes]
    assert sum(r.imported for r in results) == 450
    assert sorted(len(r.skipped) for r in results) == [0, 150]  # the overlap, skipped by whichever came second
    assert all(r.errors == [] for r in results)
    assert Customer.objects.count() == 450
    assert Transaction.objects.filter(type="MIGRATION").count() == 450


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_customer_registered_during_the_import_is_refused_not_a_crash(monkeypatch):
    """The registration commits between the import's check and its COPY: the COPY meets the
    primary key, the batch is retried and answers customer_exists for it."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a second connection writing while the import runs")
    import importing.customers as module

    real_write, calls = module._write, []

    def write_after_a_registration(records, **kwargs):
        if not calls:
            thread = threading.Thread(target=lambda: (CustomerFactory(id="late"), connection.close()))
            thread.start()
            thread.join()
        calls.append(len(records))
        return real_write(records, **kwargs)

    monkeypatch.setattr(module, "_write", write_after_a_registration)
    result = customers_import(clean_all({"id": "early"}, {"id": "late"}))

    assert calls == [2, 1]
    assert result.imported == 1 and [(i.id, i.code) for i in result.errors] == [("late", "customer_exists")]
    assert Customer.objects.get(pk="late").imported_at is None
    assert Customer.objects.get(pk="early").imported_at is not None


def test_registration_date_in_the_future_is_refused():
    later = (timezone.now() + timedelta(days=2)).isoformat()
    with pytest.raises(RecordError, match="registration_date"):
        customer_record_clean({"id": "x", "registration_date": later})


def test_imported_metrics_place_the_customer_in_its_tier_silently(brand, stars):
    from campaigns import services as programme
    from events.models import Event
    from importing.customers import customer_record_clean, customers_import
    from tests.factories import cond

    silver = programme.tier_create(
        name="Silver", level=2, entry_conditions=[[cond("customer.metrics.lifetime.spend_total", "gte", 100)]]
    )
    records = [
        customer_record_clean({"id": "big", "metrics": {"lifetime": {"number_of_purchases": 9, "spend_total": 450}}}),
        customer_record_clean({"id": "small", "metrics": {"lifetime": {"number_of_purchases": 1, "spend_total": 20}}}),
    ]

    assert customers_import(records).imported == 2

    assert dict(Customer.objects.values_list("pk", "tier__level")) == {"big": silver.level, "small": 1}
    assert not Event.objects.exists()  # no TIER_ADJUSTMENT (nor REGISTRATION) event
