"""The programme's rules around one event (SPEC section 4, events/rewarding.py), through the services:
campaign budgets, per-customer limits, tiers, the compiled-programme cache and the cost in SQL
queries of an emit as the programme grows.

Races on the same rules (budgets and limits under concurrent emits and reversals) are in
tests/events/test_budget_race.py, on PostgreSQL.
"""

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import AutoField
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services as programme
from campaigns.models import Campaign, Tier
from core.exceptions import Conflict
from events.models import Event
from events.rewarding import period_start
from events.services import event_expire_due, event_fulfill, event_reverse
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, fixed_rule
from tests.helpers import budget_used, emit, fresh, granted, live_granted, totals
from wallets.models import Customer, Transaction, WalletLine
from wallets.services import customer_register

pytestmark = pytest.mark.django_db

D = Decimal
S = Event.Status
MEXICO = ZoneInfo("America/Mexico_City")  # UTC-6 all year (no DST since 2022)
MADRID = ZoneInfo("Europe/Madrid")


# ---- helpers -------------------------------------------------------------------------------------------


def rewarded(event, campaign) -> bool:
    """The campaign is among the event's rewarding campaigns and granted it a line."""
    cited = {c["campaign_id"] for c in fresh(event).rewarding_campaigns}
    has_line = WalletLine.objects.filter(event_id=event.pk, campaign=campaign).exists()
    assert (str(campaign.pk) in cited) == has_line, (cited, has_line)
    return has_line


def undo(event, how: str) -> None:
    """Expire (a held event, by the expiry run past its deadline) or reverse (cancel a held event,
    reverse a resolved one)."""
    if how == "expire":
        assert event_expire_due(now=event.reservation_expires_at + timedelta(seconds=1)) == [event.pk]
        assert fresh(event).status == S.EXPIRED
    else:
        event_reverse(event_id=event.pk, reason="refund")
        assert fresh(event).status == (S.REVERSED if how == "reverse" else S.CANCELLED)


def last_midnight(tz, *, at_least=timedelta(hours=1)) -> datetime:
    """The latest midnight of `tz` at least `at_least` ago: events a few minutes either side of it
    are in the past and within the 72 hours an issued_at may reach back."""
    local = timezone.now().astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if local - midnight < at_least:
        midnight -= timedelta(days=1)
    return midnight


# ---- budgets ------------------------------------------------------------------------------------------------


@pytest.fixture
def budgeted(brand, stars):
    """10 stars per purchase until 25 have been granted."""
    return CampaignFactory(brand=brand, budget=D(25), rules=[fixed_rule(stars, amount=10)])


def test_budget_cuts_the_last_grant_to_what_remains_then_grants_nothing(brand, stars, budgeted):
    buyers = [CustomerFactory() for _ in range(4)]  # the budget is the campaign's, across customers

    events = [emit(buyer, brand) for buyer in buyers]

    assert [granted(e) for e in events] == [10, 10, 5, 0]
    assert [rewarded(e, budgeted) for e in events] == [True, True, True, False]
    assert fresh(events[3]).status == S.RESOLVED and fresh(events[3]).rewarding_campaigns == []
    assert budget_used(budgeted) == 25
    assert [totals(b, stars)["total"] for b in buyers] == [10, 10, 5, 0]


def test_held_grants_count_against_the_budget(customer, brand, stars, budgeted):
    held = emit(customer, brand, fulfilled=False)
    assert granted(held) == 10 and budget_used(budgeted) == 10

    assert [granted(emit(customer, brand)) for _ in range(3)] == [10, 5, 0]
    assert budget_used(budgeted) == 25

    event_fulfill(event_id=held.pk)
    assert budget_used(budgeted) == 25  # fulfilment neither counts the grant again nor gives it back
    assert totals(customer, stars)["total"] == 25


