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

The liability report (`liability_report`: the admin's liability page, `manage.py
liability_report`) goes further than the dashboard's figure: per reward *and brand* (the brand
of the lines: where the amounts were earned), live from the wallet lines in one GROUP BY, with
what is spendable now apart from what sits past its date awaiting the expiry sweep.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext

from django.db.models import F, Q, Sum
from django.utils import timezone

from backoffice.models import EventStatusDay, LedgerDay, RollupRun
from campaigns.models import Brand, Campaign, Reward
from core.amounts import QUANTUM, cost_of, exact
from core.clock import db_now
from events.models import Event
from wallets.models import Transaction, WalletLine, WalletTotal

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


# ---- the liability report ------------------------------------------------------------------------

LIABILITY_AMOUNTS = ("available", "reserved", "pending", "past_date", "debt", "outstanding")
L = WalletLine.State


def liability_report(*, brand_id: str | None = None, now: datetime | None = None) -> dict:
    """What the wallets hold now, per reward and brand, with its money value (amount x the
    reward's conversion factor, exact; None for a reward without one). Two GROUP BY queries
    (lines, debts) and two small lookups, whatever the number of customers.

    Per (reward, brand of the lines):
    - available: spendable now (remaining less reserved of AVAILABLE lines not past their date);
    - reserved: held for held events' redemptions (fulfilment consumes it, cancellation returns
      it), on any line, an expired one included, as the wallet totals count it;
    - pending: held events' grants (PENDING lines), a contingent liability, not spendable;
    - past_date: AVAILABLE lines past their date the expiry sweep has not booked yet (not
      spendable, not owed: the next sweep expires it; shown so that the figures reconcile with
      the totals: available + past_date - debt = sum of balance - reserved);
    - debt: points reversed after they were spent. A debt belongs to a wallet and a reward, not to
      a brand: it is shown on the row of the reward's own brand (no brand for a global reward);
    - outstanding = available + reserved - debt: what the programme owes now.

    With `brand_id`, that brand's rows only. `rows` are sorted by reward and brand; `rewards`
    has one subtotal per reward (one reward's amounts add up); `brands` and `total` add up
    money values only (different rewards' amounts do not add), and name in `unvalued` the
    rewards without a factor they leave out."""
    now = now or db_now()
    live = Q(expiration_date__isnull=True) | Q(expiration_date__gt=now)
    free = F("remaining") - F("reserved")
    # EXPIRED and REVERSED lines hold nothing but what a held event reserves: most of history is skipped
    lines = WalletLine.objects.filter(Q(state__in=[L.AVAILABLE, L.PENDING]) | Q(reserved__gt=0))
    debts = WalletTotal.objects.filter(debt__gt=0)
    if brand_id is not None:
        lines = lines.filter(brand_id=brand_id)
        debts = debts.filter(reward__brand_id=brand_id)
    figures: dict = defaultdict(lambda: dict.fromkeys(LIABILITY_AMOUNTS[:-1], _places(0)))
    grouped = lines.values_list("reward_id", "brand_id").annotate(
        available=Sum(free, filter=Q(state=L.AVAILABLE) & live),
        past_date=Sum(free, filter=Q(state=L.AVAILABLE) & ~live),
        reserved=Sum("reserved"),
        pending=Sum("amount", filter=Q(state=L.PENDING)),
    )
    for reward_id, line_brand, available, past_date, reserved, pending in grouped.order_by():
        figures[(reward_id, line_brand)].update(
            available=_places(available),
            past_date=_places(past_date),
            reserved=_places(reserved),
            pending=_places(pending),
        )
    for reward_id, reward_brand, debt in (
        debts.values_list("reward_id", "reward__brand_id").annotate(debt=Sum("debt")).order_by()
    ):
        figures[(reward_id, reward_brand)]["debt"] = _places(debt)
    rewards = Reward.objects.in_bulk([r for r, _b in figures])
    brands = Brand.objects.in_bulk([b for _r, b in figures if b is not None])
    rows = []
    for (reward_id, brand), amounts in figures.items():
        if any(amounts.values()):
            head = {"reward_id": str(reward_id), "reward": rewards.get(reward_id), "brand_id": brand}
            rows.append(_valued({**head, "brand": brands.get(brand)}, amounts))
    rows.sort(key=lambda r: (str(r["reward"] or ""), r["reward_id"], r["brand_id"] or ""))
    return {"as_of": now, "brand_id": brand_id, "rows": rows, **_liability_totals(rows)}


def _places(value) -> Decimal:
    """A sum as an amount with the columns' 4 places, a sum of no rows (None) included."""
    return exact(value).quantize(QUANTUM)


def money(amount: Decimal, factor: Decimal | None) -> Decimal | None:
    """amount x factor to 4 places, exactly (no column bound: a report's sums may pass one)."""
    if factor is None:
        return None
    with localcontext() as context:
        context.prec = 60
        return (amount * factor).quantize(QUANTUM)


def _valued(row: dict, amounts: dict) -> dict:
    amounts = {**amounts, "outstanding": amounts["available"] + amounts["reserved"] - amounts["debt"]}
    factor = row["reward"].conversion_factor if row["reward"] else None
    return {**row, "factor": factor, **amounts, **{f"{k}_value": money(v, factor) for k, v in amounts.items()}}


def _liability_totals(rows: list[dict]) -> dict:
    """Per-reward subtotals (amounts and values), and money totals per brand and overall."""
    per_reward: dict = {}
    for row in rows:
        sums = per_reward.setdefault(row["reward_id"], {"reward": row["reward"], "brands": 0, "amounts": {}})
        sums["brands"] += 1
        for key in LIABILITY_AMOUNTS[:-1]:
            sums["amounts"][key] = sums["amounts"].get(key, _places(0)) + row[key]
    subtotals = [
        {
            **_valued({"reward_id": r, "reward": s["reward"], "brand_id": None, "brand": None}, s["amounts"]),
            "brands": s["brands"],
        }
        for r, s in per_reward.items()
    ]
    per_brand: dict = {}
    total = _money_total(None)
    for row in rows:
        for sums in (per_brand.setdefault(row["brand_id"], _money_total(row["brand"])), total):
            if row["factor"] is None:
                sums["unvalued"].add(row["reward_id"])
            else:
                for key in LIABILITY_AMOUNTS:
                    sums[f"{key}_value"] += row[f"{key}_value"]
    brands = [{"brand_id": b, **sums} for b, sums in sorted(per_brand.items(), key=lambda item: item[0] or "")]
    return {"rewards": subtotals, "brands": brands, "total": total}


def _money_total(brand) -> dict:
    return {"brand": brand, "unvalued": set(), **{f"{k}_value": _places(0) for k in LIABILITY_AMOUNTS}}
