"""The hard ledger cases of SPEC sections 2 and 5, through the services (no HTTP).

Lines are granted by one campaign whose rules pick the expiration by the event's `lot` tag and
grant exactly the order value (1 point per 1 spent), so each test states its lines directly:
`grant(10, "30d", days_ago=29)` is a line of 10 issued 29 days ago that expires in one day.
The ledger check after every test (tests/conftest.py) proves the ledger consistent; every event a
test undid is shown to net to zero.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core.exceptions import InsufficientBalance
from events.models import Event
from events.selectors import ledger_problems
from events.services import event_expire_due, event_fulfill, event_reverse
from tests.factories import CampaignFactory, RewardFactory, lot_rule
from tests.helpers import T4, emit, rows_of, stored_total, totals
from wallets.models import Transaction, WalletLine
from wallets.services import wallet_expire_due

pytestmark = pytest.mark.django_db

S = Event.Status
T = Transaction.Type
L = WalletLine.State
D = Decimal

LOTS = {"30d": "30/days", "40d": "40/days", "forever": None}


# ---- helpers ---------------------------------------------------------------------------------------------


@pytest.fixture
def pts(brand):
    return RewardFactory(brand=brand, name="Points", decimals=0, attributes={"conversion_factor": 0.1})


@pytest.fixture
def now():
    """The test's reference instant; lines are issued relative to it, sweeps run relative to it."""
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def ledger(customer, brand, pts, now):
    """`ledger.grant(amount, lot, days_ago)` -> (event, line); `ledger.spend(amount, **kw)` -> event."""
    CampaignFactory(brand=brand, rules=[lot_rule(pts, lot, expiration) for lot, expiration in LOTS.items()])

    class Ledger:
        def grant(self, amount, lot="forever", days_ago=0, **kwargs):
            event = emit(
                customer, brand, value=amount, tags={"lot": lot}, issued_at=now - timedelta(days=days_ago), **kwargs
            )
            [line] = WalletLine.objects.filter(event_id=event.pk)
            assert line.amount == amount
            return event, line

        def spend(self, amount, reward=None, **kwargs):
            return emit(customer, brand, redeem=[(reward or pts, amount)], **kwargs)

        def totals(self, at=None):
            return totals(customer, pts, now=at or timezone.now())

    return Ledger()


def line(line_or_id) -> WalletLine:
    return WalletLine.objects.get(pk=getattr(line_or_id, "pk", line_or_id))


def state(*lines) -> list[tuple]:
    """(state, remaining, reserved) of each line, fresh from the database."""
    return [(x.state, x.remaining, x.reserved) for x in (line(y) for y in lines)]


def assert_undone(*events) -> None:
    """Each event is undone (reversed, cancelled, expired or failed) and its rows net to zero on
    every reward they moved."""
    for event in events:
        assert Event.objects.get(pk=event.pk).status in (S.REVERSED, S.CANCELLED, S.EXPIRED, S.FAILED)
        sums = dict(Transaction.objects.filter(event_id=event.pk).values_list("reward_id").annotate(s=Sum("amount")))
        assert sums and all(v == 0 for v in sums.values()), sums


# ---- consumption order ---------------------------------------------------------------------------------------


def test_redemption_consumes_earliest_expiration_first_then_oldest_never_expiring_last(ledger, now):
    # created in an order that contradicts the consumption order on purpose
    _, n_new = ledger.grant(12, "forever", days_ago=1)
    _, a = ledger.grant(9, "30d", days_ago=5)  # expires now + 25 days, issued 5 days ago
    _, n_old = ledger.grant(11, "forever", days_ago=10)
    _, d = ledger.grant(8, "40d", days_ago=15)  # expires now + 25 days too, but issued earlier
    _, b = ledger.grant(7, "30d", days_ago=20)  # expires now + 10 days: first
    assert line(a).expiration_date == line(d).expiration_date == now + timedelta(days=25)
    assert ledger.totals() == T4(47)

    spend = ledger.spend(40)

    assert rows_of(spend) == [
        (T.REDEMPTION, D(-7), b.pk),
        (T.REDEMPTION, D(-8), d.pk),
        (T.REDEMPTION, D(-9), a.pk),
        (T.REDEMPTION, D(-11), n_old.pk),
        (T.REDEMPTION, D(-5), n_new.pk),
    ]
    assert [x[1] for x in state(b, d, a, n_old, n_new)] == [0, 0, 0, 0, 7]
    assert [r["line_id"] for r in Event.objects.get(pk=spend.pk).result["redemptions"]] == [
        b.pk,
        d.pk,
        a.pk,
        n_old.pk,
        n_new.pk,
    ]
    assert ledger.totals() == T4(7)


