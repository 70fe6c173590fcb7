"""What the programme's rules need from the database around one event: the facts conditions read,
per-customer limits, campaign budgets and tier moves applied to one event. Called only from
events.services, inside its transactions, after the wallet lock (lock order: event, wallet, then campaign rows by id).

- Limits: a campaign with `limit: {"count": N, "period": P}` rewards at most N events of one
  customer per period (lifetime; day, ISO week or month of the programme's time zone, the one
  holding the event's `issued_at`). Held and resolved events count; undone ones do not. The
  wallet lock serialises a customer's events, so the count cannot race.
- Budgets: a campaign's `budget` caps the total amount it grants while it has one. Grants are cut
  to what remains (rounded down to the reward's decimals) under the campaign row's lock, which
  every event that fires a budgeted campaign takes; every event that fires a campaign also holds
  its edit lock (shared), so that an edit of the campaign and the event are serialised (`grants_under_campaign_locks`); held
  grants count; cancellation, expiry and reversal give back what the event's lines were granted
  against the budget (each such line is marked `budgeted`). A budget set on a campaign that
  already granted counts those grants at once (campaigns.services.campaign_update asks
  `campaign_past_grants`, which events.apps registers with it).
- Tiers: after a RESOLVED event the customer moves up at once to the highest tier whose entry
  conditions hold (never down); a reversal recomputes (up or down). Each change is recorded as
  a TIER_ADJUSTMENT event.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db.models import Sum
from django.utils import timezone

from campaigns import cache as programme_cache
from campaigns.engine import CompiledCampaign, EventFacts, Grant, customer_facts
from campaigns.models import Campaign, EventType
from campaigns.services import campaign_budgets_add, campaign_budgets_lock, campaigns_lock_for_event
from core.amounts import exact, quantum
from core.clock import month_of, month_shift, month_start
from events.models import Event
from events.status import Source, event_transition
from wallets.models import Customer, Wallet, WalletLine
from wallets.selectors import customer_metrics
from wallets.services import customer_tier_set, lines_count_against_budget


def event_facts(*, event_type: str, payload: dict, customer: Customer, version: int, at: datetime) -> EventFacts:
    """The facts of an event, with the customer as they stood before it."""
    return EventFacts(
        event_type=event_type,
        payload={**payload, "issued_at": at},
        customer=_customer_facts(customer, programme_cache.tiers(version=version)),
        metrics=lambda: customer_metrics(customer_id=customer.pk, now=at),
    )


def _customer_facts(customer: Customer, tiers: list) -> dict:
    tier_id = str(customer.tier_id)
    level = next((t.level for t in tiers if t.id == tier_id), None)
    return customer_facts(
        tags=customer.tags, tier_id=tier_id, tier_level=level, registration_date=customer.registration_date
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
    if period == "month":
        return start, month_start(month_shift(month_of(start), 1))
    local = timezone.localtime(start).replace(tzinfo=None)
    return start, timezone.make_aware(local + timedelta(days=1 if period == "day" else 7))


def campaigns_within_limits(
    campaigns: list[CompiledCampaign], *, wallet: Wallet, customer_id: str, at: datetime
) -> list[CompiledCampaign]:
    """Drop the campaigns that already rewarded this customer `count` times in the period."""
    limited = {c.id: c for c in campaigns if c.limit}
    if not limited:
        return campaigns
    bounds = {cid: period_bounds(c.limit["period"], at) for cid, c in limited.items()}
    live = Event.objects.filter(customer_id=customer_id, status__in=Event.LIVE)
    if all(start is not None for start, _ in bounds.values()):
        live = live.filter(
            issued_at__gte=min(start for start, _ in bounds.values()),
            issued_at__lt=max(end for _, end in bounds.values()),
        )
    rewarded: dict = defaultdict(set)
    for campaign_id, event_id, issued_at in (
        WalletLine.objects.filter(wallet=wallet, campaign_id__in=list(limited), event_id__in=live.values("id"))
        .values_list("campaign_id", "event_id", "issued_at")
        .distinct()
    ):
        start, end = bounds[campaign_id]
        if start is None or start <= issued_at < end:
            rewarded[campaign_id].add(event_id)
    return [c for c in campaigns if c.id not in limited or len(rewarded[c.id]) < int(c.limit["count"])]


# ---- budgets ---------------------------------------------------------------------------------------------


class ProgrammeChanged(Exception):
    """A campaign that fired was edited after the compiled programme was read: the event must be
    evaluated again with the programme as it stands now (events.services.emit does, in a fresh
    savepoint). Never leaves the services."""


def grants_under_campaign_locks(
    grants: list[Grant], campaigns: list[CompiledCampaign], decimals: dict[str, int]
) -> list[Grant]:
    """Serialise the event with any edit of the campaigns that fired, then cut the budgeted
    grants to what their budgets have left and count them used.

    Every campaign that fired is locked (campaigns.services.campaigns_lock_for_event: its edit
    lock shared, which concurrent events share, and its row FOR UPDATE if the compiled programme
    says it has a budget). An edit (campaign_update takes the edit lock exclusively) therefore
    either waits for this event to commit (and then sees its lines, e.g. when it back-fills a
    new budget) or committed before the lock was granted: then the row's revision differs from
    the compiled one and ProgrammeChanged makes the caller evaluate again. What is used is the
    row as read under the lock."""
    fired = {str(g.campaign_id) for g in grants}
    if not fired:
        return grants
    compiled = {str(c.id): c for c in campaigns if str(c.id) in fired}
    rows = campaigns_lock_for_event(
        budgeted={cid for cid, c in compiled.items() if c.budget is not None}, fired=set(compiled)
    )
    if any(cid not in rows or rows[cid].revision != c.revision for cid, c in compiled.items()):
        raise ProgrammeChanged
    left = {cid: None if row.budget is None else row.budget - row.budget_used for cid, row in rows.items()}
    out, used = grants_cut_to_budgets(grants, left=left, decimals=decimals)
    campaign_budgets_add(used)
    return out


def grants_cut_to_budgets(grants: list[Grant], *, left: dict, decimals: dict) -> tuple[list[Grant], dict]:
    """The grants cut, in order, to what their campaigns' budgets have left (`left`: {campaign
    id (text): amount, or None without a budget}), each amount rounded down to its reward's
    `decimals` ({reward id: places}) and marked budgeted; grants cut to nothing are dropped.
    Returns them and what they use of each budget ({campaign id: amount}), for
    campaign_budgets_add. The caller holds the budgeted campaigns' rows."""
    used: dict = defaultdict(Decimal)
    out = []
    for grant in grants:
        room = left.get(str(grant.campaign_id))
        if room is None:
            out.append(grant)
            continue
        amount = min(grant.amount, room - used[grant.campaign_id]).quantize(
            quantum(decimals[grant.reward_id]), rounding=ROUND_DOWN
        )
        if amount > 0:
            used[grant.campaign_id] += amount
            out.append(
                Grant(grant.campaign_id, grant.rule_id, grant.reward_id, amount, grant.expiration, budgeted=True)
            )
    return out, used