@pytest.mark.parametrize("how", ["expire", "cancel", "reverse"])
def test_undoing_an_event_gives_back_exactly_what_it_was_granted_and_others_earn_again(how, brand, stars, budgeted):
    a, b, c, d = (CustomerFactory() for _ in range(4))
    held = how != "reverse"
    # when held, `first` is due a day after `cut`, so that each expiry run expires only one of them
    first = emit(a, brand, fulfilled=not held, **({"reserve": 2} if held else {}))
    emit(b, brand)
    cut = emit(c, brand, fulfilled=not held)
    assert (granted(first), granted(cut), budget_used(budgeted)) == (10, 5, 25)
    assert granted(emit(d, brand)) == 0

    undo(cut, how)

    assert budget_used(budgeted) == 20  # the 5 its line was granted, not the rule's 10
    again = emit(d, brand)
    assert granted(again) == 5 and budget_used(budgeted) == 25

    undo(first, how)

    assert budget_used(budgeted) == 15
    assert granted(emit(d, brand)) == 10 and budget_used(budgeted) == 25
    assert granted(emit(d, brand)) == 0
    assert totals(d, stars)["total"] == 15


@pytest.mark.parametrize("decimals, budget, cut", [(0, "25.9", "5"), (2, "25.5599", "5.55"), (3, "20.0019", "0.001")])
def test_a_cut_grant_is_rounded_down_to_the_reward_decimals(brand, decimals, budget, cut):
    reward = RewardFactory(brand=brand, decimals=decimals)
    campaign = CampaignFactory(brand=brand, budget=D(budget), rules=[fixed_rule(reward, amount=10)])

    events = [emit(CustomerFactory(), brand) for _ in range(4)]

    assert [granted(e) for e in events] == [10, 10, D(cut), 0]
    assert budget_used(campaign) == 20 + D(cut)  # the unpaid fraction stays unused


@pytest.mark.parametrize("used", ["25.0001", "-0.0001"], ids=["above-budget", "negative"])
def test_the_database_refuses_budget_used_outside_0_to_budget(brand, stars, budgeted, used):
    with pytest.raises(IntegrityError, match="campaign_budget_never_exceeded"), transaction.atomic():
        Campaign.objects.filter(pk=budgeted.pk).update(budget_used=D(used))

    assert budget_used(budgeted) == 0


def test_reversing_a_grant_made_before_the_campaign_had_a_budget_succeeds(customer, brand, stars):
    """Reversing it must neither give back more than budget_used counted (which failed on
    campaign_budget_never_exceeded) nor leave anything counted for it."""
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)])
    before_budget = emit(customer, brand)
    programme.campaign_update(campaign_id=campaign.pk, budget=D(25))

    event_reverse(event_id=before_budget.pk, reason="refund")

    assert fresh(before_budget).status == S.REVERSED
    assert budget_used(campaign) == 0
    assert totals(customer, stars)["total"] == 0


def test_budget_set_on_a_campaign_that_already_granted_keeps_counting_right_after_a_reversal(customer, brand, stars):
    """Whether setting the budget counts the earlier grant or only later ones, budget_used must
    afterwards equal what the live events' lines hold: giving back an uncounted grant would let
    the campaign grant more than its budget."""
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)])
    before_budget = emit(customer, brand)  # unbudgeted: budget_used stays 0
    programme.campaign_update(campaign_id=campaign.pk, budget=D(25))
    after_budget = emit(customer, brand)
    assert (granted(before_budget), granted(after_budget)) == (10, 10)

    event_reverse(event_id=before_budget.pk, reason="refund")  # must not drive budget_used below 0

    assert fresh(before_budget).status == S.REVERSED
    assert 0 <= budget_used(campaign) <= 25
    assert budget_used(campaign) == live_granted(campaign) == 10
    assert [granted(emit(customer, brand)) for _ in range(3)] == [10, 5, 0]  # 25 live, never more


# ---- per-customer limits ------------------------------------------------------------------------------------


def limited(brand, reward, limit, amount=10):
    return CampaignFactory(brand=brand, limit=limit, rules=[fixed_rule(reward, amount=amount)])