def test_held_redemption_reserves_in_the_same_order(ledger):
    _, never = ledger.grant(10, "forever", days_ago=3)
    _, soon = ledger.grant(6, "30d", days_ago=25)

    held = ledger.spend(8, fulfilled=False)

    assert rows_of(held) == [(T.RESERVATION, D(6), soon.pk), (T.RESERVATION, D(2), never.pk)]
    assert state(soon, never) == [(L.AVAILABLE, 6, 6), (L.AVAILABLE, 10, 2)]
    assert ledger.totals() == T4(8, reserved=8)


def later(monkeypatch, moment) -> None:
    """Move the application's clock to `moment`: a line granted before it can pass its date
    with no sweep run since (a grant already past its date when granted is born expired,
    tests/wallets/test_extremes.py)."""
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_redemption_never_consumes_a_line_already_past_its_date(ledger, now, monkeypatch):
    _, stale = ledger.grant(50, "30d", days_ago=29)  # expires tomorrow
    _, live = ledger.grant(15, "forever", days_ago=2)
    later(monkeypatch, now + timedelta(days=2))  # expired yesterday, not swept yet
    assert ledger.totals() == T4(15)

    with pytest.raises(InsufficientBalance):
        ledger.spend(16)
    spend = ledger.spend(15)

    assert rows_of(spend) == [(T.REDEMPTION, D(-15), live.pk)]
    assert state(stale) == [(L.AVAILABLE, 50, 0)]
    assert ledger.totals() == T4(0)


# ---- reversal of redemptions ------------------------------------------------------------------------------------


def test_reversal_of_a_redemption_restores_exactly_the_lines_it_consumed(ledger):
    _, soon = ledger.grant(10, "30d", days_ago=20)  # expires in 10 days
    _, never = ledger.grant(10, "forever", days_ago=5)
    first = ledger.spend(15)  # soon -10, never -5
    _, sooner = ledger.grant(10, "30d", days_ago=25)  # expires in 5 days: now first in line
    second = ledger.spend(3)  # sooner -3
    assert ledger.totals() == T4(12)

    event_reverse(event_id=first.pk, reason="refund")

    assert rows_of(first, T.REVERSAL) == [(T.REVERSAL, D(10), soon.pk), (T.REVERSAL, D(5), never.pk)]
    assert state(soon, never, sooner) == [(L.AVAILABLE, 10, 0), (L.AVAILABLE, 10, 0), (L.AVAILABLE, 7, 0)]
    assert rows_of(second) == [(T.REDEMPTION, D(-3), sooner.pk)]
    assert ledger.totals() == T4(27)
    assert_undone(first)


def test_reversed_redemption_onto_an_expired_line_expires_at_once(ledger, now):
    earner, lot = ledger.grant(10, "30d", days_ago=29)  # expires now + 1 day
    spend = ledger.spend(4)
    assert wallet_expire_due(now=now + timedelta(days=2)) == 1
    assert state(lot) == [(L.EXPIRED, 0, 0)]

    event_reverse(event_id=spend.pk, reason="refund")

    assert state(lot) == [(L.EXPIRED, 0, 0)]
    assert rows_of(spend) == [(T.REDEMPTION, D(-4), lot.pk), (T.REVERSAL, D(4), lot.pk)]
    # the returned 4 expire in the same transaction (the row belongs to the line's event)
    assert rows_of(earner, T.EXPIRATION) == [(T.EXPIRATION, D(-6), lot.pk), (T.EXPIRATION, D(-4), lot.pk)]
    assert ledger.totals() == T4(0)

    # then the accumulation itself is reversed: nothing of it was spent any more, so no debt
    event_reverse(event_id=earner.pk, reason="refund")

    assert ledger.totals() == T4(0)
    assert_undone(spend, earner)


# ---- debt ---------------------------------------------------------------------------------------------------------


