"""Delivery of the outbox against a real HTTP receiver on loopback (tests/webhooks/receiver.py):
signed, retried on the schedule, at least once with one webhook-id, sent if and only if the
change committed, claimed by one sender at a time, and never holding a lock while a receiver
takes its time. No HTTP is mocked: every attempt is a real POST to a real socket.

Most tests call `deliveries_send(ids=..., due_by=...)` themselves, what the `webhooks.deliver`
task does in a worker, with `due_by` standing for the moment a retry comes due. The tests that
need real threads run on PostgreSQL only (SQLite ignores row locks)."""

import json
import os
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.clock import db_now
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, per_value_rule
from tests.helpers import emit
from tests.races import race
from tests.webhooks.receiver import closed_port_url
from wallets.models import Customer
from wallets.services import customer_register
from webhooks.delivery import deliveries_send, deliveries_sweep, delivery_claim, lease
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create, endpoint_delete, endpoint_rotate_secret, endpoint_update

Status = WebhookDelivery.Status
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores row locks")
# serialized_rollback: the flush after a transactional test removes the rows migrations seed.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@contextmanager
def task_lost():
    """Commit a change, its after-commit hooks dropped: the process died between the commit and
    the queueing of the task (for the tests whose changes really commit)."""
    with transaction.atomic():
        yield
        connection.run_on_commit.clear()


def registered(endpoint_url: str, *, customer_id: str = "cust-wh", capture=None):
    """An endpoint for CUSTOMER_REGISTRATION and one registration whose task was not run (with
    `capture`, django_capture_on_commit_callbacks, in a test transaction; else committed): its one
    delivery, due."""
    endpoint_create(url=endpoint_url, events=["CUSTOMER_REGISTRATION"])
    with capture(execute=False) if capture else task_lost():
        customer_register(id=customer_id)
    # written two seconds ago (the sweep asks the database's clock, whose CURRENT_TIMESTAMP
    # has no fraction of a second on SQLite)
    WebhookDelivery.objects.update(next_attempt_at=F("next_attempt_at") - timedelta(seconds=2))
    return WebhookDelivery.objects.get()


def send(delivery) -> dict:
    """Send one delivery as the task queued after its commit does (due by the writer's clock)."""
    return deliveries_send(ids=[delivery.pk], due_by=timezone.now())


def fresh(delivery) -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)


def attempts_of(delivery) -> list[WebhookAttempt]:
    return list(WebhookAttempt.objects.filter(delivery_id=delivery.pk).order_by("at", "id"))


# ---- signed, retried, once per webhook-id ------------------------------------------------------


