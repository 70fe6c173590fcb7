import pytest

from tests.factories import CustomerFactory
from tests.referrals.helpers import code_of, referral_campaign


@pytest.fixture
def friends(brand, stars):
    """A running PURCHASE referral campaign (referrer 100 stars, referred customer 20) with at
    most 2 rewarded referrals per code."""
    return referral_campaign(brand, stars, max_uses=2)


@pytest.fixture
def ana(brand):
    return CustomerFactory(id="ana")


@pytest.fixture
def ana_code(ana, friends, brand):
    """Ana's code for the campaign."""
    return code_of(ana, friends, brand)
