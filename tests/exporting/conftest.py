"""One programme with every kind of holding, built through the services (issue 14, item 3):

brand 0001 "Cafe Central": Stars (factor 0.1), 1 per 10 spent, expiring after 12 months;
ADD_TO_CART grants 4 Coins there. Brand 0002: each purchase grants 6 Coins (a global reward,
factor 0.25) and 1 Voucher (brand 0002, no conversion factor).

- cust-1: 10 stars (e1) and 3 stars (e2), spends 10 (e3), e1 reversed: 3 available, debt 10;
  4 coins at 0001.
- cust-2: 5 stars held (pending), 8 stars of which 3 reserved by a held redemption; 6 coins and
  1 voucher at 0002.
"""

import pytest

from events.services import event_reverse
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, fixed_rule
from tests.helpers import emit


@pytest.fixture
def programme(brand, stars, star_campaign):
    from campaigns.models import EventType

    other = BrandFactory(id="0002", name="Bakery")
    coins = RewardFactory(brand=None, name="Coins", decimals=2, attributes={"conversion_factor": "0.25"})
    vouchers = RewardFactory(brand=other, name="Vouchers", attributes={})
    cart = EventType.objects.get(pk="ADD_TO_CART")
    CampaignFactory(brand=brand, trigger=cart, rules=[fixed_rule(coins, amount=4)])
    CampaignFactory(brand=other, rules=[fixed_rule(coins, amount=6), fixed_rule(vouchers, amount=1)])
    one, two = CustomerFactory(id="cust-1"), CustomerFactory(id="cust-2")
    e1 = emit(one, brand, value=100, purchase_id="e1")
    emit(one, brand, value=30, purchase_id="e2")
    emit(one, brand, redeem=[(stars, 10)])
    event_reverse(event_id=e1.pk, reason="refund")
    emit(one, brand, type="ADD_TO_CART")
    emit(two, brand, value=50, purchase_id="held", fulfilled=False)
    emit(two, brand, value=80, purchase_id="e5")
    emit(two, brand, redeem=[(stars, 3)], fulfilled=False)
    emit(two, other, purchase_id="b1")
    return {
        "stars": stars,
        "coins": coins,
        "vouchers": vouchers,
        "brand": brand,
        "other": other,
        "customers": [one, two],
    }
