"""Manual adjustments (issue 10, events.services.adjust): an operator credits or debits a reward by
hand; it is a RESOLVED ADJUSTMENT event with its ledger rows, fires no campaign, counts in no
metric, is audited, and its reversal nets to zero."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import Source
from campaigns.models import EventType
from campaigns.services import campaign_create
from core.exceptions import InsufficientBalance, InvalidInput, LimitExceeded, NotFound
from events.models import Event
from events.services import event_adjust, event_reverse
from tests.conftest import is_postgres
from tests.factories import CampaignFactory, RewardFactory, fixed_rule
from tests.helpers import T4, assert_error, emit, fresh, lines_of, rows_of, totals
from tests.races import kinds, race
from wallets.models import Customer, MetricBucket, Transaction, WalletLine
from wallets.services import wallet_expire_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return User.objects.create_user("operator", password="pw", is_staff=True)


def adjust(customer, reward, amount, reason="goodwill", **kwargs):
    kwargs.setdefault("source", Source.ADMIN)
    return event_adjust(
        customer_id=customer.pk, reward_id=reward.pk, amount=Decimal(str(amount)), reason=reason, **kwargs
    )


def adjustments():
    return Event.objects.filter(type_id="ADJUSTMENT")


# ---- credit and debit ---------------------------------------------------------------------------------


def test_a_credit_raises_the_balance_with_a_resolved_adjustment_and_its_line(customer, brand, stars, operator):
    event = adjust(customer, stars, 25, reason="coffee spilt", actor=operator)

    event = fresh(event)
    assert (event.type_id, event.status, event.brand_id, event.reason) == (
        "ADJUSTMENT",
        "RESOLVED",
        "0001",
        "coffee spilt",
    )
    assert totals(customer, stars) == T4(25)
    [line] = lines_of(event)
    assert (line.amount, line.state, line.campaign_id, line.expiration_date) == (25, "AVAILABLE", None, None)
    assert rows_of(event) == [("ACCUMULATION", Decimal(25), line.pk)]
    assert event.result["accumulations"][0]["amount"] == 25
    assert event.data["amount"] == 25 and event.data["reason"] == "coffee spilt"


def test_the_transition_row_carries_the_source_the_actor_and_the_reason(customer, brand, stars, operator):
    event = adjust(customer, stars, 5, reason="birthday gift missed", actor=operator)

    [row] = fresh(event).transitions.all()
    assert (row.from_status, row.to_status, row.source, row.actor, row.reason) == (
        "",
        "RESOLVED",
        "admin",
        operator,
        "birthday gift missed",
    )


def test_a_credit_pays_the_debt_first(customer, brand, stars, star_campaign):
    purchase = emit(customer, brand, value=100)  # 10 stars
    emit(customer, brand, redeem=[(stars, 10)], type="PURCHASE")
    event_reverse(event_id=purchase.pk, reason="refund")
    assert totals(customer, stars) == T4(-10, debt=10)

    adjust(customer, stars, 15)

    assert totals(customer, stars) == T4(5)


def test_a_credit_with_an_expiration_date_expires_on_it(customer, brand, stars):
    ends = timezone.now() + timedelta(days=30)

    [line] = lines_of(adjust(customer, stars, 10, expiration_date=ends))

    assert line.expiration_date == ends
    assert wallet_expire_due(now=ends + timedelta(seconds=1)) == 1
    assert totals(customer, stars, now=ends + timedelta(seconds=1)) == T4(0)


def test_a_debit_lowers_the_balance_from_the_earliest_expiring_lines_first(customer, brand, stars):
    late = lines_of(adjust(customer, stars, 10, expiration_date=timezone.now() + timedelta(days=60)))[0]
    never = lines_of(adjust(customer, stars, 10))[0]
    soon = lines_of(adjust(customer, stars, 10, expiration_date=timezone.now() + timedelta(days=5)))[0]

    debit = adjust(customer, stars, -15, reason="double credit")

    assert totals(customer, stars) == T4(15)
    assert rows_of(debit) == [("REDEMPTION", Decimal(-10), soon.pk), ("REDEMPTION", Decimal(-5), late.pk)]
    assert WalletLine.objects.get(pk=never.pk).remaining == 10
    assert fresh(debit).status == "RESOLVED" and lines_of(debit) == []


def test_a_debit_beyond_the_balance_is_refused_and_nothing_is_stored(customer, brand, stars):
    adjust(customer, stars, 10)
    before = (Event.objects.count(), Transaction.objects.count(), AuditEntry.objects.count())

    with pytest.raises(InsufficientBalance) as refused:
        adjust(customer, stars, -11)

    assert refused.value.code == "insufficient_balance" and refused.value.status_code == 422
    assert (Event.objects.count(), Transaction.objects.count(), AuditEntry.objects.count()) == before
    assert totals(customer, stars) == T4(10)


def test_a_debit_of_a_reward_in_debt_is_refused(customer, brand, stars, star_campaign):
    purchase = emit(customer, brand, value=100)
    emit(customer, brand, redeem=[(stars, 10)], type="PURCHASE")
    event_reverse(event_id=purchase.pk, reason="refund")

    with pytest.raises(InsufficientBalance):
        adjust(customer, stars, -1)


# ---- reversal ----------------------------------------------------------------------------------------------


def test_reversing_a_credit_nets_to_zero(customer, brand, stars):
    event = adjust(customer, stars, 25)

    event_reverse(event_id=event.pk, reason="wrong customer")

    assert fresh(event).status == "REVERSED"
    assert totals(customer, stars) == T4(0)
    assert sum(amount for _t, amount, _l in rows_of(event)) == 0


def test_reversing_a_spent_credit_leaves_a_debt(customer, brand, stars):
    credit = adjust(customer, stars, 25)
    adjust(customer, stars, -20)

    event_reverse(event_id=credit.pk, reason="wrong customer")

    assert totals(customer, stars) == T4(-20, debt=20)


def test_reversing_a_debit_returns_the_points_to_their_lines(customer, brand, stars):
    [line] = lines_of(adjust(customer, stars, 25))
    debit = adjust(customer, stars, -20)

    event_reverse(event_id=debit.pk, reason="debited by mistake")

    assert totals(customer, stars) == T4(25)
    assert WalletLine.objects.get(pk=line.pk).remaining == 25


# ---- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_blank_reason_is_refused(customer, brand, stars, reason):
    with pytest.raises(InvalidInput) as refused:
        adjust(customer, stars, 5, reason=reason)

    assert "reason" in refused.value.details
    assert not adjustments().exists() and totals(customer, stars) == T4(0)


@pytest.mark.parametrize("amount", ["1.5", "0", "-0.001", "1000000000001", "NaN", "Infinity"])
def test_a_wrong_amount_is_refused(customer, brand, stars, amount):
    with pytest.raises(InvalidInput) as refused:
        event_adjust(customer_id=customer.pk, reward_id=stars.pk, amount=amount, reason="x", source=Source.ADMIN)

    assert "amount" in refused.value.details
    assert not adjustments().exists()


def test_an_amount_respects_the_rewards_decimals(customer, brand):
    cash = RewardFactory(brand=brand, decimals=2)

    adjust(customer, cash, "12.50")
    with pytest.raises(InvalidInput):
        adjust(customer, cash, "0.125")

    assert totals(customer, cash) == T4("12.50")


def test_a_credit_past_the_wallet_limit_is_refused(customer, brand, stars):
    for _ in range(100):
        adjust(customer, stars, 10**12)

    with pytest.raises(LimitExceeded):
        adjust(customer, stars, 1)


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"expiration_date": "past"}, "expiration_date"),
        ({"expiration_date": "naive"}, "expiration_date"),
        ({"amount": -1, "expiration_date": "future"}, "expiration_date"),
        ({"brand_id": "0002"}, "brand_id"),
    ],
)
def test_wrong_details_are_refused(customer, brand, stars, kwargs, named):
    from tests.factories import BrandFactory

    BrandFactory(id="0002")
    adjust(customer, stars, 5)
    dates = {
        "past": timezone.now() - timedelta(days=1),
        "naive": (timezone.now() + timedelta(days=1)).replace(tzinfo=None),
        "future": timezone.now() + timedelta(days=1),
    }
    kwargs = {
        **kwargs,
        **({"expiration_date": dates[kwargs["expiration_date"]]} if "expiration_date" in kwargs else {}),
    }
    with pytest.raises(InvalidInput) as refused:
        adjust(customer, stars, kwargs.pop("amount", 5), **kwargs)

    assert named in refused.value.details
    assert adjustments().count() == 1


def test_an_unknown_customer_or_reward_is_not_found(customer, brand, stars):
    with pytest.raises(NotFound):
        event_adjust(customer_id="nobody", reward_id=stars.pk, amount=Decimal(1), reason="x", source=Source.ADMIN)
    with pytest.raises(NotFound):
        event_adjust(
            customer_id=customer.pk, reward_id="not-a-uuid", amount=Decimal(1), reason="x", source=Source.ADMIN
        )
    assert not adjustments().exists()


# ---- no campaign, no metric, no tier; the audit trail ------------------------------------------------------------


def test_no_campaign_can_choose_the_adjustment_as_its_trigger(brand, stars):
    assert EventType.objects.get(pk="ADJUSTMENT").tracking_only

    with pytest.raises(InvalidInput) as refused:
        campaign_create(brand_id=brand.pk, name="x", trigger="ADJUSTMENT", start_date=timezone.now(), rules=[])

    assert "trigger" in refused.value.details


def test_an_adjustment_fires_no_campaign_and_changes_no_metric_or_tier(customer, brand, stars, star_campaign):
    # a campaign on ADJUSTMENT stored by hand, past the validation: still never evaluated
    CampaignFactory(brand=brand, trigger=EventType.objects.get(pk="ADJUSTMENT"), rules=[fixed_rule(stars, amount=99)])
    emit(customer, brand, value=100)
    buckets = list(MetricBucket.objects.filter(customer=customer).values())
    tier = Customer.objects.get(pk=customer.pk).tier_id

    event = adjust(customer, stars, 5)
    event_reverse(event_id=adjust(customer, stars, 3).pk, reason="undo")

    assert totals(customer, stars) == T4(15)
    assert fresh(event).rewarding_campaigns == [] and [line.campaign_id for line in lines_of(event)] == [None]
    assert list(MetricBucket.objects.filter(customer=customer).values()) == buckets
    assert Customer.objects.get(pk=customer.pk).tier_id == tier


def test_the_adjustment_is_written_to_the_audit_trail(customer, brand, stars, operator):
    event = adjust(customer, stars, 7, reason="goodwill after complaint", actor=operator)

    [entry] = AuditEntry.objects.filter(action="customer.adjust")
    assert (entry.actor, entry.actor_name, entry.source, entry.object_type, entry.object_id, entry.reason) == (
        operator,
        "operator",
        "admin",
        "wallets.customer",
        customer.pk,
        "goodwill after complaint",
    )
    assert entry.after["event_id"] == str(event.pk) and entry.after["amount"] == 7
    assert (entry.before["balance"], entry.after["balance"]) == (0, 7)


def test_a_command_adjustment_is_audited_under_its_name(customer, brand, stars):
    adjust(customer, stars, 7, source=Source.COMMAND, actor_name="adjust_balance (ops)")

    entry = AuditEntry.objects.get(action="customer.adjust")
    assert (entry.actor, entry.actor_name, entry.source) == (None, "adjust_balance (ops)", "command")
    assert adjustments().get().transitions.get().source == "command"


# ---- concurrency (PostgreSQL) -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_debits_racing_for_the_last_points_exactly_one_wins(brand, stars):
    if not is_postgres():
        pytest.skip("SQLite has no row locks; the race runs on PostgreSQL")
    from tests.factories import CustomerFactory

    customer = CustomerFactory(id="racer")
    adjust(customer, stars, 10)

    outcomes = race(*[lambda: adjust(customer, stars, -8, reason="race")] * 2)

    assert kinds(outcomes) == {"ok": 1, "InsufficientBalance": 1}, outcomes
    assert totals(customer, stars) == T4(2)
    assert adjustments().count() == 2  # the credit and the one debit that won
    assert AuditEntry.objects.filter(action="customer.adjust").count() == 2


def test_the_api_cannot_emit_an_adjustment(api, customer, brand, stars):
    body = {"customer_id": customer.pk, "brand_id": brand.pk, "type": "ADJUSTMENT", "purchase_id": "p-adj"}

    response = api.post("/behavior/events", body)

    assert_error(response, 400, "validation_error")
    assert not Event.objects.filter(type_id="ADJUSTMENT").exists()


def test_the_adjustment_type_stays_tracking_only(api, stars):
    response = api.patch("/event-types/ADJUSTMENT", {"tracking_only": False})

    assert_error(response, 400, "validation_error")
    assert EventType.objects.get(pk="ADJUSTMENT").tracking_only is True
