"""Reads of coupons: a campaign's codes summary and whether a customer may still use one of its
codes. `used`, `total` and `left` count uses (a code of `max_uses: 5` is 5 of the total), so
that single-use codes and shared codes read alike; `codes` is the number of codes."""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Campaign
from coupons.models import CouponCode, CouponUse
from events.rewarding import campaigns_within_limits
from wallets.models import Customer


def codes_summary(*, campaign: Campaign) -> dict:
    sums = CouponCode.objects.filter(campaign=campaign).aggregate(
        used=Coalesce(Sum("uses_count"), 0), total=Coalesce(Sum("max_uses"), 0), codes=Count("id")
    )
    return {**sums, "left": sums["total"] - sums["used"]}


def customer_may_redeem(*, campaign: Campaign, customer: Customer) -> bool:
    """The campaign is running, the customer is within its per-customer limit, and one of its
    codes has a use left that the customer's own limit on that code allows (the first such
    code ends the search: cheap whatever the number of codes)."""
    now = timezone.now()
    if campaign.type != Campaign.Type.COUPONS or campaign.derived_status(now) != "RUNNING":
        return False
    if campaign.limit:
        from campaigns.engine import compile_campaign

        compiled = compile_campaign(
            id=campaign.pk, brand_id=campaign.brand_id, rules=[], limit=campaign.limit, start_date=campaign.start_date
        )
        if not campaigns_within_limits([compiled], wallet=customer.wallet, customer_id=customer.pk, at=now):
            return False
    mine = (
        CouponUse.objects.filter(code=OuterRef("pk"), customer=customer, reversed_at__isnull=True)
        .values("code")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        CouponCode.objects.filter(campaign=campaign, uses_count__lt=F("max_uses"))
        .annotate(mine=Coalesce(Subquery(mine), 0))
        .filter(mine__lt=F("max_uses_per_customer"))
        .exists()
    )


def customer_uses(*, campaign: Campaign, customer: Customer) -> int:
    """The customer's live uses of the campaign's codes."""
    return CouponUse.objects.filter(code__campaign=campaign, customer=customer, reversed_at__isnull=True).count()
