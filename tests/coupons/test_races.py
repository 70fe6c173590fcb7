"""Races for a code's uses on PostgreSQL: real threads, one connection each, released together
by a barrier (tests/races.py). SQLite ignores row locks, so these run only on PostgreSQL."""

from collections import Counter

import pytest
from django.db import connection

from core.exceptions import BusinessRuleError
from coupons.models import CouponCode, CouponUse
from coupons.services import coupon_codes_add
from tests.coupons.helpers import coupon_campaign, redeem, reverse
from tests.factories import CustomerFactory
from tests.helpers import totals
from tests.races import kinds, race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores row locks"),
]


def test_two_customers_racing_for_the_last_use_exactly_one_wins(brand, stars):
    coupon_campaign(brand, stars, codes=["LAST-1"])
    racers = [CustomerFactory() for _ in range(2)]

    outcomes = race(*[lambda c=c: redeem(c, "LAST-1") for c in racers])

    assert kinds(outcomes) == Counter({"ok": 1, "BusinessRuleError": 1})
    [loss] = [value for kind, value in outcomes if kind == "error"]
    assert loss.code == "coupon_used_up"
    assert sorted(totals(c, stars)["total"] for c in racers) == [0, 50]
    assert CouponCode.objects.get(code="LAST-1").uses_count == 1
    assert CouponUse.objects.count() == 1


def test_many_customers_racing_for_a_shared_code_take_exactly_its_uses(brand, stars):
    campaign = coupon_campaign(brand, stars)
    coupon_codes_add(campaign_id=campaign.pk, codes=["FIVE-USES"], max_uses=5)
    racers = [CustomerFactory() for _ in range(8)]

    outcomes = race(*[lambda c=c: redeem(c, "FIVE-USES") for c in racers])

    assert kinds(outcomes) == Counter({"ok": 5, "BusinessRuleError": 3})
    assert {value.code for kind, value in outcomes if kind == "error"} == {"coupon_used_up"}
    assert CouponCode.objects.get(code="FIVE-USES").uses_count == 5
    assert sum(totals(c, stars)["total"] for c in racers) == 250


def test_one_customer_redeeming_twice_at_once_is_served_once(brand, stars):
    campaign = coupon_campaign(brand, stars)
    coupon_codes_add(campaign_id=campaign.pk, codes=["TWICE"], max_uses=5)
    customer = CustomerFactory()

    outcomes = race(*[lambda: redeem(customer, "TWICE") for _ in range(2)])

    assert kinds(outcomes) == Counter({"ok": 1, "BusinessRuleError": 1})
    assert [v.code for k, v in outcomes if k == "error"] == ["coupon_customer_limit"]
    assert totals(customer, stars)["total"] == 50


def test_two_reversals_at_once_take_back_once(brand, stars):
    coupon_campaign(brand, stars, codes=["UNDO-1"])
    customer = CustomerFactory()
    redeem(customer, "UNDO-1")

    outcomes = race(*[lambda: reverse(customer, "UNDO-1") for _ in range(2)])

    assert kinds(outcomes) == Counter({"ok": 1, "Conflict": 1})
    assert totals(customer, stars)["total"] == 0
    assert CouponCode.objects.get(code="UNDO-1").uses_count == 0


def test_a_redemption_racing_a_reversal_of_the_same_budgeted_code_never_deadlocks(brand, stars):
    """Redeem locks wallet, campaign row, code; reverse locks event, wallet, campaign row, code."""
    campaign = coupon_campaign(brand, stars, budget=1000)
    coupon_codes_add(campaign_id=campaign.pk, codes=["BOTH"], max_uses=10)
    first, second = CustomerFactory(), CustomerFactory()
    redeem(first, "BOTH")

    outcomes = race(lambda: reverse(first, "BOTH"), lambda: redeem(second, "BOTH"))

    assert kinds(outcomes) == Counter({"ok": 2})
    assert CouponCode.objects.get(code="BOTH").uses_count == 1
    assert not isinstance(outcomes[1][1], BusinessRuleError)