def test_reverse_of_spent_points_leaves_a_debt_and_later_accumulations_pay_it_first(ledger, customer, pts):
    earner, first = ledger.grant(10, days_ago=2)
    _, other = ledger.grant(5, days_ago=1)
    ledger.spend(12)  # first -10, other -2

    event_reverse(event_id=earner.pk, reason="fraud")

    assert Event.objects.get(pk=earner.pk).status == S.REVERSED
    # nothing of the line was left to take back: all 10 spent become debt
    assert rows_of(earner, T.REVERSAL) == [(T.REVERSAL, D(-10), None)]
    assert state(first, other) == [(L.REVERSED, 0, 0), (L.AVAILABLE, 3, 0)]
    assert ledger.totals() == T4(-7, debt=10)
    with pytest.raises(InsufficientBalance):  # the 3 on `other` are owed to the debt
        ledger.spend(1)
    assert ledger_problems() == []
    assert_undone(earner)

    payer, small = ledger.grant(5)

    assert state(small) == [(L.AVAILABLE, 0, 0)]
    assert rows_of(payer) == [
        (T.ACCUMULATION, D(5), small.pk),
        (T.ADJUSTMENT, D(-5), small.pk),
        (T.ADJUSTMENT, D(5), None),
    ]
    assert ledger.totals() == T4(-2, debt=5)

    _, big = ledger.grant(10)

    assert state(big) == [(L.AVAILABLE, 5, 0)]
    assert ledger.totals() == T4(8)
    assert stored_total(customer, pts).debt == 0
    spend = ledger.spend(8)
    assert rows_of(spend) == [(T.REDEMPTION, D(-3), other.pk), (T.REDEMPTION, D(-5), big.pk)]
    assert ledger.totals() == T4(0)
    assert_undone(earner)


def test_reversing_the_redemption_after_its_line_was_reversed_pays_the_debt_back(ledger):
    earner, first = ledger.grant(10)
    spend = ledger.spend(8)
    event_reverse(event_id=earner.pk, reason="fraud")
    assert ledger.totals() == T4(-8, debt=8)

    event_reverse(event_id=spend.pk, reason="order refunded")

    assert state(first) == [(L.REVERSED, 0, 0)]
    assert rows_of(spend, T.REVERSAL) == [(T.REVERSAL, D(8), None)]
    assert ledger.totals() == T4(0)
    assert_undone(earner, spend)


def test_reversal_when_the_accumulated_line_has_partly_expired(ledger, now):
    earner, lot = ledger.grant(10, "30d", days_ago=29)  # expires now + 1 day
    ledger.spend(4)
    later = now + timedelta(days=2)
    assert wallet_expire_due(now=later) == 1
    assert state(lot) == [(L.EXPIRED, 0, 0)]
    assert ledger.totals(at=later) == T4(0)

    event_reverse(event_id=earner.pk, reason="fraud")

    # the 6 that expired are not taken twice; the 4 that were spent become debt
    assert rows_of(earner) == [
        (T.ACCUMULATION, D(10), lot.pk),
        (T.EXPIRATION, D(-6), lot.pk),
        (T.REVERSAL, D(-4), None),
    ]
    assert state(lot) == [(L.REVERSED, 0, 0)]
    assert ledger.totals(at=later) == T4(-4, debt=4)
    assert_undone(earner)


def test_reversal_of_an_unspent_line_past_its_date_but_not_yet_swept(ledger, now, monkeypatch):
    earner, lot = ledger.grant(10, "30d", days_ago=29)
    _, other = ledger.grant(3, "forever")
    later(monkeypatch, now + timedelta(days=2))  # past its date, still AVAILABLE
    assert state(lot) == [(L.AVAILABLE, 10, 0)]
    assert ledger.totals() == T4(3)

    event_reverse(event_id=earner.pk, reason="fraud")

    assert rows_of(earner, T.REVERSAL) == [(T.REVERSAL, D(-10), lot.pk)]
    assert state(lot) == [(L.REVERSED, 0, 0)]
    assert ledger.totals() == T4(3)
    assert wallet_expire_due(now=timezone.now()) == 0
    assert_undone(earner)


# ---- held events on lines whose event is reversed -----------------------------------------------------------------


