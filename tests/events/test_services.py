"""The event lifecycle of SPEC section 2, row by row, through the services (no HTTP).

The ledger check after every test (tests/conftest.py) proves the ledger consistent; the events a
test undid are shown to have a net effect of zero on every reward.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db.models import Sum
from django.utils import timezone

from campaigns.models import EventType, Reward
from core.exceptions import (
    BusinessRuleError,
    Conflict,
    DomainError,
    InsufficientBalance,
    InvalidInput,
    InvalidTransition,
)
from events.models import Event, EventTransition
from events.services import event_emit, event_expire_due, event_fulfill, event_reverse, housekeeping_run
from tests.factories import CampaignFactory, RewardFactory, fixed_rule
from tests.helpers import T4, emit, fresh, lines_of, rows_of, stored_total, totals
from wallets.models import Transaction, WalletLine, WalletTotal
from wallets.selectors import customer_metrics

pytestmark = pytest.mark.django_db

S = Event.Status
T = Transaction.Type
L = WalletLine.State
D = Decimal


# ---- helpers -------------------------------------------------------------------------------------------


def assert_nets_zero(*events) -> None:
    """Each event's rows sum to zero for every reward."""
    for event in events:
        sums = dict(Transaction.objects.filter(event_id=event.pk).values_list("reward_id").annotate(s=Sum("amount")))
        assert all(value == 0 for value in sums.values()), (event.status, sums)


def lifetime(customer) -> tuple:
    m = customer_metrics(customer_id=customer.pk, now=timezone.now())["lifetime"]
    return m["number_of_purchases"], D(str(m["spend_total"])), m["events"]


def expired_counts(report: dict) -> tuple[int, int]:
    """(events expired, lines expired) from the periodic job's report."""
    return report["events_expired"], report["lines_expired"]


def snapshot(event) -> dict:
    """Everything an action on `event` could change."""
    event = fresh(event)
    return {
        "event": {
            f: getattr(event, f)
            for f in (
                "status",
                "fulfilled",
                "reason",
                "resolved_at",
                "failed_at",
                "cancelled_at",
                "expired_at",
                "reversed_at",
                "result",
            )
        },
        "transitions": EventTransition.objects.filter(event=event).count(),
        "rows": list(Transaction.objects.order_by("id").values_list("id", "type", "amount", "line_id")),
        "lines": list(WalletLine.objects.order_by("id").values_list("id", "remaining", "reserved", "state")),
        "totals": list(WalletTotal.objects.order_by("id").values_list("id", "balance", "reserved", "debt", "pending")),
        "metrics": customer_metrics(customer_id=event.customer_id, now=timezone.now()),
    }


@pytest.fixture
def funded(customer, brand, stars, star_campaign):
    """A first RESOLVED purchase of 120: 12 stars on one AVAILABLE line."""
    event = emit(customer, brand, value=120)
    assert totals(customer, stars) == T4(12)
    return event


# ---- (new) -> RESOLVED -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fulfilled", [None, True], ids=["fulfilled-absent", "fulfilled-true"])
def test_emit_fulfilled_or_absent_resolves_and_credits_available_lines(
    customer, brand, stars, star_campaign, fulfilled
):
    issued_at = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    payload = {
        "customer_id": customer.pk,
        "brand_id": brand.pk,
        "type": "PURCHASE",
        "issued_at": issued_at,
        "order": {"value": D("125.50"), "purchase_id": "A-1"},
    }
    if fulfilled is not None:
        payload["fulfilled"] = fulfilled

    event = event_emit(payload=payload)

    stored = fresh(event)
    assert stored.status == S.RESOLVED and stored.fulfilled is True
    assert stored.resolved_at is not None and stored.reservation_expires_at is None
    [line] = lines_of(event)
    assert (line.state, line.amount, line.remaining, line.reserved) == (L.AVAILABLE, 12, 12, 0)
    assert line.campaign_id == star_campaign.pk and line.reward_id == stars.pk
    assert line.issued_at == issued_at
    assert line.expiration_date == issued_at + relativedelta(months=12)
    assert rows_of(event) == [(T.ACCUMULATION, D(12), line.pk)]
    assert totals(customer, stars) == T4(12)
    assert lifetime(customer) == (1, D("125.50"), {"PURCHASE": 1})
    assert list(stored.transitions.values_list("from_status", "to_status")) == [("", S.RESOLVED)]


