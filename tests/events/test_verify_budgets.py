"""`verify_ledger` (events.selectors.ledger_problems, also run after every test by conftest)
proves each campaign's `budget_used` equals what its lines counted against a budget granted to
live events (issue 15): the counter the budget cut reads is exactly the grants it let through."""

from decimal import Decimal

import pytest
from django.db.models import F

from campaigns.models import Campaign
from campaigns.services import campaign_update
from events.selectors import budget_drift, ledger_problems
from events.services import event_reverse
from tests.events.test_commands import run_failing
from tests.factories import CampaignFactory, CustomerFactory, fixed_rule
from tests.helpers import budget_used, emit, run_command
from wallets.models import WalletLine

pytestmark = pytest.mark.django_db

D = Decimal


def test_budget_counters_stay_proven_through_a_budgets_whole_life(brand, stars):
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)])
    first = emit(CustomerFactory(), brand)  # granted without a budget
    campaign_update(campaign_id=campaign.pk, budget=D(45))  # counts the past 10
    held = emit(CustomerFactory(), brand, fulfilled=False)  # held grants count
    emit(CustomerFactory(), brand)  # kept: its 10 stays counted
    event_reverse(event_id=first.pk, reason="refund")  # gives its 10 back
    campaign_update(campaign_id=campaign.pk, budget=None)  # the counter and marks stay
    emit(CustomerFactory(), brand)  # not budgeted
    campaign_update(campaign_id=campaign.pk, budget=D(100))  # recounts every live grant
    event_reverse(event_id=held.pk, reason="cancelled order")

    assert budget_used(campaign) == 20  # kept's 10 and the unbudgeted one's 10, now counted
    assert budget_drift() == []
    out, err = run_command("verify_ledger")
    assert "ledger clean" in out and err == ""


@pytest.mark.ledger_drift_expected
def test_verify_ledger_names_a_campaign_whose_counter_drifted(brand, stars):
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)], budget=D(100))
    emit(CustomerFactory(), brand)
    Campaign.objects.filter(pk=campaign.pk).update(budget_used=F("budget_used") + 3)

    error, out, err = run_failing("verify_ledger")

    assert "drift" in str(error)
    assert f"campaign {campaign.pk}: budget_used is 13.0000, its budgeted live grants sum to 10.0000" in err
    assert ledger_problems() != []


@pytest.mark.ledger_drift_expected
def test_verify_ledger_names_a_grant_that_escaped_its_budget(brand, stars):
    """The failure of issue 15 item 2: a line of a budgeted campaign not counted against it."""
    campaign = CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=10)], budget=D(100))
    emit(CustomerFactory(), brand)
    emit(CustomerFactory(), brand)
    WalletLine.objects.filter(pk=WalletLine.objects.filter(campaign=campaign).first().pk).update(budgeted=False)

    assert budget_drift() == [
        f"campaign {campaign.pk}: budget_used is 20.0000, its budgeted live grants sum to 10.0000"
    ]
