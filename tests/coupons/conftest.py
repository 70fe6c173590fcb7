import pytest

from coupons.services import coupon_codes_add
from tests.coupons.helpers import coupon_campaign


@pytest.fixture
def summer(brand, stars):
    """A running coupon campaign of 50 stars with the single-use code SUMMER-1, and SHARED-3 for
    3 uses (1 per customer)."""
    campaign = coupon_campaign(brand, stars, codes=["SUMMER-1"])
    coupon_codes_add(campaign_id=campaign.pk, codes=["SHARED-3"], max_uses=3)
    return campaign
