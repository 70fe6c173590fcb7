"""Building referral programmes through the services, as the API and the admin do."""

from datetime import UTC, datetime

from campaigns.models import Campaign
from campaigns.services import campaign_create
from referrals.models import Referral
from referrals.services import referral_code_request
from tests.factories import fixed_rule

START = datetime(2020, 1, 1, tzinfo=UTC)


def referral_campaign(brand, reward, *, referrer=100, referee=20, trigger="PURCHASE", max_uses=None, **extra):
    """A running REFERRALS campaign: the referrer earns `referrer`, the referred customer
    `referee` (FIXED, of `reward`), on the referred customer's first `trigger` event."""
    return campaign_create(
        brand_id=brand.pk if brand else None,
        name=f"Bring a friend ({trigger})",
        type=Campaign.Type.REFERRALS,
        trigger=trigger,
        start_date=START,
        rules=[fixed_rule(reward, amount=referrer)] if referrer else [],
        referee_rules=[fixed_rule(reward, amount=referee)] if referee else [],
        referral_max_uses=max_uses,
        **extra,
    )


def code_of(customer, campaign, brand) -> str:
    return referral_code_request(customer_id=customer.pk, campaign_id=campaign.pk, brand_id=brand.pk)[0].code


def referral_of(referee) -> Referral | None:
    return Referral.objects.filter(referee_id=referee.pk).first()