def test_emit_resolved_debits_redemptions_in_the_same_event(customer, brand, stars, funded):
    event = emit(customer, brand, value=30, redeem=[(stars, 5)])

    assert event.status == S.RESOLVED
    [acc] = lines_of(event)
    [first_line] = lines_of(funded)
    assert (acc.remaining, acc.state) == (3, L.AVAILABLE)
    # the redemption is judged (and written) before the event's own grant
    assert rows_of(event) == [(T.REDEMPTION, D(-5), first_line.pk), (T.ACCUMULATION, D(3), acc.pk)]
    assert WalletLine.objects.get(pk=first_line.pk).remaining == 7
    assert totals(customer, stars) == T4(10)


# ---- (new) -> PENDING (held) ---------------------------------------------------------------------------


@pytest.mark.parametrize("reserve, days", [(None, 1), (3, 3)], ids=["reserve-default-1-day", "reserve-3-days"])
def test_emit_unfulfilled_is_held_with_pending_lines_and_reservations(customer, brand, stars, funded, reserve, days):
    issued_at = timezone.now().replace(microsecond=0)

    event = emit(customer, brand, value=30, redeem=[(stars, 5)], fulfilled=False, reserve=reserve, issued_at=issued_at)

    stored = fresh(event)
    assert stored.status == S.PENDING and stored.fulfilled is False and stored.resolved_at is None
    assert stored.reservation_expires_at == issued_at + timedelta(days=days)
    [pending] = lines_of(event)
    assert (pending.state, pending.amount, pending.remaining, pending.reserved) == (L.PENDING, 3, 0, 0)
    assert pending.reservation_expires_at == issued_at + timedelta(days=days)
    [first_line] = lines_of(funded)
    assert (first_line.remaining, first_line.reserved) == (12, 5)
    # the held accumulation has no ledger row yet; the redemption is only a reservation
    assert rows_of(event) == [(T.RESERVATION, D(5), first_line.pk)]
    assert totals(customer, stars) == T4(7, reserved=5, pending=3)
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1})  # held events do not count yet


def test_held_redemption_cannot_spend_what_another_hold_reserved(customer, brand, stars, funded):
    emit(customer, brand, redeem=[(stars, 10)], fulfilled=False)

    with pytest.raises(InsufficientBalance):
        emit(customer, brand, redeem=[(stars, 3)], fulfilled=False)

    assert totals(customer, stars) == T4(2, reserved=10)


# ---- (new) -> FAILED ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fulfilled", [True, False], ids=["resolved", "held"])
def test_emit_with_insufficient_balance_is_stored_failed_and_moves_nothing(customer, brand, stars, funded, fulfilled):
    rows_before = Transaction.objects.count()
    lines_before = WalletLine.objects.count()

    with pytest.raises(InsufficientBalance) as failure:
        # the 5 stars this purchase of 50 would earn must not make the 13 affordable either
        emit(customer, brand, value=50, redeem=[(stars, 13)], fulfilled=fulfilled, purchase_id="A-2")

    assert failure.value.code == "insufficient_balance"
    event = Event.objects.get(pk=failure.value.extra["event_id"])
    assert event.status == S.FAILED and event.failed_at is not None and event.resolved_at is None
    assert event.error_code == "insufficient_balance"
    assert "asked 13" in event.reason and "spendable 12" in event.reason
    assert list(event.transitions.values_list("from_status", "to_status")) == [("", S.FAILED)]
    assert rows_of(event) == [] and lines_of(event) == []
    assert (Transaction.objects.count(), WalletLine.objects.count()) == (rows_before, lines_before)
    assert totals(customer, stars) == T4(12)
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1})
    assert_nets_zero(event)


