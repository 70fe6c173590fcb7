"""The periodic expiry task run by a real Celery worker process over Redis, against the test
database: what production's beat + worker do every minute (SPEC section 6)."""

import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Event
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, per_value_rule
from tests.helpers import emit

REPO_ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not BROKER_URL.startswith("redis://"),
        reason="needs PostgreSQL (the worker is another process) and CELERY_BROKER_URL=redis://...",
    ),
]


def _test_database_url() -> str:
    """The test database (not the configured one) as a DATABASE_URL the worker's settings read."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


# serialized_rollback: an earlier transactional test's flush may have removed the built-in event
# types the migrations created; they are restored before this test.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_expires_a_due_held_event_sent_as_the_expiry_task():
    from config.celery_app import app
    from events.tasks import housekeeping

    brand = BrandFactory(id="0001")
    stars = RewardFactory(brand=brand, name="Stars")
    CampaignFactory(brand=brand, rules=[per_value_rule(stars)])
    customer = CustomerFactory(id="cust-worker")
    event = emit(
        customer, brand, value=50, fulfilled=False, reserve=1, issued_at=timezone.now() - timedelta(hours=70)
    )  # committed: no test transaction here
    assert event.status == Event.Status.PENDING

    app.control.purge()  # nothing left over from an earlier run may reach this worker
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "DATABASE_CONN_MAX_AGE": "0",
    }
    log = tempfile.TemporaryFile(mode="w+")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    status = None
    try:
        housekeeping.delay()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and worker.poll() is None:
            status = Event.objects.filter(pk=event.pk).values_list("status", flat=True).get()
            if status == Event.Status.EXPIRED:
                break
            time.sleep(0.5)
    finally:
        _stop(worker)
        log.seek(0)
        output = log.read()
        log.close()

    if status != Event.Status.EXPIRED:
        print(f"worker exit code {worker.returncode}; its output:\n{output}")
    assert status == Event.Status.EXPIRED, f"event is {status} after 30 s (worker output above)"
    event.refresh_from_db()
    assert event.expired_at is not None
    assert event.transitions.last().source == "task"
    assert "events.housekeeping" in output and "succeeded" in output
