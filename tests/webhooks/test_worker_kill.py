"""A committed change is delivered even when the process that should send it dies: real Celery
worker processes over Redis against the test database, a real loopback receiver, SIGKILL.

- The worker is killed mid-send (the receiver holds the first request open, and the worker dies
  before it could record anything): once its claim's lease ran out the sweep queues the
  delivery again and a new worker delivers it, with the same webhook-id.
- The process that committed the change is killed between the commit and the queueing of its
  task: the delivery row exists with no task, and the sweep sends it.

The lease is timeout x 3 + LOYALTY_WEBHOOK_LEASE_MARGIN; both are made small here, for the
workers through their environment."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from core.clock import db_now
from tests.events.test_celery_worker import BROKER_URL, REPO_ROOT, _stop, _test_database_url
from tests.webhooks.receiver import Receiver
from webhooks.delivery import deliveries_sweep
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create

TIMEOUT = 1.0  # LOYALTY_WEBHOOK_TIMEOUT of the workers and of this process
MARGIN = 1.0  # LOYALTY_WEBHOOK_LEASE_MARGIN: the lease is 4 s

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not BROKER_URL.startswith("redis://"),
        reason="needs PostgreSQL (the worker is another process) and CELERY_BROKER_URL=redis://...",
    ),
    # serialized_rollback: an earlier transactional test's flush may have removed the rows the
    # migrations seed; they are restored before this test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKER = textwrap.dedent(
    """
    import django

    django.setup()
    from config.celery_app import app

    app.worker_main(["worker", "--pool", "solo", "--concurrency", "1", "--loglevel", "INFO",
                     "--without-mingle", "--without-gossip", "--without-heartbeat"])
    """
)

# Commits a registration and dies (SIGKILL) in the first after-commit hook, before the outbox's
# own hook could queue the task.
COMMIT_AND_DIE = textwrap.dedent(
    """
    import os, signal
    import django

    django.setup()
    from django.db import transaction
    from wallets.services import customer_register

    with transaction.atomic():
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        customer_register(id="cust-died")
    raise SystemExit("still alive")
    """
)


def _env() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOYALTY_WEBHOOKS_ALLOW_HTTP": "true",
        "LOYALTY_WEBHOOK_TIMEOUT": str(TIMEOUT),
        "LOYALTY_WEBHOOK_LEASE_MARGIN": str(MARGIN),
    }


class Worker:
    def __init__(self):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=REPO_ROOT,
            env=_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-6000:]

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()


@pytest.fixture
def workers(settings):
    settings.LOYALTY_WEBHOOKS_ALLOW_HTTP = True
    settings.LOYALTY_WEBHOOK_TIMEOUT = TIMEOUT
    settings.LOYALTY_WEBHOOK_LEASE_MARGIN = MARGIN
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery_app import app

    app.control.purge()  # nothing left over from an earlier run may reach these workers
    started = []

    def start() -> Worker:
        started.append(Worker())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def hanging_receiver():
    server = Receiver(delays=[60])  # holds the first request open, answers the next at once
    yield server
    server.close()


def _wait(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def _status(delivery_id) -> str:
    return WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).get()


def _sweep_once_the_lease_ran_out(delivery_id) -> int:
    """Call the sweep as beat would, once the claim's lease is over (the database's clock)."""
    claimed_until = WebhookDelivery.objects.get(pk=delivery_id).next_attempt_at
    assert _wait(lambda: db_now() > claimed_until, timeout=TIMEOUT * 3 + MARGIN + 5), "the lease never ran out"
    return deliveries_sweep()


def test_a_worker_killed_mid_send_still_delivers_after_a_restart(workers, hanging_receiver):
    from wallets.services import customer_register

    endpoint = endpoint_create(url=hanging_receiver.url, events=["CUSTOMER_REGISTRATION"])
    first = workers()
    customer_register(id="cust-killed")  # committed: the task is queued after commit
    delivery = WebhookDelivery.objects.get()
    got_it = hanging_receiver.wait_for(1, timeout=20)
    if not got_it:
        print(first.output())
    assert got_it, "the first worker never POSTed (its output above)"
    first.kill()  # mid-send: the request is still waiting for its answer

    row = WebhookDelivery.objects.get(pk=delivery.pk)
    assert row.status == WebhookDelivery.Status.PENDING and row.attempts == 0  # nothing was recorded
    assert row.next_attempt_at > db_now()  # still claimed: no other sender may take it yet
    assert deliveries_sweep() == 0

    second = workers()
    assert _sweep_once_the_lease_ran_out(delivery.pk) == 1
    delivered = _wait(lambda: _status(delivery.pk) == WebhookDelivery.Status.DELIVERED, timeout=20)
    if not delivered:
        print(second.output())
    assert delivered, "the second worker never delivered it (its output above)"

    received = hanging_receiver.received
    assert len(received) == 2
    assert [r.headers["webhook-id"] for r in received] == [delivery.message_id] * 2
    assert hanging_receiver.succeeded_by_id() == {delivery.message_id: 1}
    secret = WebhookEndpoint.objects.get(pk=endpoint.pk).secret
    assert Webhook(secret).verify(received[1].body, received[1].headers)["data"]["customer"]["id"] == "cust-killed"
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1


def test_a_process_killed_between_commit_and_queueing_is_sent_by_the_sweep(workers, hanging_receiver):
    hanging_receiver.delays = []  # answers at once
    endpoint_create(url=hanging_receiver.url, events=["CUSTOMER_REGISTRATION"])
    worker = workers()
    died = subprocess.run(
        [sys.executable, "-c", COMMIT_AND_DIE], cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert died.returncode == -signal.SIGKILL, died.stdout + died.stderr

    delivery = WebhookDelivery.objects.get()  # committed, with no task
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 0
    time.sleep(1.0)
    assert hanging_receiver.received == []  # no task was queued: the running worker sent nothing

    assert _wait(lambda: deliveries_sweep() == 1, timeout=5, step=0.3)  # due on the database's clock
    delivered = _wait(lambda: _status(delivery.pk) == WebhookDelivery.Status.DELIVERED, timeout=20)
    if not delivered:
        print(worker.output())
    assert delivered, "the worker never delivered it (its output above)"
    assert [r.headers["webhook-id"] for r in hanging_receiver.received] == [delivery.message_id]