def test_emit_redeeming_a_reward_not_redeemable_in_the_order_is_stored_failed(customer, brand, stars, funded):
    voucher = RewardFactory(brand=brand, name="Voucher", type=Reward.Type.DISCOUNT)
    payload = {
        "customer_id": customer.pk,
        "brand_id": brand.pk,
        "type": "PURCHASE",
        "order": {"value": D(50), "purchase_id": "A-3", "redeem": [{"id": voucher.pk, "amount": D(1)}]},
    }
    events_before = Event.objects.count()
    rows_before = Transaction.objects.count()

    with pytest.raises(BusinessRuleError) as failure:
        event_emit(payload=payload)

    assert failure.value.code == "reward_not_redeemable_here"
    # SPEC 2: "emit that cannot be honoured (insufficient balance, reward not redeemable there) -> FAILED;
    # nothing moves; the reason is stored on the event"
    assert Event.objects.count() == events_before + 1
    event = Event.objects.get(customer=customer, purchase_id="A-3")
    assert event.status == S.FAILED and event.error_code == "reward_not_redeemable_here" and event.reason
    assert Transaction.objects.count() == rows_before
    assert totals(customer, stars) == T4(12)


# ---- PENDING -> RESOLVED -----------------------------------------------------------------------------------


def test_fulfill_makes_pending_lines_available_and_consumes_the_reservation(customer, brand, stars, funded):
    held = emit(customer, brand, value=30, redeem=[(stars, 5)], fulfilled=False)

    result = event_fulfill(event_id=held.pk)

    stored = fresh(held)
    assert result.status == stored.status == S.RESOLVED
    assert stored.fulfilled is True and stored.resolved_at is not None
    [acc] = lines_of(held)
    [first_line] = lines_of(funded)
    assert (acc.state, acc.remaining, acc.reserved, acc.reservation_expires_at) == (L.AVAILABLE, 3, 0, None)
    assert (first_line.remaining, first_line.reserved) == (7, 0)
    assert rows_of(held) == [
        (T.RESERVATION, D(5), first_line.pk),
        (T.ACCUMULATION, D(3), acc.pk),
        (T.RELEASE, D(-5), first_line.pk),
        (T.REDEMPTION, D(-5), first_line.pk),
    ]
    assert totals(customer, stars) == T4(10)
    assert lifetime(customer) == (2, D(150), {"PURCHASE": 2})
    assert list(stored.transitions.values_list("from_status", "to_status")) == [
        ("", S.PENDING),
        (S.PENDING, S.RESOLVED),
    ]


def test_fulfill_after_the_reservation_deadline_is_refused_and_moves_nothing(customer, brand, stars, funded):
    held = emit(
        customer,
        brand,
        value=30,
        redeem=[(stars, 5)],
        fulfilled=False,
        reserve=1,
        issued_at=timezone.now() - timedelta(days=1, minutes=5),
    )
    before = snapshot(held)

    with pytest.raises(Conflict) as refused:
        event_fulfill(event_id=held.pk)

    assert refused.value.status_code == 409 and refused.value.code == "invalid_transition"
    assert refused.value.extra["status"] == S.PENDING
    assert snapshot(held) == before
    assert totals(customer, stars) == T4(7, reserved=5, pending=3)

    assert event_expire_due(now=timezone.now()) == [held.pk]
    assert fresh(held).status == S.EXPIRED
    assert totals(customer, stars) == T4(12)
    assert_nets_zero(held)


# ---- PENDING -> EXPIRED ------------------------------------------------------------------------------------


def test_expiry_run_expires_a_held_event_only_after_its_deadline_and_releases_it(customer, brand, stars, funded):
    issued_at = timezone.now().replace(microsecond=0)
    held = emit(customer, brand, value=30, redeem=[(stars, 5)], fulfilled=False, issued_at=issued_at)
    deadline = issued_at + timedelta(days=1)

    assert event_expire_due(now=deadline - timedelta(seconds=1)) == []
    assert fresh(held).status == S.PENDING

    run_at = deadline + timedelta(seconds=1)
    assert event_expire_due(now=run_at) == [held.pk]

    stored = fresh(held)
    assert stored.status == S.EXPIRED and stored.expired_at == run_at
    [dropped] = lines_of(held)
    [first_line] = lines_of(funded)
    assert (dropped.state, dropped.remaining, dropped.reserved) == (L.EXPIRED, 0, 0)
    assert (first_line.remaining, first_line.reserved) == (12, 0)
    assert rows_of(held) == [(T.RESERVATION, D(5), first_line.pk), (T.RELEASE, D(-5), first_line.pk)]
    assert totals(customer, stars) == T4(12)
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1})
    assert event_expire_due(now=run_at + timedelta(days=1)) == []  # never released twice
    assert_nets_zero(held)


