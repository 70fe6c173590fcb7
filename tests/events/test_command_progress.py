"""The long commands show progress: a bar on a terminal (stderr), plain lines otherwise, and a
one-line summary either way."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.models import Event
from tests.helpers import emit

pytestmark = pytest.mark.django_db


class Terminal(StringIO):
    def isatty(self):
        return True


def overdue(customer, brand, n):
    return [
        emit(customer, brand, value=50, fulfilled=False, reserve=1, issued_at=timezone.now() - timedelta(hours=70))
        for _ in range(n)
    ]


def run(name, *args, stream=StringIO):
    out, err = stream(), stream()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_expire_events_works_batch_by_batch_to_the_end(customer, brand, stars, star_campaign, settings):
    settings.LOYALTY_EXPIRY_BATCH_SIZE = 2
    events = overdue(customer, brand, 5)

    out, _err = run("expire_events")

    assert out.splitlines()[-1] == "expired 5 events and 0 wallet lines"
    assert set(Event.objects.filter(pk__in=[e.pk for e in events]).values_list("status", flat=True)) == {"EXPIRED"}


def test_on_a_terminal_a_bar_is_drawn_on_stderr(customer, brand, stars, star_campaign, settings):
    settings.LOYALTY_EXPIRY_BATCH_SIZE = 2
    overdue(customer, brand, 3)

    out, err = run("expire_events", stream=Terminal)

    assert "held events" in err and "3/3" in err and "100%" in err
    assert "held events" not in out  # stdout stays the report
    assert out.splitlines()[-1] == "expired 3 events and 0 wallet lines"


def test_off_a_terminal_progress_is_plain_lines(customer, brand, stars, star_campaign):
    overdue(customer, brand, 2)

    out, err = run("expire_events")

    assert "held events: 2 of 2 events" in out.splitlines()
    assert "\r" not in out + err and "%|" not in out + err


def test_verify_ledger_reports_each_check_then_one_summary(customer, brand, stars, star_campaign):
    emit(customer, brand, value=30)

    out, err = run("verify_ledger", stream=Terminal)

    assert "ledger checks" in err and "4/4" in err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["totals and lines", "metrics", "budgets", "undone events"]
    assert lines[-1].startswith("ledger clean: ")


def test_fulfill_expired_events_shows_its_progress(customer, brand, stars, star_campaign):
    overdue(customer, brand, 2)
    run("expire_events")
    day = timezone.now().date()

    out, err = run("fulfill_expired_events", "--from", str(day - timedelta(days=4)), "--to", str(day), stream=Terminal)

    assert "expired events" in err and "2/2" in err
    assert out.splitlines()[-1] == "2 of 2 expired events fulfilled"