@pytest.mark.django_db
def test_fails_twice_then_arrives_on_the_third_attempt_signed_with_one_id(receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500, 503]
    brand = BrandFactory()
    reward = RewardFactory(brand=brand)
    CampaignFactory(brand=brand, rules=[per_value_rule(reward, amount=1, per=10)])
    customer = CustomerFactory()
    endpoint = endpoint_create(url=receiver.url, events=["CUSTOMER_ACCUMULATION"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        event = emit(customer, brand, value=120)
    assert len(queued) == 1  # the task, queued after commit (not run here)
    accumulation = WebhookDelivery.objects.get()
    ids = [str(accumulation.pk)]

    later = timezone.now()
    for _ in range(3):
        deliveries_send(ids=ids, due_by=later)
        later += timedelta(days=1)

    accumulation = fresh(accumulation)
    assert accumulation.status == Status.DELIVERED and accumulation.attempts == 3
    assert accumulation.delivered_at is not None and accumulation.next_attempt_at is None
    assert [a.response_code for a in attempts_of(accumulation)] == [500, 503, 200]
    assert accumulation.event == "CUSTOMER_ACCUMULATION"

    got = receiver.received
    assert [r.status for r in got] == [500, 503, 200]
    assert {r.headers["webhook-id"] for r in got} == {accumulation.message_id}
    for request in got:  # every attempt is signed, with that attempt's timestamp
        body = Webhook(endpoint.secret).verify(request.body, request.headers)
        assert request.body == accumulation.body.encode()
        assert request.headers["content-type"] == "application/json"
    assert body["event"] == "CUSTOMER_ACCUMULATION"
    assert body["data"]["event_id"] == str(event.pk) and body["data"]["lines"][0]["amount"] == 12
    with pytest.raises(WebhookVerificationError):  # and the signature is the endpoint's own
        Webhook(WebhookEndpoint(pk=endpoint.pk).secret).verify(got[-1].body, got[-1].headers)
    # once delivered, once per webhook-id: sending it again sends nothing
    assert receiver.succeeded_by_id() == {accumulation.message_id: 1}
    assert deliveries_send(ids=ids, due_by=later)["skipped"] == 1
    assert len(receiver.received) == 3


@pytest.mark.django_db
def test_the_retry_schedule_is_followed_then_the_delivery_fails(receiver, settings, django_capture_on_commit_callbacks):
    settings.LOYALTY_WEBHOOK_RETRY_SCHEDULE = [30, 120, 600]
    receiver.statuses = [500] * 10
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)

    for n, wait in enumerate(settings.LOYALTY_WEBHOOK_RETRY_SCHEDULE):
        due = fresh(delivery).next_attempt_at
        # not before it is due
        assert deliveries_send(ids=[delivery.pk], due_by=due - timedelta(seconds=1))["skipped"] == 1
        assert len(receiver.received) == n
        assert deliveries_send(ids=[delivery.pk], due_by=due)["retrying"] == 1
        row, last = fresh(delivery), attempts_of(delivery)[-1]
        assert row.status == Status.PENDING and row.attempts == n + 1 and row.last_response_code == 500
        assert row.next_attempt_at == last.at + timedelta(seconds=wait)
        assert last.response_code == 500 and last.response_excerpt == "answered 500"

    assert deliveries_send(ids=[delivery.pk], due_by=fresh(delivery).next_attempt_at)["failed"] == 1
    row = fresh(delivery)
    assert row.status == Status.FAILED and row.attempts == 4 and row.next_attempt_at is None
    assert deliveries_send(ids=[delivery.pk], due_by=timezone.now() + timedelta(days=30))["skipped"] == 1
    assert len(receiver.received) == 4 and len({r.headers["webhook-id"] for r in receiver.received}) == 1


@pytest.mark.django_db
def test_a_timeout_is_a_failed_attempt_with_the_error_recorded(receiver, settings, django_capture_on_commit_callbacks):
    settings.LOYALTY_WEBHOOK_TIMEOUT = 0.5
    receiver.delay = 2.0  # answers long after the timeout
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)

    started = time.monotonic()
    assert deliveries_send(ids=[delivery.pk])["retrying"] == 1
    assert time.monotonic() - started < 1.8  # it did not wait for the answer

    row, attempt = fresh(delivery), attempts_of(delivery)[0]
    assert row.status == Status.PENDING and row.attempts == 1
    assert row.last_response_code is None and row.last_error == "timed out after 0.5s"
    assert attempt.error == "timed out after 0.5s" and attempt.response_code is None
    assert 400 <= attempt.duration_ms < 1800
    assert row.next_attempt_at == attempt.at + timedelta(seconds=settings.LOYALTY_WEBHOOK_RETRY_SCHEDULE[0])
    assert len(receiver.received) == 1 and receiver.received[0].status is None


@pytest.mark.django_db
def test_a_refused_connection_is_a_failed_attempt_with_the_error_recorded(
    receiver, settings, django_capture_on_commit_callbacks
):
    delivery = registered(closed_port_url(), capture=django_capture_on_commit_callbacks)

    assert deliveries_send(ids=[delivery.pk])["retrying"] == 1

    row, attempt = fresh(delivery), attempts_of(delivery)[0]
    assert row.status == Status.PENDING and row.attempts == 1 and row.last_response_code is None
    assert row.last_error.startswith("ConnectError") and attempt.error == row.last_error
    assert row.next_attempt_at == attempt.at + timedelta(seconds=settings.LOYALTY_WEBHOOK_RETRY_SCHEDULE[0])


@pytest.mark.django_db
def test_a_redirect_is_a_failure_and_is_not_followed(receiver, make_receiver, django_capture_on_commit_callbacks):
    elsewhere = make_receiver()
    receiver.statuses = [302]
    receiver.location = elsewhere.url
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)

    assert deliveries_send(ids=[delivery.pk])["retrying"] == 1

    row = fresh(delivery)
    assert row.status == Status.PENDING and row.last_response_code == 302 and row.attempts == 1
    assert len(receiver.received) == 1 and elsewhere.received == []
    assert row.endpoint.failing_since is not None  # a 3xx counts against the endpoint's health


# ---- sent if and only if the change committed ---------------------------------------------------