def test_periodic_expire_due_expires_held_events_and_reports_counts(customer, brand, stars, funded):
    held = emit(customer, brand, value=30, redeem=[(stars, 5)], fulfilled=False)

    assert expired_counts(housekeeping_run(now=held.reservation_expires_at + timedelta(minutes=1))) == (1, 0)

    assert fresh(held).status == S.EXPIRED
    assert totals(customer, stars) == T4(12)
    assert_nets_zero(held)


@pytest.mark.parametrize("hours_ago", [25, 72])
def test_held_event_issued_past_its_window_is_stored_pending_and_the_next_run_expires_it(
    customer, brand, stars, funded, hours_ago
):
    issued_at = timezone.now().replace(microsecond=0) - timedelta(hours=hours_ago)

    held = emit(customer, brand, value=30, redeem=[(stars, 4)], fulfilled=False, reserve=1, issued_at=issued_at)

    stored = fresh(held)
    assert stored.status == S.PENDING
    assert stored.reservation_expires_at == issued_at + timedelta(days=1)
    assert totals(customer, stars) == T4(8, reserved=4, pending=3)

    assert expired_counts(housekeeping_run(now=timezone.now())) == (1, 0)

    assert fresh(held).status == S.EXPIRED
    assert totals(customer, stars) == T4(12)
    assert_nets_zero(held)


def test_held_event_issued_in_the_past_but_inside_its_window_is_not_expired(customer, brand, stars, funded):
    held = emit(customer, brand, value=30, fulfilled=False, reserve=1, issued_at=timezone.now() - timedelta(hours=12))

    assert expired_counts(housekeeping_run(now=timezone.now())) == (0, 0)

    assert fresh(held).status == S.PENDING
    assert event_fulfill(event_id=held.pk).status == S.RESOLVED
    assert totals(customer, stars) == T4(15)


# ---- PENDING -> CANCELLED, RESOLVED -> REVERSED ---------------------------------------------------------------


def test_reverse_of_a_held_event_cancels_it_and_releases_everything(customer, brand, stars, funded):
    held = emit(customer, brand, value=30, redeem=[(stars, 5)], fulfilled=False)

    result = event_reverse(event_id=held.pk, reason="customer changed their mind")

    stored = fresh(held)
    assert result.status == stored.status == S.CANCELLED
    assert stored.cancelled_at is not None and stored.reason == "customer changed their mind"
    [dropped] = lines_of(held)
    [first_line] = lines_of(funded)
    assert (dropped.state, dropped.remaining, dropped.reserved) == (L.REVERSED, 0, 0)
    assert (first_line.remaining, first_line.reserved) == (12, 0)
    assert rows_of(held) == [(T.RESERVATION, D(5), first_line.pk), (T.RELEASE, D(-5), first_line.pk)]
    assert totals(customer, stars) == T4(12)
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1})
    assert list(stored.transitions.values_list("to_status", "reason")) == [
        (S.PENDING, ""),
        (S.CANCELLED, "customer changed their mind"),
    ]
    assert_nets_zero(held)


def test_reverse_of_a_resolved_event_takes_back_accumulations_and_returns_redemptions(customer, brand, stars, funded):
    event = emit(customer, brand, value=30, redeem=[(stars, 5)])
    assert totals(customer, stars) == T4(10)
    history = rows_of(event)

    result = event_reverse(event_id=event.pk, reason="order refunded")

    stored = fresh(event)
    assert result.status == stored.status == S.REVERSED
    assert stored.reversed_at is not None and stored.reason == "order refunded"
    [acc] = lines_of(event)
    [first_line] = lines_of(funded)
    assert (acc.state, acc.remaining) == (L.REVERSED, 0)
    assert (first_line.state, first_line.remaining) == (L.AVAILABLE, 12)
    rows = rows_of(event)
    assert rows[:2] == history  # the history is kept, the reversal is new rows
    assert rows[2:] == [(T.REVERSAL, D(-3), acc.pk), (T.REVERSAL, D(5), first_line.pk)]
    assert totals(customer, stars) == T4(12)
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1})
    assert_nets_zero(event)


