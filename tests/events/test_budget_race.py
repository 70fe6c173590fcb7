"""Campaign budgets and per-customer limits under concurrent events, on PostgreSQL: real threads,
one connection each, released together by a barrier (the pattern of test_concurrency.py).

A budget is checked and counted under the campaign row's lock (campaigns.services.campaign_budgets_lock), a
limit under the customer's wallet lock: without them, concurrent events all see the same
remaining budget or the same count. SQLite ignores row locks, so these run only on PostgreSQL.
"""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from campaigns.models import EventType
from core.exceptions import InvalidTransition
from events.models import Event
from events.services import event_reverse
from tests.factories import CampaignFactory, CustomerFactory, fixed_rule
from tests.helpers import budget_used, emit, granted, live_granted, totals
from tests.races import kinds, race
from wallets.models import WalletLine

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: after a plain transactional test, Django's flush re-creates the content
    # types and permissions (post_migrate) under new ids, and the next serialized_rollback test
    # (test_concurrency.py runs right after this file) fails to restore its rows over them. With it,
    # the flush leaves the tables empty, and every test here starts with the migrations' rows
    # (built-in event types, base tier) restored.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores row locks"),
]

D = Decimal


def test_concurrent_emits_of_different_customers_never_exceed_a_budget(brand, stars):
    campaign = CampaignFactory(brand=brand, budget=D(55), rules=[fixed_rule(stars, amount=10)])
    buyers = [CustomerFactory() for _ in range(16)]  # 16 wallets: only the campaign row is shared

    outcomes = race(*[lambda b=b: emit(b, brand) for b in buyers])

    assert kinds(outcomes) == {"ok": 16}, outcomes
    events = [value for _, value in outcomes]
    assert all(e.status == Event.Status.RESOLVED for e in events)
    # every one of the 16 competed for the same 55: five were paid in full, one got the rest
    assert Counter(granted(e, campaign) for e in events) == {D(10): 5, D(5): 1, D(0): 10}
    assert sum(bool(Event.objects.get(pk=e.pk).rewarding_campaigns) for e in events) == 6
    assert budget_used(campaign) == 55
    assert WalletLine.objects.filter(campaign=campaign).aggregate(s=Sum("amount"))["s"] == 55
    assert sum(totals(b, stars)["total"] for b in buyers) == 55


def test_concurrent_emits_of_one_customer_respect_a_lifetime_limit(brand, stars, customer):
    campaign = CampaignFactory(
        brand=brand, limit={"count": 1, "period": "lifetime"}, rules=[fixed_rule(stars, amount=10)]
    )
    # a welcome bonus first: the customer's total and metric rows exist before the race, so that
    # the racers contend on the limit, not on creating those rows
    CampaignFactory(brand=brand, trigger=EventType.objects.get(pk="REGISTRATION"), rules=[fixed_rule(stars, amount=1)])
    emit(customer, brand, type="REGISTRATION")

    outcomes = race(*[lambda: emit(customer, brand) for _ in range(8)])

    assert kinds(outcomes) == {"ok": 8}, outcomes
    events = [value for _, value in outcomes]
    assert sorted(granted(e, campaign) for e in events) == [0] * 7 + [10]
    assert WalletLine.objects.filter(campaign=campaign).count() == 1
    assert totals(customer, stars)["total"] == 11


def test_concurrent_reversals_give_the_budget_back_exactly_once(brand, stars):
    campaign = CampaignFactory(brand=brand, budget=D(45), rules=[fixed_rule(stars, amount=10)])
    buyers = [CustomerFactory() for _ in range(5)]
    events = [emit(b, brand) for b in buyers]
    assert [granted(e, campaign) for e in events] == [10, 10, 10, 10, 5]
    assert budget_used(campaign) == 45

    # every event reversed four times at once: 20 threads, one winner per event
    attempts = [e for e in events for _ in range(4)]
    outcomes = race(*[lambda e=e: event_reverse(event_id=e.pk, reason="refund") for e in attempts])

    assert kinds(outcomes) == {"ok": 5, "InvalidTransition": 15}, outcomes
    for event in events:
        mine = [value for (kind, value), e in zip(outcomes, attempts, strict=True) if e.pk == event.pk]
        assert sum(not isinstance(v, InvalidTransition) for v in mine) == 1, mine
        assert Event.objects.get(pk=event.pk).status == Event.Status.REVERSED
    assert budget_used(campaign) == 0
    assert [granted(emit(b, brand), campaign) for b in buyers] == [10, 10, 10, 10, 5]  # the budget is whole again
    assert budget_used(campaign) == 45


def test_concurrent_emits_and_reversals_keep_budget_used_equal_to_live_grants(brand, stars):
    campaign = CampaignFactory(brand=brand, budget=D(50), rules=[fixed_rule(stars, amount=10)])
    earlier = [emit(CustomerFactory(), brand) for _ in range(5)]
    assert budget_used(campaign) == 50
    newcomers = [CustomerFactory() for _ in range(10)]

    outcomes = race(
        *[lambda e=e: event_reverse(event_id=e.pk, reason="refund") for e in earlier[:3]],
        *[lambda b=b: emit(b, brand) for b in newcomers],
    )

    assert kinds(outcomes) == {"ok": 13}, outcomes
    new_events = [value for _, value in outcomes[3:]]
    assert sum(granted(e, campaign) for e in new_events) <= 30  # at most what the reversals freed
    assert budget_used(campaign) == live_granted(campaign) <= 50