@pytest.mark.parametrize("end", ["cancel", "expire"])
def test_held_event_on_a_line_whose_event_is_reversed_then_the_hold_ends(ledger, end):
    earner, first = ledger.grant(10)
    held = ledger.spend(4, fulfilled=False)
    assert ledger.totals() == T4(6, reserved=4)

    event_reverse(event_id=earner.pk, reason="fraud")

    # the 6 free are taken back; the 4 still reserved by the hold become debt until the hold ends
    assert state(first) == [(L.REVERSED, 4, 4)]
    assert ledger.totals() == T4(-4, reserved=4, debt=4)
    assert ledger_problems() == []

    if end == "cancel":
        event_reverse(event_id=held.pk, reason="abandoned cart")
    else:
        assert event_expire_due(now=Event.objects.get(pk=held.pk).reservation_expires_at) == [held.pk]

    assert Event.objects.get(pk=held.pk).status == (S.CANCELLED if end == "cancel" else S.EXPIRED)
    assert state(first) == [(L.REVERSED, 0, 0)]
    assert ledger.totals() == T4(0)
    assert_undone(earner, held)


def test_held_event_on_a_line_whose_event_is_reversed_then_fulfilled_leaves_the_debt(ledger):
    earner, first = ledger.grant(10)
    held = ledger.spend(4, fulfilled=False)
    event_reverse(event_id=earner.pk, reason="fraud")

    event_fulfill(event_id=held.pk)

    assert Event.objects.get(pk=held.pk).status == S.RESOLVED
    assert rows_of(held) == [
        (T.RESERVATION, D(4), first.pk),
        (T.RELEASE, D(-4), first.pk),
        (T.REDEMPTION, D(-4), first.pk),
    ]
    assert state(first) == [(L.REVERSED, 0, 0)]
    assert ledger.totals() == T4(-4, debt=4)

    _, fresh = ledger.grant(5)

    assert state(fresh) == [(L.AVAILABLE, 1, 0)]
    assert ledger.totals() == T4(1)
    assert_undone(earner)


# ---- expiry of lines ----------------------------------------------------------------------------------------------


def test_line_past_its_date_stops_counting_at_once_and_the_sweep_writes_the_expiration(ledger, customer, pts, now):
    earner, lot = ledger.grant(10, "30d", days_ago=29)  # expires now + 1 day
    _, never = ledger.grant(5, "forever")
    ledger.spend(3)  # from the expiring line first
    later = now + timedelta(days=1, seconds=1)
    assert ledger.totals(at=now) == T4(12)

    # before any sweep: the line no longer counts, although no row has been written yet
    assert ledger.totals(at=later) == T4(5)
    assert stored_total(customer, pts).balance == 12
    assert Transaction.objects.filter(type=T.EXPIRATION).count() == 0

    assert wallet_expire_due(now=now + timedelta(hours=23)) == 0  # not due yet
    assert wallet_expire_due(now=later) == 1

    assert rows_of(earner, T.EXPIRATION) == [(T.EXPIRATION, D(-7), lot.pk)]
    assert state(lot, never) == [(L.EXPIRED, 0, 0), (L.AVAILABLE, 5, 0)]
    assert stored_total(customer, pts).balance == 5
    assert ledger.totals(at=later) == ledger.totals(at=now) == T4(5)
    assert wallet_expire_due(now=later + timedelta(days=1)) == 0  # never expired twice


@pytest.mark.parametrize("end", ["cancel", "expire", "fulfill"])
def test_amount_reserved_by_a_held_event_does_not_expire_while_held(ledger, now, end):
    earner, lot = ledger.grant(10, "30d", days_ago=29)  # expires now + 1 day
    held = ledger.spend(4, fulfilled=False, reserve=5)
    later = now + timedelta(days=2)

    assert wallet_expire_due(now=later) == 1

    # only the free 6 expired; the 4 the hold reserves stay on the (now EXPIRED) line
    assert rows_of(earner, T.EXPIRATION) == [(T.EXPIRATION, D(-6), lot.pk)]
    assert state(lot) == [(L.EXPIRED, 4, 4)]
    assert ledger.totals(at=later) == T4(0, reserved=4)
    assert ledger_problems() == []

    if end == "cancel":
        event_reverse(event_id=held.pk, reason="abandoned cart")
    elif end == "expire":
        assert event_expire_due(now=now + timedelta(days=6)) == [held.pk]
    else:
        event_fulfill(event_id=held.pk)

    assert state(lot) == [(L.EXPIRED, 0, 0)]
    assert ledger.totals(at=later) == T4(0)
    if end == "fulfill":
        # fulfilment consumes what was held
        assert rows_of(held) == [
            (T.RESERVATION, D(4), lot.pk),
            (T.RELEASE, D(-4), lot.pk),
            (T.REDEMPTION, D(-4), lot.pk),
        ]
        assert rows_of(earner, T.EXPIRATION) == [(T.EXPIRATION, D(-6), lot.pk)]
    else:
        # returned after the line's date: it expires at once
        assert rows_of(held) == [(T.RESERVATION, D(4), lot.pk), (T.RELEASE, D(-4), lot.pk)]
        assert rows_of(earner, T.EXPIRATION) == [(T.EXPIRATION, D(-6), lot.pk), (T.EXPIRATION, D(-4), lot.pk)]
        assert_undone(held)


