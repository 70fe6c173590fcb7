from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection

from campaigns.models import EventType, Tier
from campaigns.services import api_key_create
from events.models import Event, EventTransition
from events.selectors import ledger_problems
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, per_value_rule


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def brand(db):
    return BrandFactory(id="0001", name="Cafe Central")


@pytest.fixture
def stars(brand):
    return RewardFactory(brand=brand, name="Stars", decimals=0)


@pytest.fixture
def star_campaign(brand, stars):
    """1 star per 10 spent on orders of 10 or more, expiring after 12 months (SPEC section 7)."""
    return CampaignFactory(brand=brand, rules=[per_value_rule(stars, min_value=10, expiration="12/months")])


@pytest.fixture
def customer(db):
    return CustomerFactory(id="cust-1")


@pytest.fixture
def api_key(db):
    _key, raw = api_key_create(name="tests")
    return raw


@pytest.fixture
def api(client, api_key):
    """A Django test client that sends JSON with the API key."""

    class Api:
        def __init__(self, raw):
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

        def _call(self, method, path, body=None, **extra):
            kwargs = {**self.headers, **extra}
            if body is not None:
                import json

                kwargs["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
                kwargs["content_type"] = "application/json"
            return getattr(client, method)(f"/api/v1{path}", **kwargs)

        def get(self, path, **extra):
            return self._call("get", path, **extra)

        def post(self, path, body=None, **extra):
            return self._call("post", path, body, **extra)

        def patch(self, path, body=None, **extra):
            return self._call("patch", path, body, **extra)

        def put(self, path, body=None, **extra):
            return self._call("put", path, body, **extra)

    return Api(api_key)


# The migrations that seed rows; each one's data function, `create(apps, schema_editor)`, puts them back.
SEEDING_MIGRATIONS = [
    import_module(f"campaigns.migrations.{name}") for name in ("0002_builtin_event_types", "0004_base_tier_and_version")
] + [
    import_module("events.migrations.0011_adjustments"),  # the built-in ADJUSTMENT event type
    import_module("backoffice.migrations.0003_groups"),  # the back office's permission groups
    import_module("coupons.migrations.0002_coupon_redemption_type"),  # the built-in COUPON_REDEMPTION event type
    import_module("referrals.migrations.0002_referral_event_type"),  # the built-in REFERRAL event type
    import_module("backoffice.migrations.0004_groups_programme_mechanics"),  # the groups' later permissions
]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with empty rate-limit counters (the Django cache)."""
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _migration_rows(request):
    """Transactional tests end with a flush that also empties the rows the migrations created:
    put them back (the built-in event types, the base tier of level 1 with its fixed id, the
    programme version row) for every database test, so that every test starts with a base tier
    and every customer registered gets one."""
    if request.node.get_closest_marker("django_db") is None:
        # a test that asks for the database by fixture, not by marker: open it first
        wanted = [name for name in ("transactional_db", "db") if name in request.fixturenames]
        if not wanted:
            return
        request.getfixturevalue(wanted[0])
    if (
        EventType.objects.filter(built_in=True).count() < len(EventType.BUILT_IN)
        or not Tier.objects.filter(level=1).exists()
        or not Group.objects.filter(name__startswith="Support").exists()
    ):
        for migration in SEEDING_MIGRATIONS:
            migration.create(django_apps, None)


@pytest.fixture(autouse=True)
def _ledger_stays_clean(request):
    """After every database test, every total and line must agree with the ledger, every
    undone event net to zero (what `manage.py verify_ledger` checks), and every recorded status
    change be one that Event.TRANSITIONS holds. A test that tampers with
    totals on purpose says so with @pytest.mark.ledger_drift_expected."""
    yield
    if request.node.get_closest_marker("django_db") is None or request.node.get_closest_marker("ledger_drift_expected"):
        return
    if not hasattr(request.node, "rep_call") or not request.node.rep_call.passed:
        return
    assert ledger_problems() == [], "the test left the ledger inconsistent"
    walked = set(EventTransition.objects.values_list("from_status", "to_status").distinct())
    assert {(src, to) for src, to in walked if to not in Event.TRANSITIONS.get(src, ())} == set(), (
        "an event moved along a transition the table does not hold"
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report