def test_reverse_requires_a_reason_and_changes_nothing_without_one(customer, brand, stars, funded):
    before = snapshot(funded)
    with pytest.raises(InvalidInput):
        event_reverse(event_id=funded.pk, reason="   ")
    assert snapshot(funded) == before


# ---- every other fulfill / reverse -> 409 -------------------------------------------------------------------


def _resolved(customer, brand, stars):
    return emit(customer, brand, value=30, redeem=[(stars, 2)])


def _reversed(customer, brand, stars):
    event = _resolved(customer, brand, stars)
    return event_reverse(event_id=event.pk, reason="first reason")


def _held(customer, brand, stars):
    return emit(customer, brand, value=30, redeem=[(stars, 2)], fulfilled=False)


def _cancelled(customer, brand, stars):
    event = _held(customer, brand, stars)
    return event_reverse(event_id=event.pk, reason="first reason")


def _expired(customer, brand, stars):
    event = _held(customer, brand, stars)
    assert event_expire_due(now=event.reservation_expires_at) == [event.pk]
    return fresh(event)


def _failed(customer, brand, stars):
    with pytest.raises(InsufficientBalance) as failure:
        emit(customer, brand, value=30, redeem=[(stars, 500)])
    return Event.objects.get(pk=failure.value.extra["event_id"])


def _fulfilled(customer, brand, stars):
    event = _held(customer, brand, stars)
    return event_fulfill(event_id=event.pk)


BUILDERS = {
    "RESOLVED": _resolved,
    "REVERSED": _reversed,
    "CANCELLED": _cancelled,
    "EXPIRED": _expired,
    "FAILED": _failed,
    "RESOLVED-after-fulfill": _fulfilled,
}


@pytest.mark.parametrize(
    "state, action",
    [
        ("RESOLVED", "fulfill"),
        ("RESOLVED-after-fulfill", "fulfill"),
        ("REVERSED", "fulfill"),
        ("REVERSED", "reverse"),
        ("CANCELLED", "fulfill"),
        ("CANCELLED", "reverse"),
        ("EXPIRED", "fulfill"),
        ("EXPIRED", "reverse"),
        ("FAILED", "fulfill"),
        ("FAILED", "reverse"),
    ],
)
def test_every_other_fulfill_or_reverse_is_an_invalid_transition_and_changes_nothing(
    customer, brand, stars, funded, state, action
):
    event = BUILDERS[state](customer, brand, stars)
    status = fresh(event).status
    assert status == state.split("-")[0]
    before = snapshot(event)

    with pytest.raises(InvalidTransition) as refused:
        if action == "fulfill":
            event_fulfill(event_id=event.pk)
        else:
            event_reverse(event_id=event.pk, reason="second reason")

    assert refused.value.status_code == 409 and refused.value.code == "invalid_transition"
    assert refused.value.status == status
    assert snapshot(event) == before


# ---- duplicate purchases ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("held", [False, True], ids=["resolved", "held"])
def test_duplicate_purchase_of_a_live_event_is_a_conflict_until_the_first_is_undone(
    customer, brand, stars, star_campaign, held
):
    first = emit(customer, brand, value=50, purchase_id="A-1", fulfilled=not held)
    before = totals(customer, stars)
    events_before = Event.objects.count()

    with pytest.raises(Conflict) as refused:
        emit(customer, brand, value=80, purchase_id="A-1")

    assert refused.value.code == "duplicate_purchase" and refused.value.status_code == 409
    assert refused.value.extra["event_id"] == str(first.pk)
    assert Event.objects.count() == events_before
    assert totals(customer, stars) == before

    undone = event_reverse(event_id=first.pk, reason="order refunded")
    assert undone.status == (S.CANCELLED if held else S.REVERSED)

    again = emit(customer, brand, value=80, purchase_id="A-1")

    assert again.status == S.RESOLVED and again.pk != first.pk
    assert totals(customer, stars) == T4(8)
    assert_nets_zero(first)


