"""Real races on PostgreSQL (tests/races.py): referred customers racing for a code's last use
(exactly one wins), two links racing to close a cycle (one links), and a chain of referrals
whose events are applied and reversed at once (no deadlock, both sides net to zero)."""

from collections import Counter

import pytest
from django.db import connection

from events.selectors import ledger_problems
from events.services import event_reverse
from referrals.models import Referral, ReferralCode
from tests.factories import CustomerFactory
from tests.helpers import emit, totals
from tests.races import kinds, race
from tests.referrals.helpers import code_of, referral_campaign

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores row locks"),
]


def test_referred_customers_racing_for_the_last_use_exactly_one_wins(brand, stars):
    campaign = referral_campaign(brand, stars, max_uses=1, budget=10_000)
    ana = CustomerFactory(id="ana")
    code = code_of(ana, campaign, brand)
    friends = [CustomerFactory(id=f"friend-{i}", referral_code=code) for i in range(8)]  # 8 linked, 1 use

    outcomes = race(*[lambda f=f: emit(f, brand, value=30) for f in friends])

    assert kinds(outcomes) == {"ok": 8}, outcomes
    qualified = Counter(bool(e.result.get("referral", {}).get("qualified")) for _k, e in outcomes)
    assert qualified == {True: 1, False: 7}
    assert sorted(totals(f, stars)["total"] for f in friends) == [0] * 7 + [20]
    assert totals(ana, stars)["total"] == 100
    assert ReferralCode.objects.get(code=code).uses_count == 1
    assert Referral.objects.filter(qualified_event_id__isnull=False).count() == 1
    assert ledger_problems() == []


def test_two_links_racing_to_close_a_cycle_link_one(brand, stars):
    campaign = referral_campaign(brand, stars, trigger="BIRTHDAY")  # links only: nothing qualifies
    ana, ben = CustomerFactory(id="ana"), CustomerFactory(id="ben")
    ana_code, ben_code = code_of(ana, campaign, brand), code_of(ben, campaign, brand)

    outcomes = race(
        lambda: emit(ana, brand, value=1, referral_code=ben_code),
        lambda: emit(ben, brand, value=1, referral_code=ana_code),
    )

    assert kinds(outcomes) == {"ok": 2}, outcomes
    notes = sorted((e.result["referral"]["linked"], e.result["referral"].get("ignored")) for _k, e in outcomes)
    assert notes == [(False, "cycle"), (True, None)]
    assert Referral.objects.count() == 1


def test_a_chain_applied_and_reversed_at_once_never_deadlocks_and_nets_to_zero(brand, stars):
    """ana <- ben <- cleo <- dan in one budgeted campaign: every customer is a referrer and a
    referred one; their events qualify, and half of them are reversed, all at once."""
    campaign = referral_campaign(brand, stars, budget=100_000)
    ana = CustomerFactory(id="ana")
    ben = CustomerFactory(id="ben", referral_code=code_of(ana, campaign, brand))
    cleo = CustomerFactory(id="cleo", referral_code=code_of(ben, campaign, brand))
    dan = CustomerFactory(id="dan", referral_code=code_of(cleo, campaign, brand))
    first_ben, first_dan = emit(ben, brand, value=30), emit(dan, brand, value=30)

    outcomes = race(
        lambda: event_reverse(event_id=first_ben.pk, reason="refund"),  # locks ben, then ana
        lambda: emit(cleo, brand, value=30),  # locks cleo, then ben
        lambda: event_reverse(event_id=first_dan.pk, reason="refund"),  # locks dan, then cleo
        lambda: emit(ana, brand, value=30),  # ana has no referrer
    )

    assert kinds(outcomes) == {"ok": 4}, outcomes
    assert [totals(c, stars)["total"] for c in (ana, ben, cleo, dan)] == [0, 100, 20, 0]
    assert ledger_problems() == []
