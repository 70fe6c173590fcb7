"""Races on PostgreSQL: real threads, one connection each, released together by a barrier.

SQLite ignores row locks, so these run only on PostgreSQL. Each test counts its outcomes to
show the race really happened, then checks balances; the ledger check after every test
(tests/conftest.py) proves the ledger consistent.
"""

import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from core.clock import db_now
from core.exceptions import Conflict, InsufficientBalance, InvalidTransition
from events.models import Event, EventTransition
from events.services import event_expire_due, event_fulfill, event_reverse
from tests.factories import CampaignFactory, CustomerFactory, fixed_rule, per_value_rule
from tests.helpers import emit, totals
from tests.races import kinds, race
from wallets.models import MetricBucket, Transaction, WalletLine

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: the flush between transactional tests also wipes the rows migrations
    # seed (the built-in event types); this restores them before each test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores row locks"),
]

D = Decimal


def fund(customer, brand, amount):
    """Give the customer `amount` spendable points through a real purchase (the `points` campaign
    grants 1 per 10 spent)."""
    return emit(customer, brand, value=amount * 10)


@pytest.fixture
def points(brand, stars):
    """1 star per 10 spent on orders of 100 or more; smaller orders and bare redemptions earn nothing."""
    return CampaignFactory(brand=brand, rules=[per_value_rule(stars, min_value=100)])


def test_concurrent_redemptions_never_overspend(brand, stars, points, customer):
    fund(customer, brand, 100)

    outcomes = race(*[lambda: emit(customer, brand, redeem=[(stars, 10)]) for _ in range(16)])

    assert kinds(outcomes) == {"ok": 10, "InsufficientBalance": 6}, outcomes
    assert all(value.status == Event.Status.RESOLVED for kind, value in outcomes if kind == "ok")
    refused = [value for kind, value in outcomes if kind == "error"]
    assert all(isinstance(exc, InsufficientBalance) and exc.code == "insufficient_balance" for exc in refused)
    failed_ids = {exc.extra["event_id"] for exc in refused}
    failed = Event.objects.filter(status=Event.Status.FAILED)
    assert {str(pk) for pk in failed.values_list("pk", flat=True)} == failed_ids
    assert set(failed.values_list("error_code", flat=True)) == {"insufficient_balance"}
    assert not Transaction.objects.filter(event_id__in=failed_ids).exists()
    assert totals(customer, stars) == {"total": 0, "reserved": 0, "pending": 0, "debt": 0}
    assert Transaction.objects.filter(type=Transaction.Type.REDEMPTION).count() == 10
    assert not WalletLine.objects.filter(remaining__lt=0).exists()


def test_fulfill_racing_expiry_has_exactly_one_winner(brand, stars, points):
    """Ten held events, each due for the expiry run (its `now` is past every deadline) but not
    yet past its deadline on the database clock, so fulfil may still win. The expiry run walks
    the events in deadline order while the fulfils start from the other end: the two fronts
    meet somewhere in the middle, and both kinds of winner occur."""
    n, step = 10, 0.015
    base = db_now() - timedelta(days=1) + timedelta(minutes=10)  # deadline = base + k seconds
    held = []
    for k in range(n):
        customer = CustomerFactory()
        fund(customer, brand, 100)
        event = emit(
            customer,
            brand,
            value=200,
            redeem=[(stars, 10)],
            fulfilled=False,
            purchase_id=f"H-{k}",
            issued_at=base + timedelta(seconds=k),
        )
        held.append((customer, event))
    run_at = db_now() + timedelta(hours=1)

    def fulfil(k, event_id):
        def call():
            time.sleep((n - 1 - k) * step)
            return event_fulfill(event_id=event_id)

        return call

    outcomes = race(
        lambda: event_expire_due(now=run_at, batch_size=1), *[fulfil(k, event.pk) for k, (_, event) in enumerate(held)]
    )

    (expiry_kind, expired), fulfils = outcomes[0], outcomes[1:]
    assert expiry_kind == "ok", expired
    assert len(expired) == len(set(expired))
    for (customer, event), (kind, value) in zip(held, fulfils, strict=True):
        event.refresh_from_db()
        if kind == "ok":
            assert event.status == Event.Status.RESOLVED and event.pk not in expired
            assert totals(customer, stars) == {"total": 110, "reserved": 0, "pending": 0, "debt": 0}
        else:
            assert isinstance(value, InvalidTransition) and value.status == Event.Status.EXPIRED, value
            assert event.status == Event.Status.EXPIRED and event.pk in expired
            assert totals(customer, stars) == {"total": 100, "reserved": 0, "pending": 0, "debt": 0}
        assert EventTransition.objects.filter(event=event).count() == 2  # created, then one terminal move
    won = kinds(fulfils)
    assert won["ok"] >= 1 and won["InvalidTransition"] >= 1, won  # both sides won some: a real race
    assert won["ok"] + won["InvalidTransition"] == n


