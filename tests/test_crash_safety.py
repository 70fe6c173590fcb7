"""Crash safety against real processes (PostgreSQL only):

- a server process killed with SIGKILL in the middle of a stream of emits leaves no partial
  event: every event has all of its rows (lines, ledger rows, transitions) or none;
- a PostgreSQL restart under load gives 503 `service_unavailable` answers (never a 500), and the
  same server process recovers by itself once the database is back.

The restart test stops and starts the machine's PostgreSQL cluster, so it only runs when
LOYALTY_TEST_RESTART_POSTGRES=1 (CI sets it; it needs root and pg_ctlcluster).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from campaigns.services import api_key_create
from events.models import Event, EventTransition
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, per_value_rule
from wallets.models import Transaction, WalletLine

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the server is another process sharing the test database")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Server:
    """gunicorn serving the app on the test database, in its own process group."""

    def __init__(self):
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "DATABASE_CONN_MAX_AGE": "60",
        }
        self.log = open(ROOT / "var" / f"crash-test-{self.port}.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("server did not start:\n" + self.output())

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _post(port: int, key: str, body: dict, timeout: float = 10) -> tuple[int | None, dict | None]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/behavior/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        return None, None  # connection refused / reset: the server is gone


@pytest.fixture
def programme():
    brand = BrandFactory(id="0001")
    stars = RewardFactory(brand=brand)
    CampaignFactory(brand=brand, rules=[per_value_rule(stars, amount=1, per=10)])
    customers = [CustomerFactory(id=f"crash-{i}") for i in range(4)]
    _key, raw = api_key_create(name="crash test")
    (ROOT / "var").mkdir(exist_ok=True)
    return customers, raw


def _body(i: int, customers) -> dict:
    return {
        "customer_id": customers[i % len(customers)].pk,
        "brand_id": "0001",
        "type": "PURCHASE",
        "order": {"purchase_id": f"P-{i}", "value": 100 + i},
    }


def test_killing_the_server_mid_stream_leaves_no_partial_event(programme):
    customers, key = programme
    server = Server()
    answers: dict[int, int | None] = {}
    stop = threading.Event()

    def stream(offset: int):
        i = offset
        while not stop.is_set() and i < offset + 10_000:
            answers[i], _ = _post(server.port, key, _body(i, customers), timeout=5)
            i += 4

    clients = [threading.Thread(target=stream, args=(n,)) for n in range(4)]
    try:
        for c in clients:
            c.start()
        deadline = time.monotonic() + 20
        while sum(1 for s in list(answers.values()) if s == 201) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # SIGKILL the whole process group, requests in flight
        stop.set()
        for c in clients:
            c.join(timeout=15)
    finally:
        stop.set()
        server.stop()

    created = [i for i, s in answers.items() if s == 201]
    lost = [i for i, s in answers.items() if s is None]
    assert len(created) >= 40, server.output()
    connection.close()
    events = {e.purchase_id: e for e in Event.objects.filter(type_id="PURCHASE")}  # the customers' REGISTRATIONs aside
    # every acknowledged event is there, complete
    for i in created:
        assert f"P-{i}" in events
    # every stored event, acknowledged or cut off, has all of its rows; none has part of them
    for event in events.values():
        assert event.status == "RESOLVED"
        lines = list(WalletLine.objects.filter(event_id=event.pk))
        rows = list(Transaction.objects.filter(event_id=event.pk))
        assert len(lines) == 1 and len(rows) == 1 and rows[0].amount == lines[0].amount
        assert EventTransition.objects.filter(event=event).count() == 1
        assert [a["id"] for a in event.result["accumulations"]] == [lines[0].pk]
    # and no row belongs to an event that was never stored
    stored = set(events[p].pk for p in events)
    assert set(WalletLine.objects.values_list("event_id", flat=True)) <= stored
    assert set(Transaction.objects.values_list("event_id", flat=True)) <= stored
    # requests cut off by the kill either fully happened or did not happen at all
    assert all(f"P-{i}" not in events or events[f"P-{i}"].status == "RESOLVED" for i in lost)


def _restart_postgres():
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        timeout=120,
    )


@pytest.mark.skipif(
    os.environ.get("LOYALTY_TEST_RESTART_POSTGRES") != "1" or not shutil.which("pg_ctlcluster"),
    reason="restarts the machine's PostgreSQL: set LOYALTY_TEST_RESTART_POSTGRES=1 (CI does)",
)
def test_a_postgres_restart_gives_503s_then_recovers_without_restarting_the_app(programme):
    customers, key = programme
    server = Server()
    statuses: list[int | None] = []
    stop = threading.Event()

    def stream():
        i = 0
        while not stop.is_set():
            status, _ = _post(server.port, key, _body(i, customers), timeout=10)
            statuses.append(status)
            i += 1
            time.sleep(0.01)

    client = threading.Thread(target=stream)
    try:
        client.start()
        time.sleep(1.5)
        before = len(statuses)
        _restart_postgres()
        time.sleep(3)
        stop.set()
        client.join(timeout=30)
        # the same server process, after the restart: it reconnects by itself
        recovered = [_post(server.port, key, _body(100_000 + n, customers))[0] for n in range(5)]
    finally:
        stop.set()
        server.stop()
        connection.close()

    assert before > 0 and statuses[:before].count(201) == before, statuses[:before]
    assert 500 not in statuses, server.output()
    assert 503 in statuses, statuses  # the outage was seen, and answered as such
    assert set(statuses) <= {201, 503}, statuses
    assert recovered == [201] * 5, server.output()
