"""A referred customer's qualifying event rewards both sides once, within the code's max uses;
undoing it takes both back (the conftest checks verify_ledger after every test)."""

import pytest

from core.exceptions import InvalidInput, InvalidTransition
from events.models import Event
from events.services import event_fulfill, event_reverse
from referrals.models import Referral, ReferralCode
from tests.factories import CustomerFactory, cond
from tests.helpers import T4, emit, fresh, registration_of, totals
from tests.referrals.helpers import code_of, referral_campaign, referral_of

pytestmark = pytest.mark.django_db


def referral_events(customer):
    return list(Event.objects.filter(customer_id=customer.pk, type_id="REFERRAL").order_by("created_at"))


def test_registration_with_a_code_links_and_the_first_purchase_rewards_both(ana, ana_code, friends, brand, stars):
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    note = registration_of(ben).result["referral"]
    assert note["linked"] is True and "ignored" not in note
    assert referral_of(ben).referrer_id == "ana" and referral_of(ben).status == "LINKED"

    purchase = emit(ben, brand, value=30)

    assert totals(ben, stars) == T4(20)  # referee_rules, on the purchase itself
    assert totals(ana, stars) == T4(100)  # rules, on a REFERRAL event of Ana's
    assert [q["referrer_id"] for q in purchase.result["referral"]["qualified"]] == ["ana"]
    assert {"campaign_id": str(friends.pk), "rule_id": friends.referee_rules[0]["id"]} in purchase.rewarding_campaigns
    (record,) = referral_events(ana)
    assert record.status == "RESOLVED" and record.data["cause_event_id"] == str(purchase.pk)
    assert referral_of(ben).status == "REWARDED" and referral_of(ben).referrer_event_id == record.pk
    assert ReferralCode.objects.get(code=ana_code).uses_count == 1

    emit(ben, brand, value=30)  # once per referred customer
    assert totals(ben, stars) == T4(20) and totals(ana, stars) == T4(100)
    assert len(referral_events(ana)) == 1


def test_an_event_carrying_the_code_links_and_qualifies_at_once(ana, ana_code, brand, stars):
    ben = CustomerFactory(id="ben")
    purchase = emit(ben, brand, value=30, referral_code=ana_code.lower())  # codes are read in capitals

    assert purchase.result["referral"]["linked"] is True
    assert totals(ben, stars) == T4(20) and totals(ana, stars) == T4(100)


def test_the_campaign_conditions_decide_which_event_qualifies(ana, brand, stars):
    big = referral_campaign(brand, stars)
    big.rules[0]["conditions"] = big.referee_rules[0]["conditions"] = [[cond("order.value", "gte", 100)]]
    big.save()
    ben = CustomerFactory(id="ben", referral_code=code_of(ana, big, brand))

    small = emit(ben, brand, value=30)
    assert "referral" not in small.result and totals(ana, stars) == T4(0)
    emit(ben, brand, value=150)
    assert totals(ben, stars) == T4(20) and totals(ana, stars) == T4(100)


def test_a_registration_triggered_campaign_rewards_both_at_registration(ana, brand, stars):
    welcome = referral_campaign(brand, stars, trigger="REGISTRATION", referrer=50, referee=10)
    ben = CustomerFactory(id="ben", referral_code=code_of(ana, welcome, brand))

    assert totals(ben, stars) == T4(10) and totals(ana, stars) == T4(50)
    assert registration_of(ben).result["referral"]["qualified"][0]["referrer_id"] == "ana"


@pytest.mark.parametrize(
    ("code", "why"),
    [("NOSUCHCODE", "unknown_code"), ("   ", "unknown_code"), ("X" * 300, "unknown_code")],
)
def test_an_unknown_code_is_ignored_and_the_event_applies(ana, brand, stars, friends, code, why):
    ben = CustomerFactory(id="ben")
    event = emit(ben, brand, value=30, referral_code=code)
    assert event.status == "RESOLVED" and event.result["referral"]["ignored"] == why
    assert not Referral.objects.exists()


def test_self_referral_is_ignored(ana, ana_code, brand, stars):
    event = emit(ana, brand, value=30, referral_code=ana_code)
    assert event.result["referral"] == {"code": ana_code, "linked": False, "ignored": "self_referral"}
    assert totals(ana, stars) == T4(0) and not Referral.objects.exists()


def test_a_second_referrer_is_ignored(ana, ana_code, friends, brand, stars):
    cleo = CustomerFactory(id="cleo")
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    event = emit(ben, brand, value=30, referral_code=code_of(cleo, friends, brand))

    assert event.result["referral"]["ignored"] == "already_referred"
    assert referral_of(ben).referrer_id == "ana"
    assert totals(ana, stars) == T4(100) and totals(cleo, stars) == T4(0)


def test_a_link_that_would_close_a_cycle_is_refused(ana, ana_code, friends, brand, stars):
    other = referral_campaign(brand, stars, trigger="BIRTHDAY")  # cycles are refused across campaigns
    ben = CustomerFactory(id="ben", referral_code=ana_code)  # ana -> ben
    cleo = CustomerFactory(id="cleo", referral_code=code_of(ben, friends, brand))  # ben -> cleo

    event = emit(ana, brand, value=30, referral_code=code_of(cleo, other, brand))  # cleo -> ana closes it

    assert event.result["referral"]["ignored"] == "cycle"
    assert not Referral.objects.filter(referee_id="ana").exists()