def test_hold_released_before_the_sweep_returns_to_a_line_that_then_expires_whole(ledger, now):
    earner, lot = ledger.grant(10, "30d", days_ago=29)  # expires now + 1 day
    held = ledger.spend(4, fulfilled=False)
    event_reverse(event_id=held.pk, reason="abandoned cart")
    later = now + timedelta(days=2)
    assert ledger.totals(at=later) == T4(0)

    assert wallet_expire_due(now=later) == 1

    assert rows_of(earner, T.EXPIRATION) == [(T.EXPIRATION, D(-10), lot.pk)]
    assert ledger.totals(at=later) == T4(0)
    assert_undone(held)


# ---- the ledger is append-only ---------------------------------------------------------------------------------


def test_ledger_rows_cannot_be_updated_or_deleted_through_the_model(ledger):
    event, lot = ledger.grant(10)
    row = Transaction.objects.get(event_id=event.pk)

    row.amount = D(99)
    with pytest.raises(RuntimeError, match="append-only"):
        row.save()
    with pytest.raises(RuntimeError, match="append-only"):
        row.delete()

    assert Transaction.objects.get(pk=row.pk).amount == 10


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE wallets_transaction SET amount = 99 WHERE id = %s",
        "DELETE FROM wallets_transaction WHERE id = %s",
    ],
)
def test_postgres_trigger_refuses_raw_sql_update_and_delete_of_ledger_rows(ledger, statement):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    event, lot = ledger.grant(10)
    row = Transaction.objects.get(event_id=event.pk)

    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [row.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            Transaction.objects.filter(pk=row.pk).update(amount=D(99))

    assert Transaction.objects.get(pk=row.pk).amount == 10


# ---- cost ---------------------------------------------------------------------------------------------------------


def test_cost_is_amount_times_conversion_factor(ledger, customer, brand):
    earner, lot = ledger.grant(12)
    spend = ledger.spend(5)
    event_reverse(event_id=spend.pk, reason="refund")
    coins = RewardFactory(brand=brand, name="Coins", decimals=2, attributes={"conversion_factor": 0.25})
    plain = RewardFactory(brand=brand, name="Stamps", decimals=0, attributes={})
    CampaignFactory(
        brand=brand,
        rules=[
            {
                "conditions": [[{"field": "event.tags.lot", "operator": "eq", "value": "coins"}]],
                "effects": [
                    {"reward_id": str(coins.pk), "kind": "FIXED", "amount": 7.5, "expiration": None},
                    {"reward_id": str(plain.pk), "kind": "FIXED", "amount": 3, "expiration": None},
                ],
            }
        ],
    )
    mixed = emit(customer, brand, value=0, tags={"lot": "coins"})

    assert list(Transaction.objects.filter(event_id=earner.pk).values_list("amount", "cost")) == [(12, D("1.2"))]
    assert list(Transaction.objects.filter(event_id=spend.pk).values_list("type", "amount", "cost")) == [
        (T.REDEMPTION, -5, D("-0.5")),
        (T.REVERSAL, 5, D("0.5")),
    ]
    assert sorted(Transaction.objects.filter(event_id=mixed.pk).values_list("reward__name", "amount", "cost")) == [
        ("Coins", D("7.5"), D("1.875")),
        ("Stamps", 3, None),
    ]
    assert_undone(spend)
