"""CELERY_TASK_ALWAYS_EAGER from the environment (issue 15, item 10): the settings read it (like
every other variable, with django-environ; off by default), the Celery app takes it, and with it
on an `?async=true` event is applied without any worker.

Settings are read once per process, so each case runs in a fresh Python process with its own
environment: the test settings, an in-memory SQLite database and kombu's in-memory broker, so
that nothing outside the process is touched."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
import django
django.setup()
from django.conf import settings
from config.celery_app import app

out = {"setting": getattr(settings, "CELERY_TASK_ALWAYS_EAGER", None), "celery": bool(app.conf.task_always_eager)}
if "--emit" in sys.argv:
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    from campaigns.services import api_key_create
    from events.models import Event
    from tests.factories import BrandFactory, CampaignFactory, RewardFactory, per_value_rule
    from wallets.models import WalletTotal
    from wallets.services import customer_register

    brand = BrandFactory(id="0001", name="Cafe")
    stars = RewardFactory(brand=brand, name="Stars", decimals=0)
    CampaignFactory(brand=brand, rules=[per_value_rule(stars, min_value=10)])
    customer_register(id="cust-1", name="C")
    _key, raw = api_key_create(name="eager")
    body = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"purchase_id": "E-1", "value": 120}}
    response = Client().post(
        "/api/v1/behavior/events?async=true",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    answer = response.json()["data"]
    event = Event.objects.get(pk=answer["id"])
    total = WalletTotal.objects.filter(wallet__customer_id="cust-1", reward=stars).values_list("balance", flat=True).first()
    out.update(
        http=response.status_code,
        answered=answer["status"],
        status=event.status,
        queued=event.queued,
        stars=int(total or 0),
        transitions=list(event.transitions.values_list("to_status", flat=True)),
    )
print("RESULT " + json.dumps(out))
"""


def run(value: str | None, *args: str) -> dict:
    """Run SCRIPT in a new process with CELERY_TASK_ALWAYS_EAGER=value (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "CELERY_TASK_ALWAYS_EAGER"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL="sqlite://:memory:",
        CELERY_BROKER_URL="memory://",
        CACHE_URL="locmemcache://",
    )
    if value is not None:
        env["CELERY_TASK_ALWAYS_EAGER"] = value
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def env_file_sets_it() -> bool:
    """A developer's .env (read by the settings, under the real environment) may set it."""
    path = REPO_ROOT / ".env"
    return path.exists() and any(
        line.strip().startswith("CELERY_TASK_ALWAYS_EAGER") for line in path.read_text().splitlines()
    )


@pytest.mark.parametrize("value, eager", [("true", True), ("1", True), ("false", False)])
def test_the_settings_read_celery_task_always_eager_from_the_environment(value, eager):
    assert run(value) == {"setting": eager, "celery": eager}


@pytest.mark.skipif(env_file_sets_it(), reason="this checkout's .env sets CELERY_TASK_ALWAYS_EAGER")
def test_celery_task_always_eager_is_off_when_unset():
    assert run(None) == {"setting": False, "celery": False}


def test_with_celery_task_always_eager_an_async_event_is_applied_without_a_worker():
    got = run("true", "--emit")

    assert (got["http"], got["answered"]) == (202, "PENDING")  # answered as queued, as always
    assert (got["status"], got["queued"]) == ("RESOLVED", False)  # then applied in the same process
    assert got["transitions"] == ["PENDING", "PROCESSING", "RESOLVED"]
    assert got["stars"] == 12
