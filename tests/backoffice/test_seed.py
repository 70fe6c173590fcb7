"""The benchmark seeder writes a ledger that `verify_ledger` finds clean, and refuses to run by accident."""

import pytest
from django.core.management import CommandError
from django.utils import timezone

from backoffice.seeding import seed_events
from events.models import Event
from events.selectors import ledger_problems
from tests.helpers import run_command
from wallets.models import Transaction

pytestmark = pytest.mark.django_db


def test_seeded_events_leave_the_ledger_clean():
    result = seed_events(events=600, customers=30, now=timezone.now(), days=35)
    assert result["events"] == Event.objects.count() == 600
    assert ledger_problems() == []
    types = set(Transaction.objects.values_list("type", flat=True))
    assert {"ACCUMULATION", "REDEMPTION", "EXPIRATION", "REVERSAL"} <= types
    statuses = set(Event.objects.values_list("status", flat=True))
    assert {"RESOLVED", "REVERSED", "EXPIRED", "FAILED", "PENDING"} <= statuses


def test_seed_events_refuses_without_debug_or_yes_really(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="yes-really"):
        run_command("seed_events", events=1, customers=1)
    assert Event.objects.count() == 0
    out, _err = run_command("seed_events", events=5, customers=2, yes_really=True)
    assert "5 events" in out


def test_seed_events_shows_its_progress_and_a_summary(settings):
    settings.DEBUG = True
    out, _err = run_command("seed_events", events=2000, customers=20)

    lines = out.splitlines()
    assert "events built: 2000 of 2000 events" in lines  # plain lines off a terminal
    assert "2000 events" in lines[-1] and lines[-1].endswith(" s")