def test_lifetime_limit_rewards_only_the_first_events_of_each_customer(brand, stars):
    campaign = limited(brand, stars, {"count": 2, "period": "lifetime"})
    first, second = CustomerFactory(), CustomerFactory()

    assert [rewarded(emit(first, brand), campaign) for _ in range(4)] == [True, True, False, False]
    assert [rewarded(emit(second, brand), campaign) for _ in range(3)] == [True, True, False]
    assert totals(first, stars)["total"] == totals(second, stars)["total"] == 20


def test_limit_counts_held_events_and_not_undone_ones(customer, brand, stars):
    campaign = limited(brand, stars, {"count": 2, "period": "lifetime"})

    held = emit(customer, brand, fulfilled=False)
    resolved = emit(customer, brand)
    assert (rewarded(held, campaign), rewarded(resolved, campaign)) == (True, True)
    assert not rewarded(emit(customer, brand), campaign)  # the held one counts

    undo(held, "cancel")
    assert rewarded(emit(customer, brand), campaign)
    assert not rewarded(emit(customer, brand), campaign)

    undo(resolved, "reverse")
    late_held = emit(customer, brand, fulfilled=False)
    assert rewarded(late_held, campaign)
    assert not rewarded(emit(customer, brand), campaign)

    undo(late_held, "expire")
    assert rewarded(emit(customer, brand), campaign)
    assert not rewarded(emit(customer, brand), campaign)
    assert totals(customer, stars)["total"] == 20


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_period_limit_counts_the_events_of_one_period(customer, brand, stars, period):
    campaign = limited(brand, stars, {"count": 2, "period": period})
    at = timezone.now()  # one moment, so that the three events cannot straddle a boundary

    assert [rewarded(emit(customer, brand, issued_at=at), campaign) for _ in range(3)] == [True, True, False]


def test_day_limit_resets_at_midnight_of_the_programme_time_zone(settings, brand, stars):
    settings.TIME_ZONE = "America/Mexico_City"
    campaign = limited(brand, stars, {"count": 1, "period": "day"})

    # Mexico City midnight is 06:00 UTC: these four events share one UTC day, not one local day
    midnight = last_midnight(MEXICO)
    crosser = CustomerFactory()
    before = [emit(crosser, brand, issued_at=midnight - timedelta(minutes=m)) for m in (30, 10)]
    after = [emit(crosser, brand, issued_at=midnight + timedelta(minutes=m)) for m in (10, 20)]
    assert [rewarded(e, campaign) for e in before + after] == [True, False, True, False]

    # UTC midnight is 18:00 in Mexico City: these two share one local day, not one UTC day
    utc_midnight = last_midnight(UTC)
    evening = CustomerFactory()
    pair = [emit(evening, brand, issued_at=utc_midnight + timedelta(minutes=m)) for m in (-30, 30)]
    assert [rewarded(e, campaign) for e in pair] == [True, False]


def test_day_limit_counts_a_late_event_in_the_day_it_was_issued(settings, customer, brand, stars):
    """An event may arrive up to 72 hours after it was issued: it belongs to the day holding its
    issued_at, whatever was rewarded on later days."""
    settings.TIME_ZONE = "America/Mexico_City"
    campaign = limited(brand, stars, {"count": 1, "period": "day"})
    midnight = last_midnight(MEXICO)

    today = emit(customer, brand, issued_at=midnight + timedelta(minutes=30))
    late = emit(customer, brand, issued_at=midnight - timedelta(minutes=30))  # yesterday's, sent now

    assert rewarded(today, campaign)
    assert rewarded(late, campaign), "yesterday had no rewarded event, yet today's one was counted"
    assert not rewarded(emit(customer, brand, issued_at=midnight - timedelta(minutes=20)), campaign)
    assert not rewarded(emit(customer, brand, issued_at=midnight + timedelta(minutes=40)), campaign)