def test_same_purchase_id_is_free_for_another_event_type_and_after_a_failed_attempt(customer, brand, stars, funded):
    with pytest.raises(InsufficientBalance):
        emit(customer, brand, value=50, purchase_id="B-7", redeem=[(stars, 100)])

    retried = emit(customer, brand, value=50, purchase_id="B-7", redeem=[(stars, 10)])
    other_type = emit(customer, brand, type="REGISTRATION", purchase_id="B-7")

    assert retried.status == S.RESOLVED and other_type.status == S.RESOLVED
    assert totals(customer, stars) == T4(7)


# ---- metrics ---------------------------------------------------------------------------------------------------


def test_metrics_count_only_resolved_events_and_their_undoing_takes_them_back(customer, brand, stars, star_campaign):
    assert lifetime(customer) == (0, D(0), {})
    emit(customer, brand, value=120)
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1})

    held = emit(customer, brand, value=30, fulfilled=False)
    cancelled = emit(customer, brand, value=40, fulfilled=False)
    expired = emit(customer, brand, value=45, fulfilled=False, issued_at=timezone.now() - timedelta(days=2))
    with pytest.raises(InsufficientBalance):
        emit(customer, brand, value=70, redeem=[(stars, 1000)])
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1})

    event_fulfill(event_id=held.pk)
    assert lifetime(customer) == (2, D(150), {"PURCHASE": 2})

    event_reverse(event_id=cancelled.pk, reason="never paid")
    event_expire_due(now=timezone.now())
    assert fresh(expired).status == S.EXPIRED
    emit(customer, brand, type="REGISTRATION")
    assert lifetime(customer) == (2, D(150), {"PURCHASE": 2, "REGISTRATION": 1})

    event_reverse(event_id=held.pk, reason="refunded")
    assert lifetime(customer) == (1, D(120), {"PURCHASE": 1, "REGISTRATION": 1})
    assert totals(customer, stars) == T4(12)
    assert_nets_zero(held, cancelled, expired)


# ---- tracking-only event types ---------------------------------------------------------------------------


@pytest.fixture
def survey(brand, stars):
    """A tracking-only type with a running campaign that would grant 10 stars if it could."""
    survey = EventType.objects.create(name="SURVEY", tracking_only=True)
    CampaignFactory(brand=brand, trigger=survey, rules=[fixed_rule(stars, amount=10)])
    return survey


def test_tracking_only_events_are_stored_but_never_touch_the_wallet(customer, brand, stars, survey):
    loyal = EventType.objects.create(name="REVIEW", tracking_only=False)
    CampaignFactory(brand=brand, trigger=loyal, rules=[fixed_rule(stars, amount=10)])

    resolved = emit(customer, brand, type="SURVEY")
    held = emit(customer, brand, type="SURVEY", fulfilled=False)

    assert resolved.status == S.RESOLVED and resolved.rewarding_campaigns == []
    assert held.status == S.PENDING
    assert lines_of(resolved) == lines_of(held) == [] and rows_of(resolved) == rows_of(held) == []
    assert stored_total(customer, stars) is None
    event_fulfill(event_id=held.pk)
    assert lines_of(held) == [] and rows_of(held) == [] and stored_total(customer, stars) is None

    # the same campaign on a loyalty type does grant: the tracking flag is what stops it
    emit(customer, brand, type="REVIEW")
    assert totals(customer, stars) == T4(10)


def test_tracking_only_event_never_debits_the_wallet(customer, brand, stars, funded, survey):
    try:
        event = emit(customer, brand, type="SURVEY", redeem=[(stars, 5)])
    except DomainError:
        event = None

    if event is not None:
        assert rows_of(event) == [] and lines_of(event) == []
    assert totals(customer, stars) == T4(12)
    assert Transaction.objects.filter(type__in=[T.REDEMPTION, T.RESERVATION]).count() == 0
