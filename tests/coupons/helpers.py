"""Coupon campaigns built through the services, and redeeming and reversing as the API does."""

from campaigns.models import Campaign
from coupons.services import coupon_codes_add, coupon_redeem, coupon_reverse
from tests.factories import CampaignFactory, fixed_rule


def coupon_campaign(brand, reward, *, amount=50, codes=(), max_uses=1, max_uses_per_customer=1, **fields):
    """A running COUPONS campaign granting `amount` of `reward` per redemption, with `codes` (supplied)."""
    rules = fields.pop("rules", None) or [fixed_rule(reward, amount=amount)]
    campaign = CampaignFactory(
        brand=brand, type=Campaign.Type.COUPONS, trigger_id="COUPON_REDEMPTION", rules=rules, **fields
    )
    if codes:
        coupon_codes_add(
            campaign_id=campaign.pk, codes=list(codes), max_uses=max_uses, max_uses_per_customer=max_uses_per_customer
        )
    return campaign


def redeem(customer, code, brand=None, **extra):
    return coupon_redeem(customer_id=customer.pk, code=code, brand_id=brand.pk if brand else None, **extra)


def reverse(customer, code, **extra):
    return coupon_reverse(customer_id=customer.pk, code=code, **extra)
