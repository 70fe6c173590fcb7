"""Imported customers in the tier their metrics qualify for (after the customers import, with
their imported figures; after the events import, with their events): moved silently, with no
TIER_ADJUSTMENT event and no TIER_UPGRADE webhook, since the move is history, not a change a
customer made here (the import's audit entry or job says who moved the programme in)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from campaigns import cache as programme_cache
from events.rewarding import customer_tier_qualified
from wallets.models import Customer


def tiers_recompute(*, customer_ids: list[str], now: datetime) -> None:
    """Each customer in the tier its metrics qualify for now (either way): one metrics read per
    customer and one UPDATE per tier moved to; nothing when the programme has a single tier. The
    caller holds their wallet locks."""
    if len(programme_cache.tiers()) < 2:
        return
    moves: dict = defaultdict(list)
    for customer in Customer.objects.filter(pk__in=customer_ids):
        moved = customer_tier_qualified(customer=customer, event_type="PURCHASE", now=now)
        if moved is not None:
            moves[moved[1].id].append(customer.pk)
    for tier_id, ids in moves.items():
        Customer.objects.filter(pk__in=ids).update(tier_id=tier_id)