@pytest.mark.django_db
def test_a_rolled_back_change_writes_and_sends_nothing(receiver, django_capture_on_commit_callbacks):
    brand = BrandFactory()
    reward = RewardFactory(brand=brand)
    CampaignFactory(brand=brand, rules=[per_value_rule(reward)])
    customer = CustomerFactory()
    endpoint_create(url=receiver.url, events=["CUSTOMER_REGISTRATION", "CUSTOMER_ACCUMULATION"])

    with django_capture_on_commit_callbacks(execute=True) as queued:
        for change in (lambda: customer_register(id="cust-undone"), lambda: emit(customer, brand, value=100)):
            with pytest.raises(RuntimeError), transaction.atomic():
                change()
                assert WebhookDelivery.objects.count() == 1  # written in the change's transaction...
                raise RuntimeError("the change fails after its delivery was written")
            assert WebhookDelivery.objects.count() == 0  # ...and rolled back with it
    assert queued == [] and receiver.received == []
    assert deliveries_sweep() == 0

    with django_capture_on_commit_callbacks(execute=False) as queued:  # the same change, committed
        with transaction.atomic():
            emit(customer, brand, value=100)
    assert len(queued) == 1 and WebhookDelivery.objects.get().event == "CUSTOMER_ACCUMULATION"


@committed
def test_committed_changes_are_sent_after_commit_rolled_back_ones_never(receiver, settings):
    """Real commits and a real rollback, the task run as CELERY_TASK_ALWAYS_EAGER runs it (a
    background thread after commit: the call that made the change does not wait)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    receiver.delay = 0.5
    endpoint_create(url=receiver.url, events=["CUSTOMER_REGISTRATION"])

    with pytest.raises(RuntimeError), transaction.atomic():
        customer_register(id="cust-undone")
        raise RuntimeError("rolled back")
    started = time.monotonic()
    with transaction.atomic():
        customer_register(id="cust-kept")
    assert time.monotonic() - started < 0.4  # the receiver's half second is not waited for

    assert receiver.wait_for(1, answered=True)
    time.sleep(0.3)  # the background thread records the outcome
    delivery = WebhookDelivery.objects.get()
    assert json.loads(receiver.received[0].body)["data"]["customer"]["id"] == "cust-kept"
    assert len(receiver.received) == 1
    for _ in range(20):
        if fresh(delivery).status == Status.DELIVERED:
            break
        time.sleep(0.1)
    assert fresh(delivery).status == Status.DELIVERED


@pytest.mark.django_db
def test_a_committed_change_whose_task_was_lost_is_sent_by_the_sweep(
    receiver, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the sweep's tasks run here, at once
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)
    assert receiver.received == [] and fresh(delivery).status == Status.PENDING

    assert deliveries_sweep() == 1

    row = fresh(delivery)
    assert row.status == Status.DELIVERED and row.attempts == 1
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.message_id]
    Webhook(row.endpoint.secret).verify(receiver.received[0].body, receiver.received[0].headers)
    assert deliveries_sweep() == 0 and len(receiver.received) == 1


def drain(app) -> list:
    """Take every message waiting in the broker's default queue (acknowledged: gone)."""
    got = []
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(app.conf.task_default_queue)
        try:
            while True:
                message = queue.get(block=True, timeout=0.5)
                message.ack()
                got.append(message)
        except queue.Empty:
            pass
        finally:
            queue.close()
    return got


@pytest.mark.skipif(
    not BROKER_URL.startswith("redis://"), reason="reads what was queued in Redis (CELERY_BROKER_URL=redis://...)"
)
@pytest.mark.django_db
def test_two_sweeps_in_a_row_queue_a_due_delivery_once(receiver, settings, django_capture_on_commit_callbacks):
    """The first sweep's claim (its token, the task's `due_by`) keeps the second off the
    delivery while the first one's task waits in the queue; the task then sends it, once."""
    from config.celery_app import app
    from webhooks.tasks import deliver

    settings.CELERY_TASK_ALWAYS_EAGER = False
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)
    app.control.purge()
    before = db_now()

    assert deliveries_sweep() == 1
    assert deliveries_sweep() == 0  # claimed by the first: not queued again

    messages = drain(app)
    token = fresh(delivery).next_attempt_at
    assert token >= before + lease()
    assert [(m.headers["task"], m.payload[0]) for m in messages] == [
        ("webhooks.deliver", [[str(delivery.pk)], token.isoformat()])
    ]
    assert receiver.received == []
    args = messages[0].payload[0]
    assert deliver(*args)["delivered"] == 1  # the task, as a worker runs it
    assert deliver(*args)["skipped"] == 1  # handed out twice by the broker: sent once
    assert deliveries_sweep() == 0 and len(receiver.received) == 1
    assert fresh(delivery).status == Status.DELIVERED


