"""The dashboard's reads (the admin index, backoffice.templatetags): a fixed handful of queries
on the summary tables and on small tables, whatever the size of the ledger.

- Rewards per day (last 30 days, programme time zone), from LedgerDay: issued (ACCUMULATION
  credits: grants posted, held ones when fulfilled), redeemed (REDEMPTION debits), expired
  (EXPIRATION debits) and reversed (REVERSAL debits: grants taken back; a REVERSAL credit is a
  redemption given back, shown as "returned").
- Events per day by status: the status changes of that day (EventTransition rows), not the
  events issued that day by their current status: transitions are append-only, so a past day
  never changes and rolls up once.
- Liability per reward, live from WalletTotal (one GROUP BY; no summary needed at 100,000
  wallets): available (balance - reserved, net of debts; lines past their date count until the
  expiry sweep books them), reserved, pending (held grants) and debt, and the money value of
  available, reserved and pending at the reward's conversion factor, exactly (Decimal).
- Top campaigns by amount granted in the last 30 days (LedgerDay), and by budget used.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from backoffice.models import EventStatusDay, LedgerDay, RollupRun
from campaigns.models import Campaign, Reward
from core.amounts import cost_of, exact
from events.models import Event
from wallets.models import Transaction, WalletTotal

T = Transaction.Type
ZERO = Decimal(0)
DAYS = 30
TOP = 10
# (key, label, type, column, sign): what each figure of a day sums
FIGURES = [
    ("issued", "issued", T.ACCUMULATION, "credit", 1),
    ("redeemed", "redeemed", T.REDEMPTION, "debit", -1),
    ("expired", "expired", T.EXPIRATION, "debit", -1),
    ("reversed", "reversed", T.REVERSAL, "debit", -1),
    ("returned", "redemptions returned", T.REVERSAL, "credit", 1),
]
STATUSES = [s.value for s in Event.Status]


def dashboard_days(*, now: datetime, days: int = DAYS) -> list[date]:
    last = timezone.localdate(now)
    return [last - timedelta(days=n) for n in range(days - 1, -1, -1)]


def rewards_per_day(*, days: list[date]) -> dict:
    """{reward id: {figure key: {day: amount}}} of the rewards with ledger rows in `days`."""
    rows = (
        LedgerDay.objects.filter(day__gte=days[0], day__lte=days[-1], type__in={f[2] for f in FIGURES})
        .values_list("reward_id", "day", "type")
        .annotate(credit=Sum("credit"), debit=Sum("debit"))
        .order_by()
    )
    out: dict = defaultdict(lambda: {f[0]: {} for f in FIGURES})
    for reward_id, day, type_, credit, debit in rows:
        sums = {"credit": exact(credit), "debit": exact(debit)}
        for key, _label, figure_type, column, sign in FIGURES:
            if figure_type == type_ and sums[column]:
                out[str(reward_id)][key][day] = sign * sums[column]
    return dict(out)


def events_per_day(*, days: list[date]) -> dict:
    """{status: {day: count}} of the status changes in `days`."""
    out: dict = {status: {} for status in STATUSES}
    rows = EventStatusDay.objects.filter(day__gte=days[0], day__lte=days[-1]).values_list("status", "day", "count")
    for status, day, count in rows:
        out.setdefault(status, {})[day] = out.get(status, {}).get(day, 0) + count
    return out


def liability(*, rewards: dict) -> list[dict]:
    """What the wallets hold of each reward now, and its money value (None: no conversion factor)."""
    rows = (
        WalletTotal.objects.values_list("reward_id")
        .annotate(balance=Sum("balance"), reserved=Sum("reserved"), pending=Sum("pending"), debt=Sum("debt"))
        .order_by()
    )
    out = []
    for reward_id, balance, reserved, pending, debt in rows:
        reward = rewards.get(str(reward_id))
        factor = reward.conversion_factor if reward else None
        amounts = {"reserved": exact(reserved), "pending": exact(pending), "debt": exact(debt)}
        amounts["available"] = exact(balance) - amounts["reserved"]
        if not any(amounts.values()):
            continue
        out.append(
            {
                "reward_id": str(reward_id),
                "reward": reward,
                "factor": factor,
                **amounts,
                **{f"{k}_value": cost_of(amounts[k], factor) for k in ("available", "reserved", "pending")},
            }
        )
    return sorted(out, key=lambda r: (-(r["available_value"] or ZERO), r["reward_id"]))


def top_campaigns(*, days: list[date]) -> tuple[list[dict], list[Campaign]]:
    """(campaign x reward granted in `days`, most first; campaigns with a budget by budget used)."""
    granted = list(
        LedgerDay.objects.filter(day__gte=days[0], day__lte=days[-1], type=T.ACCUMULATION, campaign_id__isnull=False)
        .values_list("campaign_id", "reward_id")
        .annotate(granted=Sum("credit"))
        .order_by("-granted", "campaign_id")[:TOP]
    )
    campaigns = Campaign.objects.in_bulk([c for c, _r, _g in granted])
    by_granted = [
        {"campaign": campaigns.get(c), "campaign_id": str(c), "reward_id": str(r), "granted": exact(g)}
        for c, r, g in granted
    ]
    by_budget = list(Campaign.objects.filter(budget__isnull=False, budget__gt=0).order_by("-budget_used", "pk")[:TOP])
    return by_granted, by_budget


def dashboard(*, now: datetime | None = None) -> dict:
    """Everything the dashboard shows, read from the summary tables and small tables."""
    now = now or timezone.now()
    days = dashboard_days(now=now)
    rewards = {str(r.pk): r for r in Reward.objects.all()}
    per_reward = rewards_per_day(days=days)
    by_granted, by_budget = top_campaigns(days=days)
    for row in by_granted:
        row["reward"] = rewards.get(row["reward_id"])
    return {
        "now": now,
        "days": days,
        "run": RollupRun.objects.filter(pk=1).first(),
        "rewards": rewards,
        "per_reward": per_reward,
        "events": events_per_day(days=days),
        "liability": liability(rewards=rewards),
        "by_granted": by_granted,
        "by_budget": by_budget,
    }
