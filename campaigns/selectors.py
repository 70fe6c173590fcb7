"""Reads of the programme worth naming."""
from datetime import datetime

from django.db.models import Q

from campaigns.engine import CompiledCampaign
from campaigns.models import Campaign, Reward


def running_campaigns(*, brand_id: str, trigger: str, at: datetime) -> tuple[list[CompiledCampaign], dict[str, int]]:
    """The ACTIVE campaigns of this brand (or global) for this trigger whose window holds `at`,
    and the decimals of every reward their effects grant. Two queries, whatever their number."""
    campaigns = list(
        Campaign.objects.filter(
            Q(brand_id=brand_id) | Q(brand__isnull=True),
            trigger_id=trigger,
            status=Campaign.Status.ACTIVE,
            type=Campaign.Type.BEHAVIOR,
            start_date__lte=at,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=at))
        .order_by("created_at", "id")
        .values("id", "brand_id", "rules")
    )
    reward_ids = {str(e["reward_id"]) for c in campaigns for r in c["rules"] for e in r.get("effects", [])}
    decimals = {str(pk): d for pk, d in Reward.objects.filter(pk__in=reward_ids).values_list("pk", "decimals")} if reward_ids else {}
    return [CompiledCampaign(c["id"], c["brand_id"], c["rules"]) for c in campaigns], decimals
