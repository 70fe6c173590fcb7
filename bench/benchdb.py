"""The database a benchmark runs against, set up the same way for every script in bench/.

`bench_database("x.sqlite3")`: var/x.sqlite3, recreated each run, or, with
BENCH_DATABASE_URL=postgres://..., that PostgreSQL database with its tables flushed first and the
rows the migrations seed (built-in event types, the base tier) put back as tests/conftest.py
does. Then Django is set up (config.settings.test unless DJANGO_SETTINGS_MODULE says otherwise)
and migrated. Call it before importing any model.
"""

import os
import sys
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bench_database(sqlite_name: str) -> None:
    db_url = os.environ.get("BENCH_DATABASE_URL")
    if not db_url:
        (ROOT / "var").mkdir(exist_ok=True)
        path = ROOT / "var" / sqlite_name
        path.unlink(missing_ok=True)
        db_url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        call_command("flush", "--noinput", verbosity=0)
        for name in ("0002_builtin_event_types", "0004_base_tier_and_version"):
            import_module(f"campaigns.migrations.{name}").create(apps, None)


def per_value_programme(campaign_name: str = "bench points"):
    """Brand B1, a POINTS reward (2 decimals) and one running PER_VALUE campaign on PURCHASE (1
    point per 10 spent, no conditions: every purchase matches), the programme the HTTP and
    webhook benches drive. Returns (brand, reward). Call after bench_database()."""
    from campaigns.models import Brand, Campaign, EventType, Reward

    brand = Brand.objects.create(id="B1", name="Bench")
    reward = Reward.objects.create(brand=brand, name="Points", type="POINTS", decimals=2)
    Campaign.objects.create(
        brand=brand,
        name=campaign_name,
        trigger=EventType.objects.get(pk="PURCHASE"),
        start_date="2020-01-01T00:00:00Z",
        rules=[
            {
                "id": "r1",
                "conditions": [],
                "effects": [{"reward_id": str(reward.pk), "kind": "PER_VALUE", "amount": 1, "per": 10}],
            }
        ],
    )
    return brand, reward
