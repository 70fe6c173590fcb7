"""Management commands (SPEC section 6): each prints what it did and exits non-zero on failure."""

import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from campaigns.models import ApiKey, Brand, Campaign, Reward
from events.models import Event
from events.selectors import ledger_problems
from tests.helpers import emit, run_command, stored_total, totals
from wallets.models import Customer, Transaction, WalletLine, WalletTotal

pytestmark = pytest.mark.django_db


def run_failing(name, *args, **options):
    """call_command that must fail: (the CommandError, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(name, *args, stdout=out, stderr=err, **options)
    return failure.value, out.getvalue(), err.getvalue()


def held(customer, brand, **kwargs):
    return emit(customer, brand, value=kwargs.pop("value", 50), fulfilled=False, **kwargs)


def overdue(customer, brand, **kwargs):
    """A held event whose 1-day window closed 46 hours ago by any clock."""
    return held(customer, brand, reserve=1, issued_at=timezone.now() - timedelta(hours=70), **kwargs)


# ---- fulfill_event -------------------------------------------------------------------------------------


def test_fulfill_event_fulfills_each_held_event_and_prints_it(customer, brand, stars, star_campaign):
    first, second = held(customer, brand, value=50), held(customer, brand, value=30)
    assert totals(customer, stars)["pending"] == 8

    out, _err = run_command("fulfill_event", str(first.pk), str(second.pk))

    assert f"{first.pk}: RESOLVED" in out and f"{second.pk}: RESOLVED" in out
    assert {e.status for e in Event.objects.filter(pk__in=[first.pk, second.pk])} == {Event.Status.RESOLVED}
    assert totals(customer, stars) == {"total": 8, "reserved": 0, "pending": 0, "debt": 0}
    assert set(Event.objects.get(pk=first.pk).transitions.values_list("source", flat=True)) >= {"command"}


def test_fulfill_event_exits_non_zero_naming_failures_but_fulfills_the_good_ones(customer, brand, stars, star_campaign):
    good = held(customer, brand, value=50)
    resolved = emit(customer, brand, value=20)
    unknown = uuid.uuid4()

    error, out, err = run_failing("fulfill_event", str(unknown), str(good.pk), str(resolved.pk))

    assert "2 of 3" in str(error)
    assert f"{good.pk}: RESOLVED" in out
    assert str(unknown) in err and "event_not_found" in err
    assert str(resolved.pk) in err and "invalid_transition" in err
    assert Event.objects.get(pk=good.pk).status == Event.Status.RESOLVED
    assert Event.objects.get(pk=resolved.pk).status == Event.Status.RESOLVED
    assert totals(customer, stars)["total"] == 7


def test_fulfill_event_refuses_a_held_event_past_its_window(customer, brand, stars, star_campaign):
    late = overdue(customer, brand)

    _error, out, err = run_failing("fulfill_event", str(late.pk))

    assert out == "" and str(late.pk) in err
    assert Event.objects.get(pk=late.pk).status == Event.Status.PENDING
    assert totals(customer, stars)["total"] == 0


# ---- reverse_event -------------------------------------------------------------------------------------


def test_reverse_event_reverses_a_resolved_event_and_stores_the_reason(customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120)
    assert totals(customer, stars)["total"] == 12

    out, _err = run_command("reverse_event", str(event.pk), "--reason", "order refunded")

    assert f"{event.pk}: REVERSED" in out
    event.refresh_from_db()
    assert event.status == Event.Status.REVERSED and event.reason == "order refunded"
    assert event.transitions.last().source == "command"
    assert totals(customer, stars)["total"] == 0
    assert Transaction.objects.filter(event_id=event.pk, type=Transaction.Type.REVERSAL).exists()


def test_reverse_event_cancels_a_held_event(customer, brand, stars, star_campaign):
    event = held(customer, brand, value=50)

    out, _err = run_command("reverse_event", str(event.pk), "--reason", "customer changed their mind")

    assert f"{event.pk}: CANCELLED" in out
    assert Event.objects.get(pk=event.pk).status == Event.Status.CANCELLED
    assert totals(customer, stars)["pending"] == 0


def test_reverse_event_requires_a_reason(customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120)

    with pytest.raises(CommandError, match="--reason"):
        call_command("reverse_event", str(event.pk), stdout=StringIO(), stderr=StringIO())

    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED


def test_reverse_event_exits_non_zero_on_an_event_already_reversed(customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120)
    run_command("reverse_event", str(event.pk), "--reason", "refund")

    error, out, _err = run_failing("reverse_event", str(event.pk), "--reason", "again")

    assert str(event.pk) in str(error) and "REVERSED" in str(error)
    assert out == ""
    assert Transaction.objects.filter(event_id=event.pk, type=Transaction.Type.REVERSAL).count() == 1


# ---- expire_events -------------------------------------------------------------------------------------


def test_expire_events_dry_run_lists_due_events_and_changes_nothing(customer, brand, stars, star_campaign):
    due = [overdue(customer, brand, value=50), overdue(customer, brand, value=30)]
    not_due = held(customer, brand, value=40)
    rows_before = Transaction.objects.count()

    out, _err = run_command("expire_events", "--dry-run")

    for event in due:
        assert f"would expire event {event.pk}" in out
    assert str(not_due.pk) not in out
    assert "2 events" in out and "dry run" in out
    assert set(Event.objects.values_list("status", flat=True)) == {Event.Status.PENDING}
    assert Transaction.objects.count() == rows_before
    assert totals(customer, stars)["pending"] == 12


def test_expire_events_expires_due_held_events_only(customer, brand, stars, star_campaign):
    due = [overdue(customer, brand, value=50), overdue(customer, brand, value=30)]
    not_due = held(customer, brand, value=40)

    out, _err = run_command("expire_events")

    assert "expired 2 events" in out
    for event in due:
        event.refresh_from_db()
        assert event.status == Event.Status.EXPIRED and event.expired_at is not None
    assert Event.objects.get(pk=not_due.pk).status == Event.Status.PENDING
    assert totals(customer, stars)["pending"] == 4
    assert not WalletLine.objects.filter(event_id__in=[e.pk for e in due], state=WalletLine.State.PENDING).exists()

    again, _err = run_command("expire_events")
    assert "expired 0 events" in again


def test_expire_events_releases_the_reservation_of_an_expired_event(customer, brand, stars, star_campaign):
    emit(customer, brand, value=120)
    late = overdue(customer, brand, value=0, redeem=[(stars, 5)])
    assert totals(customer, stars)["reserved"] == 5

    run_command("expire_events")

    assert Event.objects.get(pk=late.pk).status == Event.Status.EXPIRED
    assert totals(customer, stars) == {"total": 12, "reserved": 0, "pending": 0, "debt": 0}


# ---- verify_ledger -------------------------------------------------------------------------------------


def test_verify_ledger_reports_a_clean_ledger(customer, brand, stars, star_campaign):
    emit(customer, brand, value=120)
    held(customer, brand, value=30, redeem=[(stars, 5)])

    out, err = run_command("verify_ledger")

    assert "ledger clean" in out and err == ""


@pytest.mark.ledger_drift_expected
def test_verify_ledger_exits_non_zero_naming_a_tampered_total(customer, brand, stars, star_campaign):
    emit(customer, brand, value=120)
    total = stored_total(customer, stars)
    WalletTotal.objects.filter(pk=total.pk).update(balance=F("balance") + Decimal(3))

    error, out, err = run_failing("verify_ledger")

    assert "drift" in str(error)
    assert "ledger clean" not in out
    assert f"wallet {total.wallet_id} reward {stars.pk}" in err
    assert "balance is 15" in err and "ledger says 12" in err
    assert ledger_problems() != []


# ---- seed_demo -----------------------------------------------------------------------------------------


def test_seed_demo_is_idempotent_and_its_campaign_earns_a_star_per_ten_spent():
    first, _ = run_command("seed_demo")
    second, _ = run_command("seed_demo")

    assert "cust-1" in first and first == second
    assert list(Brand.objects.values_list("id", flat=True)) == ["0001"]
    assert list(Reward.objects.values_list("name", flat=True)) == ["Stars"]
    assert Campaign.objects.count() == 1
    assert list(Customer.objects.values_list("id", flat=True)) == ["cust-1"]

    customer, brand, stars = Customer.objects.get(pk="cust-1"), Brand.objects.get(pk="0001"), Reward.objects.get()
    event = emit(customer, brand, value=120, purchase_id="A-1001")

    assert event.status == Event.Status.RESOLVED
    assert [a["amount"] for a in event.result["accumulations"]] == [12]
    assert totals(customer, stars)["total"] == 12


# ---- create_api_key ------------------------------------------------------------------------------------


def test_create_api_key_prints_the_key_last_and_the_key_authenticates(client):
    out, _err = run_command("create_api_key", "pos-terminal")
    raw = out.strip().splitlines()[-1]

    key = ApiKey.objects.get(name="pos-terminal")
    assert ApiKey.find(raw) == key
    assert raw not in (key.key_hash, key.lookup)
    assert client.get("/api/v1/brands", HTTP_X_API_KEY=raw).status_code == 200
    assert client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert client.get("/api/v1/brands", HTTP_X_API_KEY=raw[:-2] + "xx").status_code in (401, 403)


def test_create_api_key_for_an_unknown_brand_exits_non_zero():
    _error, out, _err = run_failing("create_api_key", "shop", "--brand", "9999")

    assert out == ""
    assert not ApiKey.objects.filter(name="shop").exists()


# ---- the audit trail of the commands; adjust_balance (issue 10) ----------------------------------------


def test_fulfill_event_and_reverse_event_are_written_to_the_audit_trail(customer, brand, stars, star_campaign):
    from audit.models import AuditEntry
    from audit.services import command_actor

    event = held(customer, brand, value=50)

    run_command("fulfill_event", str(event.pk))
    run_command("reverse_event", str(event.pk), "--reason", "order refunded")
    run_failing("reverse_event", str(event.pk), "--reason", "again")  # refused: recorded nowhere

    fulfil, reverse = AuditEntry.objects.order_by("id")
    assert (fulfil.action, fulfil.source, fulfil.actor, fulfil.actor_name) == (
        "event.fulfill",
        "command",
        None,
        command_actor("fulfill_event"),
    )
    assert (fulfil.before["status"], fulfil.after["status"]) == ("PENDING", "RESOLVED")
    assert (reverse.action, reverse.actor_name, reverse.reason) == (
        "event.reverse",
        command_actor("reverse_event"),
        "order refunded",
    )
    assert (reverse.before["status"], reverse.after["status"]) == ("RESOLVED", "REVERSED")
    assert reverse.object_id == str(event.pk) and reverse.object_type == "events.event"


def test_adjust_balance_credits_and_debits_and_is_audited(customer, brand, stars):
    from audit.models import AuditEntry
    from audit.services import command_actor

    out, _err = run_command("adjust_balance", customer.pk, str(stars.pk), "10", "--reason", "goodwill")
    run_command("adjust_balance", customer.pk, str(stars.pk), "-4", "--reason", "correction")

    assert "RESOLVED" in out and totals(customer, stars)["total"] == 6
    entries = AuditEntry.objects.filter(action="customer.adjust").order_by("id")
    assert [(e.source, e.actor_name, e.reason, e.after["amount"]) for e in entries] == [
        ("command", command_actor("adjust_balance"), "goodwill", 10),
        ("command", command_actor("adjust_balance"), "correction", -4),
    ]
    assert set(Event.objects.filter(type_id="ADJUSTMENT").values_list("transitions__source", flat=True)) == {"command"}


def test_adjust_balance_exits_non_zero_when_refused_and_stores_nothing(customer, brand, stars):
    error, out, _err = run_failing("adjust_balance", customer.pk, str(stars.pk), "-1", "--reason", "oops")

    assert "insufficient_balance" in str(error) and out == ""
    with pytest.raises(CommandError, match="--reason"):
        call_command("adjust_balance", customer.pk, str(stars.pk), "5", stdout=StringIO(), stderr=StringIO())
    assert not Event.objects.filter(type_id="ADJUSTMENT").exists()
    assert totals(customer, stars)["total"] == 0


def test_fulfill_expired_events_and_create_api_key_are_audited(customer, brand, stars, star_campaign):
    from audit.models import AuditEntry

    original = overdue(customer, brand)
    run_command("expire_events")
    day = timezone.now().date()
    run_command("fulfill_expired_events", "--from", str(day - timedelta(days=4)), "--to", str(day))
    run_command("create_api_key", "ops key")

    late = AuditEntry.objects.get(action="event.fulfill_expired")
    assert (late.source, late.object_id) == ("command", str(original.pk))
    assert late.actor_name.startswith("fulfill_expired_events (")
    assert late.after["fulfilled_as"] == str(Event.objects.get(replaces=original).pk)
    key = AuditEntry.objects.get(action="api_key.create")
    assert key.after["name"] == "ops key" and not {"key_hash", "token_secret"} & key.after.keys()
