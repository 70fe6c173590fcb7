"""What the programme's rules need from the database around one event: the facts conditions read,
per-customer limits, campaign budgets and tiers. Called only from events/services.py, inside its
transactions, after the wallet lock (lock order: event, wallet, then campaign rows by id).

- Limits: a campaign with `limit: {"count": N, "period": P}` rewards at most N events of one
  customer per period (lifetime; day, ISO week or month of the programme's time zone, the one
  holding the event's `issued_at`). Held and resolved events count; undone ones do not. The
  wallet lock serialises a customer's events, so the count cannot race.
- Budgets: a campaign's `budget` caps the total amount it grants while it has one. Grants are cut
  to what remains (rounded down to the reward's decimals) under the campaign row's lock; held
  grants count; cancellation, expiry and reversal give back what the event's lines were granted
  against the budget (each such line is marked `budgeted`). A budget set on a campaign that
  already granted counts those grants at once (campaigns.services.campaign_update).
- Tiers: after a RESOLVED event the customer moves up at once to the highest tier whose entry
  conditions hold (never down); a reversal recomputes (up or down). Each change is recorded as
  a TIER_ADJUSTMENT event.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from campaigns import cache as programme_cache
from campaigns.engine import CompiledCampaign, EventFacts, Grant
from campaigns.models import Campaign, EventType
from events.models import Event
from wallets.models import Customer, Wallet, WalletLine
from wallets.selectors import customer_metrics, exact


def facts_for(*, event_type: str, payload: dict, customer: Customer, version: int, at: datetime) -> EventFacts:
    """The facts of an event, with the customer as they stood before it."""
    tiers = programme_cache.tiers(version=version)
    base = tiers[-1] if tiers else None
    tier_id = str(customer.tier_id) if customer.tier_id else (base.id if base else None)
    level = next((t.level for t in tiers if t.id == tier_id), None)
    return EventFacts(
        event_type=event_type,
        payload={**payload, "issued_at": at},
        customer={"tags": customer.tags or {}, "tier_id": tier_id, "tier_level": level,
                  "registration_date": customer.registration_date},
        metrics=lambda: customer_metrics(customer_id=customer.pk, now=at),
    )


# ---- limits ----------------------------------------------------------------------------------------------


def period_start(period: str, at: datetime) -> datetime | None:
    if period == "lifetime":
        return None
    local = timezone.localtime(at)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if period == "day":
        start = day
    elif period == "week":
        start = day - timedelta(days=local.weekday())
    else:  # month
        start = day.replace(day=1)
    return timezone.make_aware(start)  # midnight as the zone has it that day (DST-safe)


def period_bounds(period: str, at: datetime) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the period holding `at` in the programme's time zone; (None, None) for lifetime."""
    start = period_start(period, at)
    if start is None:
        return None, None
    local = timezone.localtime(start).replace(tzinfo=None)
    if period == "day":
        end = local + timedelta(days=1)
    elif period == "week":
        end = local + timedelta(days=7)
    else:
        end = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, timezone.make_aware(end)


def within_limits(campaigns: list[CompiledCampaign], *, wallet: Wallet, customer_id: str,
                  at: datetime) -> list[CompiledCampaign]:
    """Drop the campaigns that already rewarded this customer `count` times in the period."""
    limited = {c.id: c for c in campaigns if c.limit}
    if not limited:
        return campaigns
    bounds = {cid: period_bounds(c.limit["period"], at) for cid, c in limited.items()}
    live = Event.objects.filter(customer_id=customer_id, status__in=Event.LIVE)
    if all(start is not None for start, _ in bounds.values()):
        live = live.filter(issued_at__gte=min(start for start, _ in bounds.values()),
                           issued_at__lt=max(end for _, end in bounds.values()))
    rewarded: dict = defaultdict(set)
    for campaign_id, event_id, issued_at in (
        WalletLine.objects.filter(wallet=wallet, campaign_id__in=list(limited), event_id__in=live.values("id"))
        .values_list("campaign_id", "event_id", "issued_at").distinct()
    ):
        start, end = bounds[campaign_id]
        if start is None or start <= issued_at < end:
            rewarded[campaign_id].add(event_id)
    return [c for c in campaigns if c.id not in limited or len(rewarded[c.id]) < int(c.limit["count"])]


# ---- budgets ---------------------------------------------------------------------------------------------