def test_concurrent_reversals_apply_once(brand, stars, points, customer):
    fund(customer, brand, 100)
    before = totals(customer, stars)
    event = emit(customer, brand, value=120, redeem=[(stars, 5)])
    assert totals(customer, stars)["total"] == 107

    outcomes = race(*[lambda: event_reverse(event_id=event.pk, reason="refund") for _ in range(8)])

    assert kinds(outcomes) == {"ok": 1, "InvalidTransition": 7}, outcomes
    assert all(v.status == Event.Status.REVERSED for k, v in outcomes if k == "error")
    event.refresh_from_db()
    assert event.status == Event.Status.REVERSED
    assert EventTransition.objects.filter(event=event, to_status=Event.Status.REVERSED).count() == 1
    assert totals(customer, stars) == before
    assert MetricBucket.objects.get(customer=customer).number_of_purchases == 1


def test_concurrent_expiry_runs_never_release_twice(brand, stars, points):
    customers = [CustomerFactory() for _ in range(4)]
    issued = db_now() - timedelta(days=3)
    held = []
    for c, customer in enumerate(customers):
        fund(customer, brand, 100)
        for k in range(5):
            held.append(
                emit(
                    customer,
                    brand,
                    value=200,
                    redeem=[(stars, 10)],
                    fulfilled=False,
                    purchase_id=f"E-{c}-{k}",
                    issued_at=issued + timedelta(seconds=k),
                )
            )
        assert totals(customer, stars) == {"total": 50, "reserved": 50, "pending": 100, "debt": 0}
    run_at = db_now()

    outcomes = race(*[lambda: event_expire_due(now=run_at, batch_size=3) for _ in range(4)])

    assert [value for kind, value in outcomes if kind == "error"] == []
    runs = [ids for _, ids in outcomes]
    every = [pk for ids in runs for pk in ids]
    assert len(every) == len(set(every)) == 20
    assert set(every) == {e.pk for e in held}
    assert sum(1 for ids in runs if ids) >= 2, runs  # the runs shared the work
    assert set(Event.objects.filter(pk__in=every).values_list("status", flat=True)) == {Event.Status.EXPIRED}
    assert EventTransition.objects.filter(to_status=Event.Status.EXPIRED).count() == 20
    rows = Counter(Transaction.objects.filter(event_id__in=every).values_list("type", flat=True))
    assert rows == {Transaction.Type.RESERVATION: 20, Transaction.Type.RELEASE: 20}
    for customer in customers:
        assert totals(customer, stars) == {"total": 100, "reserved": 0, "pending": 0, "debt": 0}


@pytest.mark.parametrize("same_customer", [True, False], ids=["same-customer", "different-customers"])
def test_concurrent_duplicate_purchase_ids_resolve_once(brand, stars, points, customer, same_customer):
    buyers = [customer] * 8 if same_customer else [CustomerFactory() for _ in range(8)]

    outcomes = race(*[lambda b=b: emit(b, brand, value=150, purchase_id="DUP-1") for b in buyers])

    assert kinds(outcomes) == {"ok": 1, "Conflict": 7}, outcomes
    [winner] = [value for kind, value in outcomes if kind == "ok"]
    for kind, value in outcomes:
        if kind == "error":
            assert isinstance(value, Conflict) and value.code == "duplicate_purchase", value
            assert value.extra["event_id"] == str(winner.pk)
    assert list(Event.objects.filter(purchase_id="DUP-1").values_list("pk", "status")) == [
        (winner.pk, Event.Status.RESOLVED)
    ]
    assert set(Transaction.objects.values_list("event_id", flat=True)) == {winner.pk}
    assert Transaction.objects.filter(type=Transaction.Type.ACCUMULATION).count() == 1
    assert sum(totals(b, stars)["total"] for b in set(buyers)) == 15


def test_concurrent_emits_on_one_wallet_accumulate_exactly(brand, stars, customer):
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)])

    outcomes = race(*[lambda: emit(customer, brand, value=5, purchase_id=f"P-{uuid.uuid4()}") for _ in range(16)])

    assert kinds(outcomes) == {"ok": 16}, outcomes
    assert totals(customer, stars) == {"total": 160, "reserved": 0, "pending": 0, "debt": 0}
    assert Transaction.objects.filter(type=Transaction.Type.ACCUMULATION).count() == 16
    bucket = MetricBucket.objects.get(customer=customer)
    assert (bucket.number_of_purchases, bucket.spend_total) == (16, D(80))
