"""What coupons announce to webhook endpoints (webhooks.outbox), inside the transaction of the
change (a rolled-back redemption announces nothing):

    COUPON_REDEMPTION   a code was redeemed (its event RESOLVED): the code, the use, the lines
                        granted and the wallet's totals after it
    COUPON_REVERSAL     a redemption was reversed (its event REVERSED, the use freed): the
                        same, the lines as they stand now (REVERSED)

An endpoint restricted to a brand gets its brand's redemptions only, and sees of the wallet
what a key restricted to that brand sees (events.selectors.result_for_brands). Nothing is read
when no endpoint listens.
"""

from __future__ import annotations

from events.selectors import result_for_brands, visible_rewards
from webhooks.outbox import subscribers, webhook_announce


def coupon_announce(name: str, *, event, use, campaign) -> None:
    version = getattr(event, "programme_version", None)
    if not subscribers(version):
        return

    def build(brands):
        result = event.result or {}
        if brands is not None:
            result = result_for_brands(result, brands=brands, rewards=visible_rewards(brands))
        return {
            "customer_id": event.customer_id,
            "event_id": str(event.pk),
            "brand_id": event.brand_id,
            "code": use.code.code,
            "campaign_id": str(campaign.pk),
            "used_at": use.used_at,
            "reversed_at": use.reversed_at,
            "accumulations": result.get("accumulations", []),
            "wallet": result.get("wallet"),
        }

    webhook_announce(name, brand_id=event.brand_id, data=build, version=version)