def _budget_update(deltas: dict) -> None:
    """Add each delta to its campaign's budget_used in one batched statement (no signal: the
    programme's version does not move for a counter)."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE campaigns_campaign SET budget_used = budget_used + %s WHERE id = %s",
            [(connection.ops.adapt_decimalfield_value(delta, 20, 4), Campaign._meta.pk.get_db_prep_value(cid, connection))
             for cid, delta in sorted(deltas.items(), key=lambda kv: str(kv[0])) if delta],
        )


def _lock_budgets(campaign_ids) -> dict:
    return {
        cid: (budget, used)
        for cid, budget, used in Campaign.objects.select_for_update().filter(pk__in=list(campaign_ids))
        .order_by("pk").values_list("pk", "budget", "budget_used")
    }


def within_budgets(grants: list[Grant], campaigns: list[CompiledCampaign], decimals: dict[str, int]) -> list[Grant]:
    """Cut grants of budgeted campaigns to what their budgets have left, and count them used."""
    budgeted = {c.id for c in campaigns if c.budget is not None}
    if not budgeted or not any(g.campaign_id in budgeted for g in grants):
        return grants
    state = _lock_budgets({g.campaign_id for g in grants if g.campaign_id in budgeted})
    used: dict = defaultdict(Decimal)
    out = []
    for grant in grants:
        if grant.campaign_id not in state:
            out.append(grant)
            continue
        budget, already = state[grant.campaign_id]
        left = budget - already - used[grant.campaign_id]
        amount = min(grant.amount, left).quantize(Decimal(1).scaleb(-decimals[grant.reward_id]), rounding=ROUND_DOWN)
        if amount > 0:
            used[grant.campaign_id] += amount
            out.append(Grant(grant.campaign_id, grant.rule_id, grant.reward_id, amount, grant.expiration,
                             budgeted=True))
    _budget_update(used)
    return out


def budgets_give_back(*, event_id) -> None:
    """An undone event returns to each campaign what its lines were granted against the
    campaign's budget (lines granted while the campaign had no budget were never counted)."""
    granted = dict(
        WalletLine.objects.filter(event_id=event_id, budgeted=True)
        .values_list("campaign_id").annotate(s=Sum("amount"))
    )
    granted = {cid: exact(amount) for cid, amount in granted.items()}
    if granted:
        _lock_budgets(granted)
        _budget_update({cid: -amount for cid, amount in granted.items()})


# ---- tiers -----------------------------------------------------------------------------------------------


def tier_update(*, customer: Customer, event: Event, now: datetime, version: int | None = None,
                upgrade_only: bool) -> None:
    """Move the customer to the tier their metrics (after `event`) qualify for: only upward
    after a RESOLVED event, either way after a reversal. Records a TIER_ADJUSTMENT event."""
    tiers = programme_cache.tiers(version=version)
    if len(tiers) < 2:
        return
    base = tiers[-1]
    current_id = str(customer.tier_id) if customer.tier_id else base.id
    current = next((t for t in tiers if t.id == current_id), base)
    facts = EventFacts(
        event_type=event.type_id, payload={"issued_at": now},
        customer={"tags": customer.tags or {}, "tier_id": current.id, "tier_level": current.level,
                  "registration_date": customer.registration_date},
        metrics=lambda: customer_metrics(customer_id=customer.pk, now=now),
    )
    target = next((t for t in tiers if t.qualifies(facts)), base)
    if target.id == current.id or (upgrade_only and target.level <= current.level):
        return
    Customer.objects.filter(pk=customer.pk).update(tier_id=target.id)
    customer.tier_id = target.id
    adjustment = Event.objects.create(
        customer_id=customer.pk, brand_id=event.brand_id, type=EventType.objects.get(pk="TIER_ADJUSTMENT"),
        status=Event.Status.RESOLVED, fulfilled=True, issued_at=now, resolved_at=now,
        data={"from_tier_id": current.id, "to_tier_id": target.id, "from_level": current.level,
              "to_level": target.level, "cause_event_id": str(event.pk),
              "cause": "reversal" if not upgrade_only else "event"},
    )
    adjustment.transitions.create(from_status="", to_status=Event.Status.RESOLVED, at=now, source="engine",
                                  reason=f"tier {current.level} -> {target.level} after event {event.pk}")
