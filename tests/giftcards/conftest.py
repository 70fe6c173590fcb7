"""A GIFT_CARD reward with its pool, and a campaign handing one card to every purchase."""

import pytest

from giftcards.services import gift_cards_load
from tests.factories import CampaignFactory, RewardFactory, fixed_rule


@pytest.fixture
def gift(brand):
    return RewardFactory(brand=brand, name="Gift card 10", type="GIFT_CARD", decimals=0, attributes={})


@pytest.fixture
def gift_campaign(brand, gift, stars):
    """Every purchase: 1 gift card and 5 stars."""
    return CampaignFactory(brand=brand, rules=[fixed_rule(gift, amount=1), fixed_rule(stars, amount=5)])


def load(reward, *codes, **kwargs):
    """Load codes into the reward's pool through the service; returns its answer."""
    return gift_cards_load(reward_id=reward.pk, codes=[{"code": c} for c in codes], **kwargs)