def test_another_brands_code_is_unknown(ana, brand, stars):
    from tests.factories import BrandFactory, RewardFactory

    elsewhere = BrandFactory(id="0002")
    theirs = referral_campaign(elsewhere, RewardFactory(brand=elsewhere))
    ben = CustomerFactory(id="ben")
    event = emit(ben, brand, value=30, referral_code=code_of(ana, theirs, elsewhere))
    assert event.result["referral"]["ignored"] == "unknown_code"


def test_a_code_rewards_at_most_max_uses_referred_customers(ana, ana_code, brand, stars):
    friends = [CustomerFactory(id=f"friend-{n}", referral_code=ana_code) for n in range(3)]
    assert friends[2].pk and registration_of(friends[2]).result["referral"]["linked"] is True  # links are free
    for friend in friends:
        emit(friend, brand, value=30)

    assert [totals(f, stars)["total"] for f in friends] == [20, 20, 0]
    assert totals(ana, stars) == T4(200)
    assert ReferralCode.objects.get(code=ana_code).uses_count == 2
    late = emit(CustomerFactory(id="late"), brand, value=30, referral_code=ana_code)
    assert late.result["referral"]["ignored"] == "code_used_up"


def test_reversing_the_qualifying_event_reverses_both_grants_and_frees_the_use(ana, ana_code, brand, stars):
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    purchase = emit(ben, brand, value=30)

    event_reverse(event_id=purchase.pk, reason="refund")

    assert totals(ben, stars) == T4(0) and totals(ana, stars) == T4(0)
    (record,) = referral_events(ana)
    assert fresh(record).status == "REVERSED"
    assert referral_of(ben).status == "LINKED" and ReferralCode.objects.get(code=ana_code).uses_count == 0
    with pytest.raises(InvalidTransition):
        event_reverse(event_id=purchase.pk, reason="again")

    emit(ben, brand, value=30)  # the referral may qualify again
    assert totals(ben, stars) == T4(20) and totals(ana, stars) == T4(100)


def test_a_referrer_who_spent_the_reward_is_left_in_debt_by_the_reversal(ana, ana_code, brand, stars):
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    purchase = emit(ben, brand, value=30)
    emit(ana, brand, value=0, redeem=[(stars, 60)])

    event_reverse(event_id=purchase.pk, reason="refund")

    assert totals(ana, stars) == T4(-60, debt=60)


def test_a_held_qualifying_event_rewards_the_referrer_when_fulfilled(ana, ana_code, brand, stars):
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    held = emit(ben, brand, value=30, fulfilled=False)

    assert totals(ben, stars) == T4(0, pending=20) and totals(ana, stars) == T4(0)
    assert referral_of(ben).status == "QUALIFIED" and ReferralCode.objects.get(code=ana_code).uses_count == 1

    event_fulfill(event_id=held.pk)

    assert totals(ben, stars) == T4(20) and totals(ana, stars) == T4(100)
    assert referral_of(ben).status == "REWARDED"


def test_a_held_qualifying_event_cancelled_frees_the_use_and_rewards_nobody(ana, ana_code, brand, stars):
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    held = emit(ben, brand, value=30, fulfilled=False)

    event_reverse(event_id=held.pk, reason="order cancelled")

    assert totals(ben, stars) == T4(0) and totals(ana, stars) == T4(0)
    assert referral_of(ben).status == "LINKED" and ReferralCode.objects.get(code=ana_code).uses_count == 0
    assert referral_events(ana) == []


def test_the_referrers_reward_reversed_on_its_own_keeps_the_referees(ana, ana_code, brand, stars):
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    purchase = emit(ben, brand, value=30)
    (record,) = referral_events(ana)

    event_reverse(event_id=record.pk, reason="fraud by the referrer")
    assert totals(ana, stars) == T4(0) and totals(ben, stars) == T4(20)

    event_reverse(event_id=purchase.pk, reason="refund")  # the REFERRAL event is already reversed
    assert totals(ben, stars) == T4(0) and ReferralCode.objects.get(code=ana_code).uses_count == 0


def test_the_budget_caps_both_sides(ana, brand, stars):
    capped = referral_campaign(brand, stars, budget=110)
    ben = CustomerFactory(id="ben", referral_code=code_of(ana, capped, brand))
    emit(ben, brand, value=30)
    assert totals(ben, stars) == T4(20) and totals(ana, stars) == T4(90)  # 20 + 90 = the budget


def test_a_referrals_campaign_never_fires_as_a_behaviour_campaign(friends, brand, stars):
    stranger = CustomerFactory(id="stranger")
    event = emit(stranger, brand, value=30)
    assert event.rewarding_campaigns == [] and "referral" not in event.result


def test_a_referral_event_cannot_be_emitted(ana, brand):
    with pytest.raises(InvalidInput):
        emit(ana, brand, type="REFERRAL")


def test_the_referee_without_behavioral_consent_qualifies_nothing(ana, ana_code, brand, stars):
    ben = CustomerFactory(id="ben", referral_code=ana_code, consent={"purposes": {"behavioral_campaigns": False}})
    emit(ben, brand, value=30)
    assert totals(ben, stars) == T4(0) and totals(ana, stars) == T4(0) and referral_of(ben).status == "LINKED"


def test_a_global_campaign_works_at_any_brand(ana, stars):
    from tests.factories import BrandFactory, RewardFactory

    shop = BrandFactory(id="0009")
    points = RewardFactory(brand=None)
    everywhere = referral_campaign(None, points)
    ben = CustomerFactory(id="ben", referral_code=code_of(ana, everywhere, shop))
    emit(ben, shop, value=30)
    assert totals(ana, points) == T4(100) and totals(ben, points) == T4(20)