@pytest.mark.django_db
def test_a_lost_sweep_task_is_queued_again_once_its_claim_ran_out(
    receiver, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    receiver.statuses = [500]
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)
    assert delivery_claim(delivery_id=delivery.pk) is not None  # a sender claimed it, then died
    assert delivery_claim(delivery_id=delivery.pk) is None
    assert deliveries_sweep() == 0 and receiver.received == []
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=db_now())  # its lease ran out
    assert deliveries_sweep() == 1 and fresh(delivery).attempts == 1 and fresh(delivery).last_response_code == 500


# ---- one sender at a time, and no lock held while a receiver takes its time -----------------------


@on_postgres
@committed
def test_two_concurrent_claimers_never_both_send_one_delivery(receiver):
    """Both claimers read the delivery as due and queue up behind one row lock; when it is
    released only one may win. (Filtered through a join, Django's UPDATE becomes `WHERE id IN
    (SELECT ...)`, which PostgreSQL does not re-check once the lock is granted: both won.)"""
    delivery = registered(receiver.url)
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    results = []

    def claimer():
        try:
            results.append(deliveries_send(ids=[delivery.pk]))
        finally:
            connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert holding.wait(5)
    claimers = [threading.Thread(target=claimer, daemon=True) for _ in range(3)]
    for thread in claimers:
        thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # every claimer waits for the lock
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= 3:
                break
        time.sleep(0.05)
    else:
        pytest.fail("the claimers never queued up behind the lock")
    release.set()
    for thread in [holder, *claimers]:
        thread.join(15)

    assert sorted(r["delivered"] for r in results) == [0, 0, 1], results
    assert sum(r["skipped"] for r in results) == 2
    assert len(receiver.received) == 1 and fresh(delivery).attempts == 1


@on_postgres
@committed
def test_claimers_racing_on_many_deliveries_send_each_once(receiver):
    registered(receiver.url, customer_id="cust-race-0")
    for i in range(1, 10):
        with task_lost():
            customer_register(id=f"cust-race-{i}")
    ids = [str(pk) for pk in WebhookDelivery.objects.values_list("pk", flat=True)]

    outcomes = race(*[lambda: deliveries_send(ids=ids) for _ in range(4)])

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(value["delivered"] for _, value in outcomes) == 10
    assert sorted(receiver.succeeded_by_id().values()) == [1] * 10 and len(receiver.received) == 10


@on_postgres
@committed
def test_a_slow_receiver_holds_no_lock(receiver, settings):
    """While a delivery is being POSTed to a receiver that answers after 2 s, the same
    customer's events, the delivery's endpoint and the delivery row itself can all be written
    at once (a lock wait of 300 ms is an error here)."""
    settings.LOYALTY_WEBHOOK_TIMEOUT = 5
    receiver.delay = 2.0
    brand = BrandFactory()
    reward = RewardFactory(brand=brand)
    CampaignFactory(brand=brand, rules=[per_value_rule(reward)])
    delivery = registered(receiver.url, customer_id="cust-slow")
    customer = Customer.objects.get(pk="cust-slow")
    done = []

    def send():
        try:
            done.append(deliveries_send(ids=[delivery.pk]))
        finally:
            connection.close()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    assert receiver.wait_for(1, timeout=5)  # mid-send
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '300ms'")
    try:
        started = time.monotonic()
        event = emit(customer, brand, value=100)
        endpoint_update(endpoint=fresh(delivery).endpoint, description="changed while a POST is waiting")
        WebhookDelivery.objects.filter(pk=delivery.pk).update(brand_id="")
        took = time.monotonic() - started
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert sender.is_alive() and not done  # the POST was still waiting for its answer
    assert took < 1.0 and event.status == "RESOLVED"
    sender.join(10)
    assert done == [{"delivered": 1, "retrying": 0, "failed": 0, "skipped": 0}]
    assert fresh(delivery).status == Status.DELIVERED
    assert WebhookEndpoint.objects.get().description == "changed while a POST is waiting"


# ---- the endpoint: inactive, deleted, failing, rotated --------------------------------------------