def budgets_give_back(*, event_id, lines: list[WalletLine] | None = None) -> None:
    """An undone event returns to each campaign what its lines were granted against the
    campaign's budget (lines granted while the campaign had no budget were never counted).
    `lines`: every line of the event, when the caller holds them (wallets.ledger.Ledger.event_lines)."""
    if lines is None:
        granted = dict(
            WalletLine.objects.filter(event_id=event_id, budgeted=True)
            .values_list("campaign_id")
            .annotate(s=Sum("amount"))
        )
        granted = {cid: exact(amount) for cid, amount in granted.items()}
    else:
        granted = defaultdict(Decimal)
        for line in lines:
            if line.budgeted:
                granted[line.campaign_id] += line.amount
        granted = dict(granted)
    if granted:
        campaign_budgets_lock(granted)
        campaign_budgets_add({cid: -amount for cid, amount in granted.items()})


def campaign_past_grants(campaign: Campaign) -> Decimal:
    """What a campaign without a budget has granted to live events, now counted against the
    budget it is being given (registered with campaigns.services by events.apps)."""
    lines = WalletLine.objects.filter(
        campaign=campaign, event_id__in=Event.objects.filter(status__in=Event.LIVE).values("id")
    )
    return lines_count_against_budget(lines=lines)


# ---- tiers -----------------------------------------------------------------------------------------------


def customer_tier_qualified(*, customer: Customer, event_type: str, now: datetime, version: int | None = None):
    """(current tier, the tier the customer's metrics qualify for now) of the compiled programme,
    or None when that is the current one (or the programme has a single tier)."""
    tiers = programme_cache.tiers(version=version)
    if len(tiers) < 2:
        return None
    current = next((t for t in tiers if t.id == str(customer.tier_id)), tiers[-1])  # a tier added mid-flight
    facts = EventFacts(
        event_type=event_type,
        payload={"issued_at": now},
        customer=_customer_facts(customer, tiers),
        metrics=lambda: customer_metrics(customer_id=customer.pk, now=now),
    )
    target = next((t for t in tiers if t.qualifies(facts)), tiers[-1])
    return None if target.id == current.id else (current, target)


def customer_tier_recompute(
    *, customer: Customer, event: Event, now: datetime, version: int | None = None, upgrade_only: bool
) -> None:
    """Move the customer to the tier their metrics (after `event`) qualify for: only upward
    after a RESOLVED event, either way after a reversal. Records a TIER_ADJUSTMENT event. The
    caller holds the customer's wallet lock."""
    moved = customer_tier_qualified(customer=customer, event_type=event.type_id, now=now, version=version)
    if moved is None:
        return
    current, target = moved
    if upgrade_only and target.level <= current.level:
        return
    customer_tier_set(customer=customer, tier_id=target.id)
    adjustment = Event(
        customer_id=customer.pk,
        brand_id=event.brand_id,
        type=EventType.objects.get(pk="TIER_ADJUSTMENT"),
        fulfilled=True,
        issued_at=now,
        data={
            "from_tier_id": current.id,
            "to_tier_id": target.id,
            "from_level": current.level,
            "to_level": target.level,
            "cause_event_id": str(event.pk),
            "cause": "reversal" if not upgrade_only else "event",
        },
    )
    adjustment.programme_version = version  # events.announce
    event_transition(
        adjustment,
        Event.Status.RESOLVED,
        at=now,
        source=Source.ENGINE,
        insert=True,
        reason=f"tier {current.level} -> {target.level} after event {event.pk}",
    )