def _at(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(
    "tz, at, period, start",
    [
        # Monday 2025-03-31 21:00 in Mexico City is already Tuesday 03:00 UTC
        ("America/Mexico_City", _at(UTC, 2025, 4, 1, 3), "day", _at(MEXICO, 2025, 3, 31)),
        ("America/Mexico_City", _at(UTC, 2025, 4, 1, 3), "week", _at(MEXICO, 2025, 3, 31)),
        ("America/Mexico_City", _at(UTC, 2025, 4, 1, 3), "month", _at(MEXICO, 2025, 3, 1)),
        # Sunday evening local (Monday in UTC) still belongs to the ISO week that began the Monday before
        ("America/Mexico_City", _at(UTC, 2025, 3, 31, 3), "week", _at(MEXICO, 2025, 3, 24)),
        ("America/Mexico_City", _at(UTC, 2025, 3, 31, 3), "day", _at(MEXICO, 2025, 3, 30)),
        # Madrid: the month began in winter time (UTC+1), the event is in summer time (UTC+2)
        ("Europe/Madrid", _at(UTC, 2025, 3, 31, 10), "month", _at(MADRID, 2025, 3, 1)),
        ("Europe/Madrid", _at(UTC, 2025, 3, 31, 10), "day", _at(MADRID, 2025, 3, 31)),
        ("Europe/Madrid", _at(UTC, 2025, 3, 31, 10), "week", _at(MADRID, 2025, 3, 31)),
        # the Sunday summer time ends: its week began on Monday in summer time
        ("Europe/Madrid", _at(UTC, 2025, 10, 26, 12), "week", _at(MADRID, 2025, 10, 20)),
        ("Europe/Madrid", _at(UTC, 2025, 10, 26, 12), "month", _at(MADRID, 2025, 10, 1)),
        # New Year's Eve 23:30 local is New Year's Day in UTC
        ("America/Mexico_City", _at(UTC, 2026, 1, 1, 5, 30), "month", _at(MEXICO, 2025, 12, 1)),
        ("America/Mexico_City", _at(UTC, 2026, 1, 1, 6, 0), "month", _at(MEXICO, 2026, 1, 1)),
        ("UTC", _at(UTC, 2026, 1, 1, 5, 30), "month", _at(UTC, 2026, 1, 1)),
        ("Europe/Madrid", _at(UTC, 2025, 6, 1), "lifetime", None),
    ],
)
def test_period_start_is_the_start_of_the_period_in_the_programme_time_zone(settings, tz, at, period, start):
    settings.TIME_ZONE = tz

    got = period_start(period, at)

    assert got == start  # the same instant (aware datetimes compare as instants)
    if start is not None:
        assert got.utcoffset() == start.utcoffset()


# ---- tiers -------------------------------------------------------------------------------------------------


def spend_at_least(value) -> list:
    return [[{"field": "customer.metrics.lifetime.spend_total", "operator": "gte", "value": value}]]


@pytest.fixture
def tiers(db):
    """Base (level 1, from the migration), Silver from 100 spent, Gold from 500."""
    base = Tier.objects.get(level=1)
    silver = programme.tier_create(name="Silver", level=2, entry_conditions=spend_at_least(100))
    gold = programme.tier_create(name="Gold", level=3, entry_conditions=spend_at_least(500))
    return SimpleNamespace(base=base, silver=silver, gold=gold)


@pytest.fixture
def member(tiers):
    return customer_register(id="member-1", name="Member")


def tier_of(customer):
    tier_id = Customer.objects.values_list("tier_id", flat=True).get(pk=customer.pk)
    return Tier.objects.get(pk=tier_id) if tier_id else None


def adjustments(customer) -> list[tuple]:
    """(from level, to level, cause, cause event) of every TIER_ADJUSTMENT of the customer, oldest first."""
    rows = Event.objects.filter(customer_id=customer.pk, type_id="TIER_ADJUSTMENT").order_by("created_at", "issued_at")
    out = []
    for event in rows:
        assert event.status == S.RESOLVED
        data = event.data
        assert Tier.objects.get(pk=data["from_tier_id"]).level == data["from_level"]
        assert Tier.objects.get(pk=data["to_tier_id"]).level == data["to_level"]
        out.append((data["from_level"], data["to_level"], data["cause"], data["cause_event_id"]))
    return out


def test_a_resolved_event_crossing_a_threshold_moves_the_customer_up_at_once(tiers, member, brand):
    emit(member, brand, value=60)
    assert tier_of(member) == tiers.base and adjustments(member) == []

    crossing = emit(member, brand, value=50)  # 110 spent
    assert tier_of(member) == tiers.silver
    assert adjustments(member) == [(1, 2, "event", str(crossing.pk))]

    to_gold = emit(member, brand, value=400)  # 510
    assert tier_of(member) == tiers.gold
    assert adjustments(member)[1:] == [(2, 3, "event", str(to_gold.pk))]

    jumper = CustomerFactory()  # registered in the base tier
    big = emit(jumper, brand, value=600)
    assert tier_of(jumper) == tiers.gold
    assert adjustments(jumper) == [(1, 3, "event", str(big.pk))]


def test_a_resolved_event_never_moves_a_customer_down(tiers, member, brand):
    emit(member, brand, value=500)
    assert tier_of(member) == tiers.gold
    programme.tier_update(tier_id=tiers.gold.pk, entry_conditions=spend_at_least(1000))

    emit(member, brand, value=10)  # 510 spent: now qualifies for Silver only

    assert tier_of(member) == tiers.gold
    assert [a[:2] for a in adjustments(member)] == [(1, 3)]


def test_a_held_event_moves_the_tier_only_when_fulfilled(tiers, member, brand):
    emit(member, brand, value=60)
    held = emit(member, brand, value=200, fulfilled=False)
    assert tier_of(member) == tiers.base and adjustments(member) == []

    event_fulfill(event_id=held.pk)

    assert tier_of(member) == tiers.silver
    assert adjustments(member) == [(1, 2, "event", str(held.pk))]

    for how in ("cancel", "expire"):  # held events that never resolve never move it
        undo(emit(member, brand, value=1000, fulfilled=False), how)
    assert tier_of(member) == tiers.silver and len(adjustments(member)) == 1


def test_a_reversal_recomputes_the_tier_and_can_move_it_down(tiers, member, brand):
    first = emit(member, brand, value=60)
    emit(member, brand, value=50)
    big = emit(member, brand, value=400)
    assert tier_of(member) == tiers.gold

    event_reverse(event_id=big.pk, reason="refund")  # 110 left
    assert tier_of(member) == tiers.silver
    assert adjustments(member)[-1] == (3, 2, "reversal", str(big.pk))

    event_reverse(event_id=first.pk, reason="refund")  # 50 left
    assert tier_of(member) == tiers.base
    assert adjustments(member)[-1] == (2, 1, "reversal", str(first.pk))
    assert [a[:2] for a in adjustments(member)] == [(1, 2), (2, 3), (3, 2), (2, 1)]


def test_a_reversal_that_leaves_the_customer_qualified_keeps_the_tier(tiers, member, brand):
    emit(member, brand, value=300)
    small = emit(member, brand, value=50)
    assert tier_of(member) == tiers.silver

    event_reverse(event_id=small.pk, reason="refund")

    assert tier_of(member) == tiers.silver and len(adjustments(member)) == 1


def test_a_tier_limited_effect_grants_only_in_that_tier_as_it_stood_before_the_event(tiers, member, brand, stars):
    campaign = CampaignFactory(
        brand=brand,
        rules=[
            {
                "conditions": [],
                "effects": [
                    {"reward_id": str(stars.pk), "kind": "FIXED", "amount": 5, "tier_id": str(tiers.silver.pk)}
                ],
            },
            {
                "conditions": [],
                "effects": [{"reward_id": str(stars.pk), "kind": "FIXED", "amount": 1, "tier_id": str(tiers.base.pk)}],
            },
        ],
    )

    def grants(event):
        return list(WalletLine.objects.filter(event_id=event.pk, campaign=campaign).values_list("rule_id", "amount"))

    assert grants(emit(member, brand, value=60)) == [("rule-2", 1)]
    # this event makes them Silver, but it is evaluated with the tier they had before it
    assert grants(emit(member, brand, value=50)) == [("rule-2", 1)]
    assert tier_of(member) == tiers.silver
    assert grants(emit(member, brand, value=10)) == [("rule-1", 5)]
    to_gold = emit(member, brand, value=400)
    assert grants(to_gold) == [("rule-1", 5)] and tier_of(member) == tiers.gold
    assert grants(emit(member, brand, value=10)) == []  # Gold is not Silver

    event_reverse(event_id=to_gold.pk, reason="refund")
    assert tier_of(member) == tiers.silver
    assert grants(emit(member, brand, value=10)) == [("rule-1", 5)]

    newcomer = CustomerFactory()  # in the base tier: the base tier's effect applies
    assert grants(emit(newcomer, brand, value=10)) == [("rule-2", 1)]


# ---- the compiled programme's cache ---------------------------------------------------------------------------


def test_an_edit_to_a_campaign_that_has_not_started_is_seen_by_the_next_emit(customer, brand, stars):
    now = timezone.now()
    campaign = programme.campaign_create(
        brand_id=brand.pk,
        name="Spring",
        trigger="PURCHASE",
        start_date=now + timedelta(days=1),
        rules=[fixed_rule(stars, amount=10)],
    )
    assert granted(emit(customer, brand)) == 0  # compiles and caches the programme: the campaign has not started

    programme.campaign_update(
        campaign_id=campaign.pk, start_date=now - timedelta(hours=1), rules=[fixed_rule(stars, amount=30)]
    )

    event = emit(customer, brand)
    assert granted(event, campaign) == 30 and rewarded(event, campaign)
    with pytest.raises(Conflict, match="frozen"):  # it has started now: its rules are frozen
        programme.campaign_update(campaign_id=campaign.pk, rules=[fixed_rule(stars, amount=99)])


def test_an_inactive_campaign_activated_is_seen_by_the_next_emit(customer, brand, stars):
    campaign = programme.campaign_create(
        brand_id=brand.pk,
        name="Dormant",
        trigger="PURCHASE",
        start_date=timezone.now() - timedelta(days=1),
        status=Campaign.Status.INACTIVE,
        rules=[fixed_rule(stars, amount=10)],
    )
    assert granted(emit(customer, brand)) == 0

    programme.campaign_update(
        campaign_id=campaign.pk, rules=[fixed_rule(stars, amount=20)], status=Campaign.Status.ACTIVE
    )
    assert granted(emit(customer, brand), campaign) == 20

    programme.campaign_update(campaign_id=campaign.pk, status=Campaign.Status.INACTIVE)
    assert granted(emit(customer, brand)) == 0


def test_a_budget_set_on_a_running_campaign_is_seen_by_the_next_emit(customer, brand, stars):
    campaign = CampaignFactory(
        brand=brand,
        rules=[fixed_rule(stars, amount=10, conditions=[[{"field": "order.value", "operator": "gte", "value": 10}]])],
    )
    assert granted(emit(customer, brand, value=5)) == 0  # caches the campaign, unbudgeted, without a grant

    programme.campaign_update(campaign_id=campaign.pk, budget=D(15))

    assert [granted(emit(customer, brand, value=20)) for _ in range(3)] == [10, 5, 0]
    assert budget_used(campaign) == 15


def test_a_new_campaign_is_seen_by_the_next_emit(customer, brand, stars, star_campaign):
    assert granted(emit(customer, brand, value=100)) == 10  # star_campaign only; the programme is cached

    created = programme.campaign_create(
        brand_id=brand.pk,
        name="Bonus",
        trigger="PURCHASE",
        start_date=timezone.now() - timedelta(minutes=1),
        rules=[fixed_rule(stars, amount=7)],
    )

    event = emit(customer, brand, value=100)
    assert (granted(event), granted(event, created)) == (17, 7)
    assert rewarded(event, created) and rewarded(event, star_campaign)


# ---- SQL queries per emit -----------------------------------------------------------------------------------


def programme_of(n_campaigns: int, mode: str):
    """A brand with `n_campaigns` running campaigns of 5 rules each, each campaign granting its own
    reward. `all`: every rule matches a purchase of 50; `few`: only the first campaign's first
    rule does; `budgeted`: every rule matches and every campaign has a budget and a limit."""
    brand = BrandFactory()
    rewards = [RewardFactory(brand=brand) for _ in range(n_campaigns)]
    for c, reward in enumerate(rewards):
        rules = []
        for r in range(5):
            threshold = 10 if mode != "few" or (c, r) == (0, 0) else 1000
            rules.append(
                fixed_rule(
                    reward,
                    amount=1,
                    conditions=[
                        [
                            {"field": "order.value", "operator": "gte", "value": threshold},
                            {"field": "order.value", "operator": "lt", "value": 5000},
                        ]
                    ],
                )
            )
        extra = {"budget": D(1000), "limit": {"count": 100, "period": "month"}} if mode == "budgeted" else {}
        CampaignFactory(brand=brand, rules=rules, **extra)
    return brand, rewards


def emit_queries(customer, brand) -> tuple[list[str], Event]:
    with CaptureQueriesContext(connection) as ctx:
        event = emit(customer, brand, value=50)
    return [q["sql"] for q in ctx.captured_queries], event


def inserts_into(model, sqls) -> int:
    return sum(1 for sql in sqls if sql.startswith(f'INSERT INTO "{model._meta.db_table}"'))


def forced_batches(model, n: int) -> int:
    """The INSERT statements Django's bulk_create must send for `n` new rows of `model`: one on
    PostgreSQL; on SQLite one per 999 bind parameters (SQLITE_LIMIT_VARIABLE_NUMBER)."""
    fields = [f for f in model._meta.concrete_fields if not f.generated and not isinstance(f, AutoField)]
    return math.ceil(n / max(connection.ops.bulk_batch_size(fields, [None] * n), 1))


@pytest.mark.parametrize("mode", ["all", "few", "budgeted"])
def test_emit_query_count_is_the_same_with_1_and_50_campaigns_of_5_rules(mode):
    sqls = {}
    for n in (1, 50):
        brand, rewards = programme_of(n, mode)
        customer = CustomerFactory()
        # The first emit compiles the programme into the per-process cache and creates the
        # customer's totals and metric bucket: only the second, steady-state emit is counted.
        emit(customer, brand, value=50)
        sqls[n], event = emit_queries(customer, brand)
        expected_lines = 1 if mode == "few" else 5 * n
        assert WalletLine.objects.filter(event_id=event.pk).count() == expected_lines
        assert totals(customer, rewards[0])["total"] == (2 if mode == "few" else 10)

    # Lines and ledger rows are bulk-inserted: 250 of each are one INSERT per table on PostgreSQL,
    # while SQLite makes Django split them into batches. Any other extra statement is a per-line
    # or per-campaign query, and fails the test.
    lines = 1 if mode == "few" else 250
    batches = {model: inserts_into(model, sqls[50]) for model in (WalletLine, Transaction)}
    assert batches == {model: forced_batches(model, lines) for model in batches}, batches
    extra = sum(batches.values()) - len(batches)
    if connection.vendor == "postgresql":
        assert extra == 0
    counts = {n: len(q) for n, q in sqls.items()}
    assert counts[1] == counts[50] - extra, (counts, batches)