@pytest.mark.django_db
def test_a_delivery_of_an_inactive_or_deleted_endpoint_is_not_sent(receiver, django_capture_on_commit_callbacks):
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)
    endpoint = fresh(delivery).endpoint

    endpoint_update(endpoint=endpoint, is_active=False)
    assert deliveries_send(ids=[delivery.pk])["skipped"] == 1
    assert deliveries_sweep() == 0 and receiver.received == []
    assert fresh(delivery).status == Status.PENDING and fresh(delivery).attempts == 0

    endpoint = endpoint_update(endpoint=WebhookEndpoint.objects.get(), is_active=True)  # back: it is sent
    assert deliveries_send(ids=[delivery.pk])["delivered"] == 1 and len(receiver.received) == 1

    with django_capture_on_commit_callbacks(execute=False):
        customer_register(id="cust-after")
    second = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    endpoint_delete(endpoint=endpoint)
    assert deliveries_send(ids=[second.pk])["skipped"] == 1
    assert deliveries_sweep() == 0 and len(receiver.received) == 1
    with django_capture_on_commit_callbacks(execute=False):
        customer_register(id="cust-after-delete")
    assert WebhookDelivery.objects.count() == 2  # a deleted endpoint gets no new deliveries either


@pytest.mark.django_db
def test_an_endpoint_failing_for_three_days_is_disabled_with_a_reason(
    receiver, settings, django_capture_on_commit_callbacks
):
    receiver.statuses = [500] * 5
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)
    endpoint = fresh(delivery).endpoint

    deliveries_send(ids=[delivery.pk])
    failing_since = WebhookEndpoint.objects.get().failing_since
    assert failing_since is not None and WebhookEndpoint.objects.get().is_active
    # every attempt since failed, until three days later
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=db_now() - timedelta(days=3, minutes=1))
    deliveries_send(ids=[delivery.pk], due_by=timezone.now() + timedelta(hours=1))

    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert "every delivery failed for 3 days" in endpoint.disabled_reason
    with django_capture_on_commit_callbacks(execute=False):  # the outbox stops writing for it
        customer_register(id="cust-later")
    assert WebhookDelivery.objects.count() == 1
    assert deliveries_send(ids=[delivery.pk], due_by=timezone.now() + timedelta(days=1))["skipped"] == 1
    assert len(receiver.received) == 2


@pytest.mark.django_db
def test_a_success_in_between_resets_failing_since(receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [200, 500]
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)
    endpoint = fresh(delivery).endpoint
    with django_capture_on_commit_callbacks(execute=False):
        customer_register(id="cust-second")
    second = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=db_now() - timedelta(days=3, minutes=1))

    assert deliveries_send(ids=[delivery.pk])["delivered"] == 1
    assert WebhookEndpoint.objects.get().failing_since is None
    assert send(second)["retrying"] == 1  # a failure again: failing since now

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.is_active and endpoint.disabled_reason == ""
    assert endpoint.failing_since >= attempts_of(second)[0].at - timedelta(seconds=1)


@pytest.mark.django_db
def test_after_a_rotation_both_secrets_verify_for_24_hours_then_only_the_new(
    receiver, django_capture_on_commit_callbacks
):
    delivery = registered(receiver.url, capture=django_capture_on_commit_callbacks)
    old = fresh(delivery).endpoint.secret
    deliveries_send(ids=[delivery.pk])
    Webhook(old).verify(receiver.received[0].body, receiver.received[0].headers)
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 1

    endpoint = endpoint_rotate_secret(endpoint=fresh(delivery).endpoint)
    new = endpoint.secret
    assert new != old and endpoint.previous_secret == old
    assert timedelta(hours=23, minutes=59) < endpoint.previous_secret_expires_at - timezone.now() <= timedelta(hours=24)

    def send_one(customer_id):
        with django_capture_on_commit_callbacks(execute=False):
            customer_register(id=customer_id)
        assert send(WebhookDelivery.objects.order_by("-created_at").first())["delivered"] == 1
        return receiver.received[-1]

    within = send_one("cust-within")
    assert len(within.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(within.body, within.headers)["data"]["customer"]["id"] == "cust-within"
    assert Webhook(old).verify(within.body, within.headers)["data"]["customer"]["id"] == "cust-within"

    # 24 hours later
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    after = send_one("cust-after")
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(after.body, after.headers)["data"]["customer"]["id"] == "cust-after"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)
