"""manage.py fulfill_expired_events: held events that expired although the shop fulfilled them."""

from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from events.models import Event
from events.services import event_expire_due
from tests.helpers import emit, run_command, totals

pytestmark = pytest.mark.django_db


def run(*args):
    return run_command("fulfill_expired_events", *args)


def test_expired_events_in_the_range_are_applied_once_as_new_resolved_events(customer, brand, stars, star_campaign):
    emit(customer, brand, value=100)  # 10 stars
    issued = timezone.now() - timedelta(hours=30)
    held = emit(customer, brand, value=50, purchase_id="H-1", fulfilled=False, redeem=[(stars, 4)], issued_at=issued)
    outside = emit(customer, brand, value=70, fulfilled=False, issued_at=timezone.now() - timedelta(hours=70))
    event_expire_due(now=timezone.now())
    assert Event.objects.get(pk=held.pk).status == "EXPIRED" and totals(customer, stars)["total"] == 10

    day = timezone.localdate(issued).isoformat()
    out, _ = run("--from", day, "--to", day)
    late = Event.objects.get(replaces=held)
    assert late.status == "RESOLVED" and late.issued_at == held.issued_at and late.purchase_id == "H-1"
    assert f"{held.pk}: fulfilled as {late.pk}" in out
    assert totals(customer, stars)["total"] == 10 + 5 - 4
    assert Event.objects.get(pk=outside.pk).status == "EXPIRED"  # issued outside the range
    assert Event.objects.get(pk=held.pk).status == "EXPIRED"  # history kept

    out, _ = run("--from", day, "--to", day)  # again: nothing left to do
    assert "0 of 0" in out and Event.objects.filter(replaces=held).count() == 1


def test_a_late_fulfilment_that_cannot_be_honoured_fails_and_exits_non_zero(customer, brand, stars, star_campaign):
    emit(customer, brand, value=100)
    issued = timezone.now() - timedelta(hours=30)
    held = emit(customer, brand, value=50, fulfilled=False, redeem=[(stars, 8)], issued_at=issued)
    event_expire_due(now=timezone.now())
    emit(customer, brand, value=5, redeem=[(stars, 9)])  # the stars are spent meanwhile
    day = timezone.localdate(issued).isoformat()
    with pytest.raises(CommandError):
        run("--from", day, "--to", day)
    assert Event.objects.get(replaces=held).status == "FAILED"
