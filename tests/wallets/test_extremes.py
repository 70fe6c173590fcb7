"""Dates and amounts at the extremes (issue 15, items 3 to 6), through the services.

- A grant whose expiration date has already passed when it is posted is born expired: its
  EXPIRATION row is written at once (by the expiry housekeeping's own code) and it pays no debt.
- Values that would fail at event time are refused when the campaign or reward is saved.
- What one event grants of a reward, and what a wallet holds of one, are bounded
  (core.amounts.MAX_EVENT_GRANT, MAX_WALLET_AMOUNT); an event past either is refused with a 422
  and nothing is stored.
- Costs (amount x conversion factor) are computed so that they cannot overflow the cost column.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection  # noqa: F401  (the skip condition reads it)
from django.utils import timezone

from campaigns.engine.evaluate import expiration_date
from campaigns.services import campaign_create, reward_create, reward_update
from core.amounts import MAX_AMOUNT, MAX_CONVERSION_FACTOR, MAX_EVENT_GRANT, MAX_WALLET_AMOUNT, cost_of
from core.exceptions import BusinessRuleError, InvalidInput
from events.models import Event
from events.services import event_fulfill, event_reverse
from tests.factories import CampaignFactory, RewardFactory, lot_rule
from tests.helpers import T4, emit, rows_of, totals
from wallets.models import Transaction, WalletLine, WalletTotal
from wallets.services import wallet_expire_due

pytestmark = pytest.mark.django_db

T = Transaction.Type
L = WalletLine.State
D = Decimal


@pytest.fixture
def pts(brand):
    return RewardFactory(brand=brand, name="Points", decimals=0, attributes={"conversion_factor": 0.1})


@pytest.fixture
def lots(brand, pts):
    return CampaignFactory(brand=brand, rules=[lot_rule(pts, "forever", None), lot_rule(pts, "1d", "1/days")])


@pytest.fixture
def debt_of_10(customer, brand, pts, lots):
    """Earn 10, spend them, reverse the earning: a debt of 10."""
    earner = emit(customer, brand, value=10, tags={"lot": "forever"}, issued_at=timezone.now() - timedelta(days=2))
    emit(customer, brand, redeem=[(pts, 10)])
    event_reverse(event_id=earner.pk, reason="fraud")
    assert totals(customer, pts) == T4(-10, debt=10)


# ---- item 3: a grant born expired ------------------------------------------------------------------------------


def test_a_grant_born_expired_gets_its_expiration_row_at_once_and_does_not_pay_the_debt(
    customer, brand, pts, debt_of_10
):
    issued = timezone.now() - timedelta(hours=30)  # "1/days" from then ended 6 hours ago

    event = emit(customer, brand, value=4, tags={"lot": "1d"}, issued_at=issued)

    [line] = WalletLine.objects.filter(event_id=event.pk)
    assert line.expiration_date < timezone.now()
    assert (line.state, line.remaining, line.reserved) == (L.EXPIRED, 0, 0)
    assert rows_of(event) == [(T.ACCUMULATION, D(4), line.pk), (T.EXPIRATION, D(-4), line.pk)]
    assert totals(customer, pts) == T4(-10, debt=10)
    assert wallet_expire_due(now=timezone.now()) == 0  # nothing left for the sweep


def test_a_held_grant_whose_date_passed_before_its_fulfilment_is_born_expired_at_fulfilment(
    customer, brand, pts, debt_of_10
):
    issued = timezone.now() - timedelta(hours=30)
    held = emit(customer, brand, value=4, tags={"lot": "1d"}, issued_at=issued, fulfilled=False, reserve=2)
    assert totals(customer, pts) == T4(-10, pending=4, debt=10)

    event_fulfill(event_id=held.pk)

    [line] = WalletLine.objects.filter(event_id=held.pk)
    assert (line.state, line.remaining) == (L.EXPIRED, 0)
    assert rows_of(held) == [(T.ACCUMULATION, D(4), line.pk), (T.EXPIRATION, D(-4), line.pk)]
    assert totals(customer, pts) == T4(-10, debt=10)


def test_reversing_a_grant_born_expired_takes_nothing_and_leaves_no_debt(customer, brand, pts, lots):
    event = emit(customer, brand, value=4, tags={"lot": "1d"}, issued_at=timezone.now() - timedelta(hours=30))
    assert totals(customer, pts) == T4(0)

    event_reverse(event_id=event.pk, reason="refund")

    assert Event.objects.get(pk=event.pk).status == Event.Status.REVERSED
    assert totals(customer, pts) == T4(0)  # the conftest check proves the event nets to zero


def test_a_grant_still_running_pays_the_debt_as_before(customer, brand, pts, debt_of_10):
    event = emit(customer, brand, value=4, tags={"lot": "1d"}, issued_at=timezone.now() - timedelta(hours=18))

    [line] = WalletLine.objects.filter(event_id=event.pk)
    assert (line.state, line.remaining) == (L.AVAILABLE, 0)
    assert totals(customer, pts) == T4(-6, debt=6)


# ---- item 4: values that would fail at event time are refused at save time ----------------------------------------


def _campaign(brand, reward, expiration):
    return campaign_create(
        brand_id=brand.pk,
        name="far",
        trigger="PURCHASE",
        start_date=timezone.now() - timedelta(days=1),
        rules=[{"effects": [{"reward_id": str(reward.pk), "kind": "FIXED", "amount": 1, "expiration": expiration}]}],
    )


@pytest.mark.parametrize("expiration", ["9999/years", "101/years", "1201/months", "36501/days"])
def test_an_expiration_over_its_bound_is_refused_when_the_campaign_is_saved(brand, pts, expiration):
    with pytest.raises(InvalidInput) as refused:
        _campaign(brand, pts, expiration)
    message = refused.value.details["rules[0].effects[0].expiration"]
    assert "100 years" in message and "1200 months" in message and "36500 days" in message


@pytest.mark.parametrize("expiration", ["100/years", "1200/months", "36500/days"])
def test_an_expiration_at_its_bound_is_saved_and_events_of_the_campaign_are_rewarded(customer, brand, pts, expiration):
    _campaign(brand, pts, expiration)
    event = emit(customer, brand, value=1)
    [line] = WalletLine.objects.filter(event_id=event.pk)
    assert line.expiration_date.year >= timezone.now().year + 99


def test_the_longest_expiration_from_the_latest_date_stays_a_date():
    latest = timezone.now().replace(year=9899)
    assert expiration_date("36500/days", latest).year < 10000
    assert expiration_date("100/years", latest).year == 9999


@pytest.mark.parametrize("factor", [10**12, 1000.0001, 0.00001])  # as the API parser hands them on
def test_a_conversion_factor_over_its_bound_is_refused_when_the_reward_is_saved(brand, pts, factor):
    with pytest.raises(InvalidInput) as refused:
        reward_create(brand_id=brand.pk, name="Gold", type="POINTS", attributes={"conversion_factor": factor})
    assert "conversion_factor" in str(refused.value.details)
    with pytest.raises(InvalidInput):
        reward_update(reward_id=pts.pk, attributes={"conversion_factor": factor})


def test_the_largest_factor_on_the_largest_row_fits_the_cost_column():
    cost = cost_of(MAX_AMOUNT, MAX_CONVERSION_FACTOR)
    assert cost == MAX_AMOUNT * MAX_CONVERSION_FACTOR
    field = Transaction._meta.get_field("cost")
    assert len(cost.quantize(D(1)).as_tuple().digits) <= field.max_digits - field.decimal_places


def test_a_cost_the_column_cannot_hold_is_not_recorded_rather_than_failing():
    # a factor saved before the bound existed
    assert cost_of(MAX_AMOUNT, D(10) ** 12) is None
    assert cost_of(D("-3"), D("0.1")) == D("-0.3")
    assert cost_of(D("0.0001"), D("0.0001")) == D(0)


@pytest.mark.parametrize("factor", [D(10) ** 12, D(10) ** 5])
def test_a_reward_whose_factor_was_saved_before_the_bound_does_not_make_emits_fail(customer, brand, factor):
    big = RewardFactory(brand=brand, decimals=0, attributes={"conversion_factor": str(factor)})
    CampaignFactory(brand=brand, rules=[_fixed(big, MAX_AMOUNT, 1)])

    event = emit(customer, brand, value=1)

    [row] = Transaction.objects.filter(event_id=event.pk)
    assert row.amount == MAX_AMOUNT and row.cost is None


# ---- item 5: what one event grants and what a wallet holds are bounded -------------------------------------------


def _fixed(reward, amount, effects: int) -> dict:
    amount = int(amount) if amount == int(amount) else str(amount)
    return {"effects": [{"reward_id": str(reward.pk), "kind": "FIXED", "amount": amount}] * effects}


def _nothing_stored(customer):
    assert not Event.objects.filter(customer_id=customer.pk).exclude(type_id="REGISTRATION").exists()
    assert not WalletLine.objects.exists()
    assert not Transaction.objects.exists()
    assert not WalletTotal.objects.exclude(balance=0).exists()


def test_an_event_granting_more_than_the_event_limit_of_a_reward_is_refused_and_stores_nothing(customer, brand, pts):
    effects = int(MAX_EVENT_GRANT / MAX_AMOUNT) + 1  # one grant more than the limit allows
    CampaignFactory(brand=brand, rules=[_fixed(pts, MAX_AMOUNT, 10)] * (effects // 10 + 1))

    with pytest.raises(BusinessRuleError) as refused:
        emit(customer, brand, value=1, order={"purchase_id": "BIG-1", "value": D(1)})

    assert refused.value.code == "event_grant_limit"
    assert refused.value.status_code == 422
    assert str(MAX_EVENT_GRANT) in str(refused.value.details)
    _nothing_stored(customer)


def test_an_event_granting_exactly_the_event_limit_is_rewarded(customer, brand, pts):
    effects = int(MAX_EVENT_GRANT / MAX_AMOUNT)
    CampaignFactory(brand=brand, rules=[_fixed(pts, MAX_AMOUNT, 10)] * (effects // 10))

    emit(customer, brand, value=1)

    assert totals(customer, pts)["total"] == MAX_EVENT_GRANT


def test_the_event_limit_counts_each_reward_apart(customer, brand, pts):
    other = RewardFactory(brand=brand, decimals=0)
    effects = int(MAX_EVENT_GRANT / MAX_AMOUNT)
    CampaignFactory(brand=brand, rules=[_fixed(pts, MAX_AMOUNT, 10)] * (effects // 10))
    CampaignFactory(brand=brand, rules=[_fixed(other, MAX_AMOUNT, 10)] * (effects // 10))

    emit(customer, brand, value=1)

    assert totals(customer, pts)["total"] == totals(customer, other)["total"] == MAX_EVENT_GRANT


def _fill_to(customer, brand, reward, amount):
    """Earn `amount` of `reward` through events tagged "fill" (tens of grants of at most 10^12
    each, within the event limit); the campaigns then never fire again."""
    ten = {**lot_rule(reward, "ten", None)}
    ten["effects"] = ten["effects"] * 10
    CampaignFactory(brand=brand, rules=[ten, lot_rule(reward, "one", None)])
    left = amount
    while left >= 10 * MAX_AMOUNT:
        emit(customer, brand, value=MAX_AMOUNT, tags={"lot": "ten"})
        left -= 10 * MAX_AMOUNT
    while left > 0:
        part = min(left, MAX_AMOUNT)
        emit(customer, brand, value=part, tags={"lot": "one"})
        left -= part
    assert totals(customer, reward)["total"] == amount


def test_an_event_that_would_take_a_wallet_past_its_limit_is_refused_and_stores_nothing(customer, brand, pts):
    _fill_to(customer, brand, pts, MAX_WALLET_AMOUNT - 1)
    CampaignFactory(brand=brand, rules=[_fixed(pts, 2, 1)])
    events, lines, rows = Event.objects.count(), WalletLine.objects.count(), Transaction.objects.count()

    with pytest.raises(BusinessRuleError) as refused:
        emit(customer, brand, value=1)

    assert refused.value.code == "wallet_limit"
    assert str(MAX_WALLET_AMOUNT) in str(refused.value.details)
    assert (Event.objects.count(), WalletLine.objects.count(), Transaction.objects.count()) == (events, lines, rows)
    assert totals(customer, pts)["total"] == MAX_WALLET_AMOUNT - 1


def test_held_grants_count_against_the_wallet_limit(customer, brand, pts):
    _fill_to(customer, brand, pts, MAX_WALLET_AMOUNT - 3)
    CampaignFactory(brand=brand, rules=[_fixed(pts, 2, 1)])
    emit(customer, brand, value=1, fulfilled=False)
    assert totals(customer, pts) == T4(MAX_WALLET_AMOUNT - 3, pending=2)

    with pytest.raises(BusinessRuleError, match="wallet"):
        emit(customer, brand, value=1, fulfilled=False)


def test_a_wallet_filled_exactly_to_its_limit_is_rewarded_and_spending_makes_room(customer, brand, pts):
    _fill_to(customer, brand, pts, MAX_WALLET_AMOUNT - 2)
    CampaignFactory(brand=brand, rules=[_fixed(pts, 2, 1)])
    emit(customer, brand, value=1)
    assert totals(customer, pts)["total"] == MAX_WALLET_AMOUNT
    with pytest.raises(BusinessRuleError):
        emit(customer, brand, value=1)

    emit(customer, brand, redeem=[(pts, 2)])  # redeems 2 and is granted 2 again: back at the limit

    assert totals(customer, pts)["total"] == MAX_WALLET_AMOUNT


# ---- item 6: exact decimals in the ledger ---------------------------------------------------------------------------


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite keeps decimal columns as REAL (15 digits)")
def test_a_total_of_sixteen_digits_is_exact_in_the_ledger_and_the_summary(customer, brand):
    fine = RewardFactory(brand=brand, decimals=4, attributes={})
    CampaignFactory(brand=brand, rules=[_fixed(fine, MAX_AMOUNT, 3), _fixed(fine, D("0.0009"), 1)])

    event = emit(customer, brand, value=1)

    assert WalletTotal.objects.get(reward=fine).balance == D("3000000000000.0009")
    assert totals(customer, fine)["total"] == D("3000000000000.0009")
    assert sorted(amount for _type, amount, _line in rows_of(event)) == [D("0.0009"), *[MAX_AMOUNT] * 3]
