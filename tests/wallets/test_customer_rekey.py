"""Identifying an anonymous customer under a new id (`PATCH /customers/{id}/identify/anonymous`
with `new_id`): the customer is re-keyed with everything that is theirs following (events,
wallet, lines, metric buckets), in one transaction under the wallet lock. Ledger rows reference
the wallet, not the customer: they are never rewritten, and still add up."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from core.exceptions import Conflict
from events.models import Event
from events.selectors import ledger_problems
from events.services import event_expire_due, event_fulfill, event_fulfill_expired, event_reverse
from tests.factories import CustomerFactory
from tests.helpers import T4, assert_error, emit, totals
from tests.races import kinds, race
from wallets import customers as profile_services
from wallets.models import Customer, MetricBucket, Transaction, Wallet, WalletLine
from wallets.selectors import customer_metrics

pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous(db):
    return CustomerFactory(id="anon-1", name="", email="", is_anonymous=True)


def history(customer, brand, stars):
    """A resolved purchase (12 stars), a held one redeeming 5 (pending 3), a reversed one."""
    emit(customer, brand, value=120, purchase_id="A-1")
    held = emit(customer, brand, value=30, purchase_id="A-2", fulfilled=False, redeem=[(stars, 5)])
    reversed_ = emit(customer, brand, value=50, purchase_id="A-3")
    event_reverse(event_id=reversed_.pk, reason="refund")
    return held


def snapshot(customer_id):
    wallet = Wallet.objects.get(customer_id=customer_id)
    return {
        "wallet": wallet.pk,
        "lines": list(WalletLine.objects.filter(wallet=wallet).order_by("id").values_list("id", "remaining", "state")),
        "rows": list(Transaction.objects.order_by("id").values_list("id", "wallet_id", "type", "amount", "line_id")),
        "buckets": list(
            MetricBucket.objects.filter(customer_id=customer_id)
            .order_by("month", "brand_id")
            .values_list("month", "brand_id", "number_of_purchases", "spend_total", "events")
        ),
        "metrics": customer_metrics(customer_id=customer_id, now=timezone.now()),
        "events": set(Event.objects.filter(customer_id=customer_id).values_list("id", flat=True)),
    }


def test_a_rekey_takes_every_total_line_metric_and_event_along_and_rewrites_no_ledger_row(
    anonymous, brand, stars, star_campaign
):
    held = history(anonymous, brand, stars)
    before = snapshot("anon-1")
    before_totals = totals(anonymous, stars)
    assert before_totals == T4(7, reserved=5, pending=3) and len(before["events"]) >= 3
    registered = Customer.objects.values_list("created_at", "registration_date", "tier_id").get(pk="anon-1")

    customer = profile_services.customer_identify(customer_id="anon-1", new_id="ana-7", name="Ana", email="a@x.io")

    assert customer.pk == "ana-7" and not customer.is_anonymous and customer.name == "Ana"
    assert not Customer.objects.filter(pk="anon-1").exists()
    assert Customer.objects.values_list("created_at", "registration_date", "tier_id").get(pk="ana-7") == registered
    after = snapshot("ana-7")
    assert after == before  # the same wallet, lines, ledger rows (ids, amounts), buckets, metrics, events
    assert totals(customer, stars) == before_totals
    assert not MetricBucket.objects.filter(customer_id="anon-1").exists()
    assert not Event.objects.filter(customer_id="anon-1").exists()
    assert ledger_problems() == []

    # life goes on under the new id: the held event is fulfilled, a new purchase earns
    event_fulfill(event_id=held.pk)
    emit(customer, brand, value=100, purchase_id="A-4")
    assert totals(customer, stars) == T4(7 + 3 + 10)
    assert customer_metrics(customer_id="ana-7", now=timezone.now())["lifetime"]["number_of_purchases"] == 3
    assert ledger_problems() == []


def test_an_event_sent_for_the_old_id_is_a_404(api, anonymous, brand, stars, star_campaign):
    emit(anonymous, brand, value=120)
    response = api.patch("/customers/anon-1/identify/anonymous", {"name": "Ana", "new_id": "ana-7"})
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["customer"]["id"] == "ana-7" and data["wallet"]["totals"][0]["total"] == 12

    body = {"customer_id": "anon-1", "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": 10}}
    assert_error(api.post("/behavior/events", body), 404, "customer_not_found")
    assert_error(api.get("/customers/anon-1"), 404, "not_found")
    assert api.get("/customers/ana-7").status_code == 200
    events = api.get("/behavior/events?customer_id=ana-7").json()
    assert events["count"] == 1 and events["data"][0]["customer_id"] == "ana-7"
    assert api.get("/customers/ana-7/transactions").json()["count"] == 1


def test_a_rekey_that_fails_part_way_leaves_everything_as_it_was(monkeypatch, anonymous, brand, stars, star_campaign):
    history(anonymous, brand, stars)
    before = snapshot("anon-1")

    def refuse(**_kwargs):
        raise Conflict("refused on purpose", code="refused")

    monkeypatch.setattr(profile_services, "customer_update", refuse)  # runs after the re-key
    with pytest.raises(Conflict):
        profile_services.customer_identify(customer_id="anon-1", new_id="ana-7", name="Ana")
    assert snapshot("anon-1") == before and not Customer.objects.filter(pk="ana-7").exists()
    assert Customer.objects.get(pk="anon-1").is_anonymous


def test_an_expired_held_event_is_fulfilled_late_under_the_new_id(anonymous, brand, stars, star_campaign):
    emit(anonymous, brand, value=100)  # 10 stars
    issued = timezone.now() - timedelta(hours=30)
    held = emit(anonymous, brand, value=50, fulfilled=False, redeem=[(stars, 4)], issued_at=issued)
    event_expire_due(now=timezone.now())
    customer = profile_services.customer_identify(customer_id="anon-1", new_id="ana-7")

    late = event_fulfill_expired(event_id=held.pk)
    assert late.status == "RESOLVED" and late.customer_id == "ana-7"
    assert totals(customer, stars)["total"] == Decimal(10 + 5 - 4)


# ---- on PostgreSQL: real races ---------------------------------------------------------------------------


def postgres_race(test):
    for mark in (
        pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores row locks"),
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
        pytest.mark.postgres,
    ):
        test = mark(test)
    return test


@postgres_race
def test_an_event_waiting_on_the_wallet_while_its_customer_is_rekeyed_is_a_404_not_a_500(brand, stars, star_campaign):
    import threading
    import time

    from django.db import transaction

    CustomerFactory(id="anon-1", is_anonymous=True)
    locked = threading.Event()

    def rekey():
        with transaction.atomic():
            profile_services.customer_identify(customer_id="anon-1", new_id="ana-7")
            locked.set()
            time.sleep(0.5)  # the emit below is now waiting on the wallet row
        return "rekeyed"

    def purchase():
        assert locked.wait(10)
        customer = Customer(pk="anon-1")
        return emit(customer, brand, value=120)

    outcomes = race(rekey, purchase)
    assert outcomes[0] == ("ok", "rekeyed")
    kind, error = outcomes[1]
    assert kind == "error" and getattr(error, "code", None) == "customer_not_found", outcomes
    assert not Event.objects.filter(type_id="PURCHASE").exists() and ledger_problems() == []  # only its REGISTRATION


@postgres_race
def test_a_fulfil_racing_a_rekey_never_deadlocks(brand, stars, star_campaign):
    """Both lock the customer's events before the wallet (the order every event service keeps)."""
    for round_ in range(4):
        old, new = f"anon-{round_}", f"ana-{round_}"
        customer = CustomerFactory(id=old, is_anonymous=True)
        emit(customer, brand, value=100)
        held = emit(customer, brand, value=30, fulfilled=False, redeem=[(stars, 5)])
        outcomes = race(
            lambda old=old, new=new: profile_services.customer_identify(customer_id=old, new_id=new).pk,
            lambda held=held: event_fulfill(event_id=held.pk).status,
        )
        assert kinds(outcomes) == {"ok": 2}, outcomes
        assert Event.objects.get(pk=held.pk).status == "RESOLVED"
        assert totals(Customer(pk=new), stars) == T4(10 - 5 + 3)
    assert ledger_problems() == []
