"""Reads of wallets, lines and metrics. Balance reads never sum the ledger: they read the
totals kept beside it, plus the few lines already past their date that the sweep has not
expired yet (so an expired line stops counting at once)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q, Sum
from django.utils import timezone

from campaigns import cache as programme_cache
from campaigns.models import Reward, Tier
from core.amounts import exact
from core.clock import month_of, month_shift
from core.json import jsonable
from core.rows import rows_as
from wallets.models import Customer, MetricBucket, Wallet, WalletLine, WalletTotal
from wallets.serializers import WalletOut, WalletTotalsOut

ZERO = Decimal(0)
S = WalletLine.State


@dataclass(frozen=True)
class TotalRow:
    """A wallet's balance of one reward, as responses show it (wallets.serializers.WalletTotalOut)."""

    reward: Reward
    total: Decimal
    reserved: Decimal
    pending: Decimal
    debt: Decimal
    next_expiration_date: datetime | None
    expiring_amount: Decimal

    @property
    def reward_id(self):
        return self.reward.pk


def wallet_view(
    *,
    wallet_id,
    now: datetime,
    with_lines: bool = True,
    brands: set[str] | None = None,
    totals: list[WalletTotal] | None = None,
) -> dict:
    """`lines` (spendable-state lines, not past their date, remaining > 0) and `totals` per reward
    (TotalRow): total (spendable now), reserved, pending, debt, next_expiration_date,
    expiring_amount. A fixed number of indexed queries, none of which reads the ledger rows. With
    `brands`, only rewards of those brands (and global rewards) are shown. `totals`: the wallet's
    WalletTotal rows, each with its reward, as the caller holds them under the wallet lock (a
    ledger just written: wallets.ledger.Ledger.totals_with_rewards); they are then not read again."""
    version = None
    if totals is None:
        totals, version = _totals_with_rewards(wallet_id, brands)
    else:
        assert brands is None, "a caller's totals are the whole wallet's"
    totals = sorted(totals, key=lambda t: (t.reward.created_at, str(t.reward_id)))
    figures = line_figures(wallet_ids=[wallet_id], now=now, brands=brands)
    wallet_key = wallet_id if isinstance(wallet_id, uuid.UUID) else uuid.UUID(str(wallet_id))
    rows = []
    for t in totals:
        past, first, expiring = figures.get((wallet_key, t.reward_id)) or (None, None, ZERO)
        rows.append(
            TotalRow(
                reward=t.reward,
                total=t.balance - t.reserved - (past or ZERO),
                reserved=t.reserved,
                pending=t.pending,
                debt=t.debt,
                next_expiration_date=first,
                expiring_amount=expiring,
            )
        )
    if not with_lines:
        return {"totals": rows}
    return {"lines": _live_lines(wallet_id, now, brands, version), "totals": rows}


# The reads of `wallet_view` written in SQL (issue 11: each queryset cost about half a
# millisecond of CPU to build, most of a `GET /customers/{id}`). The totals come with the
# programme's version, read in the same statement, and their rewards from the programme cache
# at that version (campaigns.cache.rewards: no query while the programme is unchanged).
_TOTALS = (
    "SELECT t.id, t.wallet_id, t.reward_id, t.balance, t.reserved, t.debt, t.pending, "
    "v.version AS programme_version FROM (SELECT 1 AS one) o "
    "LEFT JOIN campaigns_programmeversion v ON v.id = 1 "
    "LEFT JOIN wallets_wallettotal t ON t.wallet_id = %s"
)
_LIVE_LINES = (
    "SELECT * FROM wallets_walletline WHERE wallet_id = %s AND state = 'AVAILABLE' AND remaining > 0 "
    "AND (expiration_date IS NULL OR expiration_date > %s) "
    "ORDER BY expiration_date ASC NULLS LAST, issued_at ASC, id ASC"
)


def _wallet_param(wallet_id):
    return WalletLine._meta.get_field("wallet").get_db_prep_value(wallet_id, connection)


def totals_and_version(wallet_id) -> tuple[list[WalletTotal], int]:
    """The wallet's totals (without their rewards) and the programme's version (0 before any),
    in one statement."""
    rows = rows_as(WalletTotal, _TOTALS, [_wallet_param(wallet_id)])
    return [t for t in rows if t.pk is not None], rows[0].programme_version or 0


def _totals_with_rewards(wallet_id, brands: set[str] | None) -> tuple[list[WalletTotal], int]:
    totals, version = totals_and_version(wallet_id)
    rewards = programme_cache.rewards({t.reward_id for t in totals}, version=version)
    for t in totals:
        t.reward = rewards[str(t.reward_id)]
    if brands is not None:
        totals = [t for t in totals if t.reward.brand_id is None or t.reward.brand_id in brands]
    return totals, version


def _live_lines(wallet_id, now: datetime, brands: set[str] | None, version: int | None) -> list[WalletLine]:
    """The spendable-state lines not past their date with something left, soonest expiration
    first (never-expiring last), then oldest; with `brands`, only those brands' and global rewards
    (their rewards from the programme cache at `version`, read with the totals)."""
    params = [_wallet_param(wallet_id), connection.ops.adapt_datetimefield_value(now)]
    lines = rows_as(WalletLine, _LIVE_LINES, params)
    if brands is None or not lines:
        return lines
    if version is None:
        version = programme_cache.current_version()
    rewards = programme_cache.rewards({line.reward_id for line in lines}, version=version)
    return [line for line in lines if rewards[str(line.reward_id)].brand_id in (None, *brands)]


# Per wallet and reward, in one statement over the AVAILABLE lines with something left (a spent
# line adds nothing to any figure, and a long-lived wallet's spent lines are most of its lines:
# every line read here stays within the partial index line_live_idx, issue 11 item 5): what is
# past its date and not expired by the sweep yet (it stops counting at once), the next date the
# spendable amount shrinks (the earliest expiration among lines with a free amount), and the free
# amount that expires then. Written in SQL: as a queryset it cost about 4 ms of CPU per call to build.
_LINE_FIGURES = """
SELECT g.wallet_id, g.reward_id, g.past, g.first, (
    SELECT SUM(l.remaining - l.reserved) FROM wallets_walletline l
    WHERE l.wallet_id = g.wallet_id AND l.state = 'AVAILABLE' AND l.remaining > 0 AND l.reward_id = g.reward_id
      AND l.expiration_date = g.first AND l.remaining > l.reserved{excluded_l}
) AS expiring
FROM (
    SELECT wallet_id, reward_id,
           SUM(remaining - reserved) FILTER (WHERE expiration_date <= %(now)s) AS past,
           MIN(expiration_date) FILTER (WHERE expiration_date > %(now)s AND remaining > reserved) AS first
    FROM "wallets_walletline"
    WHERE "wallets_walletline"."wallet_id" IN ({wallets}) AND "wallets_walletline"."state" = 'AVAILABLE'
      AND "wallets_walletline"."remaining" > 0{visible}{excluded}
    GROUP BY wallet_id, reward_id
) g
"""
_VISIBLE = " AND reward_id IN (SELECT id FROM campaigns_reward WHERE brand_id IN ({brands}) OR brand_id IS NULL)"


def line_figures(*, wallet_ids, now: datetime, brands: set[str] | None = None, exclude_line_ids=()) -> dict:
    """{(wallet id, reward id): (free amount past its date or None, next expiration or None, free
    amount expiring then)} for these wallets, in one statement; with `brands`, only those brands'
    rewards and global ones; without the lines `exclude_line_ids` (a batch holds them in memory:
    wallet_view_now adds them)."""
    params = {"now": connection.ops.adapt_datetimefield_value(now)}

    def placeholders(prefix: str, values) -> str:
        names = [f"{prefix}{i}" for i in range(len(values))]
        params.update(zip(names, values, strict=True))
        return ", ".join(f"%({name})s" for name in names) or "NULL"

    wallet_field = WalletLine._meta.get_field("wallet")
    wallets = placeholders("w", [wallet_field.get_db_prep_value(w, connection) for w in wallet_ids])
    visible = "" if brands is None else _VISIBLE.format(brands=placeholders("b", sorted(brands)))
    excluded = excluded_l = ""
    if exclude_line_ids:
        ids = placeholders("x", sorted(exclude_line_ids))
        excluded, excluded_l = f' AND "wallets_walletline"."id" NOT IN ({ids})', f" AND l.id NOT IN ({ids})"
    sql = _LINE_FIGURES.format(wallets=wallets, visible=visible, excluded=excluded, excluded_l=excluded_l)
    figures = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for wallet_id, reward_id, past, first, free in cursor.fetchall():
            if first is not None and not isinstance(first, datetime):  # SQLite: text, converted as the ORM does
                first = connection.ops.convert_datetimefield_value(first, None, connection)
            figures[(_uuid(wallet_id), _uuid(reward_id))] = (
                None if past is None else exact(past),
                first,
                ZERO if first is None else exact(free),
            )
    return figures


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)  # SQLite: hex text


def wallet_views_base(*, wallet_ids, now: datetime, exclude_line_ids) -> dict:
    """What `wallet_view` reads from the AVAILABLE lines of many wallets at once, leaving out
    the lines a batch changes in memory (`exclude_line_ids`): line_figures, one statement
    whatever the number of wallets; `wallet_view_now` adds the lines left out."""
    return line_figures(wallet_ids=list(wallet_ids), now=now, exclude_line_ids=exclude_line_ids)


def wallet_view_now(*, ledger, base: dict, lines, now: datetime) -> dict:
    """`wallet_view(with_lines=False)` of a Ledger's wallet as it stands in memory, with no
    query: its totals, `base` (wallet_views_base) and the `lines` that base left out, as they
    are now. The same rows, in the same order."""
    wallet_id = ledger.wallet.pk
    totals = sorted(ledger._totals.values(), key=lambda t: ledger.rewards[str(t.reward_id)].created_at)
    rows = []
    for t in totals:
        past, first, expiring = base.get((wallet_id, t.reward_id)) or (None, None, ZERO)
        for line in lines:
            if line.reward_id != t.reward_id or line.state != S.AVAILABLE or line.expiration_date is None:
                continue
            free = line.remaining - line.reserved
            if line.expiration_date <= now:
                past = free if past is None else past + free
            elif free > 0:
                if first is None or line.expiration_date < first:
                    first, expiring = line.expiration_date, free
                elif line.expiration_date == first:
                    expiring += free
        rows.append(
            TotalRow(
                reward=ledger.rewards[str(t.reward_id)],
                total=t.balance - t.reserved - (past or ZERO),
                reserved=t.reserved,
                pending=t.pending,
                debt=t.debt,
                next_expiration_date=first,
                expiring_amount=expiring if first is not None else ZERO,
            )
        )
    return {"totals": rows}


def wallet_summary(*, wallet_id, now: datetime, with_lines: bool = True, brands: set[str] | None = None) -> dict:
    """The wallet as responses show it (`wallet_view` rendered by WalletOut, or WalletTotalsOut
    without lines)."""
    view = wallet_view(wallet_id=wallet_id, now=now, with_lines=with_lines, brands=brands)
    return (WalletOut if with_lines else WalletTotalsOut)(view).data


def customers_visible(*, brands: set[str], api_key) -> Q:
    """The customers a brand-restricted key lists: those with an event or a wallet line at one of
    its brands, or registered with that key (semi-joins: no row is repeated)."""
    by_event = Customer.objects.filter(events__brand_id__in=brands).values("pk")
    by_line = WalletLine.objects.filter(brand_id__in=brands).values("wallet__customer_id")
    return Q(pk__in=by_event) | Q(pk__in=by_line) | Q(registered_by=api_key)


_CUSTOMER = (
    "SELECT c.*, w.id AS wallet_pk, t.name AS tier_name, t.level AS tier_level FROM wallets_customer c "
    "JOIN wallets_wallet w ON w.customer_id = c.id JOIN campaigns_tier t ON t.id = c.tier_id WHERE c.id = %s"
)


def customer_with_wallet(customer_id: str) -> Customer | None:
    """The customer with its wallet and tier (what `select_related("wallet", "tier")` gives, the
    wallet and tier reduced to what responses show: ids, the tier's name and level), or None. In
    SQL: the queryset cost about a millisecond of CPU to build, a third of a GET /customers/{id}."""
    found = rows_as(Customer, _CUSTOMER, [customer_id])
    if not found:
        return None
    customer = found[0]
    customer.wallet = Wallet(id=customer.wallet_pk, customer_id=customer.pk)
    customer.tier = Tier(id=customer.tier_id, name=customer.tier_name, level=customer.tier_level)
    return customer


def customer_profile(*, customer: Customer, brands: set[str] | None = None) -> dict:
    """What customer responses show (wallets.serializers.CustomerOut): the customer with every
    period's metrics, and its wallet."""
    now = timezone.now()
    customer.metrics = customer_metrics(customer_id=customer.pk, now=now, brands=brands)
    return {"customer": customer, "wallet": wallet_view(wallet_id=customer.wallet.pk, now=now, brands=brands)}


# ---- metrics -----------------------------------------------------------------------------------


def period_ranges(now: datetime) -> dict[str, tuple[date | None, date | None]]:
    """[first month, last month] of each reported period, in the programme's time zone."""
    this_month = month_of(now)
    quarter_start = date(this_month.year, (this_month.month - 1) // 3 * 3 + 1, 1)
    return {
        "lifetime": (None, None),
        "this_year": (date(this_month.year, 1, 1), date(this_month.year, 12, 1)),
        "last_year": (date(this_month.year - 1, 1, 1), date(this_month.year - 1, 12, 1)),
        "this_quarter": (quarter_start, month_shift(quarter_start, 2)),
        "last_quarter": (month_shift(quarter_start, -3), month_shift(quarter_start, -1)),
        "this_month": (this_month, this_month),
        "last_month": (month_shift(this_month, -1), month_shift(this_month, -1)),
    }


def _empty() -> dict:
    return {"number_of_purchases": 0, "spend_total": ZERO, "events": {}, "last_visit": None}


def customer_metrics(
    *, customer_id: str, now: datetime, buckets: list[MetricBucket] | None = None, brands: set[str] | None = None
) -> dict:
    """Every period's metrics from the monthly buckets (one query): programme-wide, or with
    `brands` counting only those brands' events (what a brand-restricted key sees)."""
    if buckets is None:  # in SQL: the queryset cost more to build than the query takes
        buckets = rows_as(MetricBucket, "SELECT * FROM wallets_metricbucket WHERE customer_id = %s", [customer_id])
        if brands is not None:
            buckets = [b for b in buckets if b.brand_id in brands]
    out = {period: _aggregate(buckets, first, last) for period, (first, last) in period_ranges(now).items()}
    return jsonable(out, exact=True)


def lifetime_metrics(buckets: list[MetricBucket]) -> dict:
    """`customer_metrics(...)["lifetime"]` of these buckets, with no calendar to work out (paths
    that need it for thousands of customers at once: the batched expiry)."""
    return jsonable(_aggregate(buckets, None, None), exact=True)


def _aggregate(buckets: list[MetricBucket], first: date | None, last: date | None) -> dict:
    agg = _empty()
    for b in buckets:
        if first is not None and not (first <= b.month <= last):
            continue
        agg["number_of_purchases"] += b.number_of_purchases
        agg["spend_total"] += b.spend_total
        for name, count in b.events.items():
            agg["events"][name] = agg["events"].get(name, 0) + count
        if b.last_visit and (agg["last_visit"] is None or b.last_visit > agg["last_visit"]):
            agg["last_visit"] = b.last_visit
    return agg


# ---- ledger verification ---------------------------------------------------------------------------


def ledger_drift() -> list[str]:
    """Rebuild every total and every line from the ledger rows and list what differs ([] = clean)."""
    from wallets.models import Transaction

    problems: list[str] = []
    res = list(Transaction.RESERVATION_TYPES)
    rebuilt: dict = defaultdict(lambda: {"balance": ZERO, "reserved": ZERO, "debt": ZERO, "pending": ZERO})
    no_line = ExpressionWrapper(Q(line__isnull=True), output_field=BooleanField())
    for wallet_id, reward_id, type_, debt_row, amount in (
        Transaction.objects.annotate(debt_row=no_line)
        .values_list("wallet_id", "reward_id", "type", "debt_row")
        .annotate(s=Sum("amount"))
        .values_list("wallet_id", "reward_id", "type", "debt_row", "s")
    ):
        key = (wallet_id, reward_id)
        amount = exact(amount)
        if type_ in res:
            rebuilt[key]["reserved"] += amount
        else:
            rebuilt[key]["balance"] += amount
            if debt_row:
                rebuilt[key]["debt"] -= amount
    for wallet_id, reward_id, amount in (
        WalletLine.objects.filter(state=S.PENDING).values_list("wallet_id", "reward_id").annotate(s=Sum("amount"))
    ):
        rebuilt[(wallet_id, reward_id)]["pending"] += exact(amount)
    stored = {(t.wallet_id, t.reward_id): t for t in WalletTotal.objects.all()}
    for key in sorted(set(rebuilt) | set(stored), key=str):
        want = rebuilt.get(key) or {"balance": ZERO, "reserved": ZERO, "debt": ZERO, "pending": ZERO}
        have = stored.get(key)
        for name, value in want.items():
            got = getattr(have, name) if have else ZERO
            if got != value:
                problems.append(f"wallet {key[0]} reward {key[1]}: {name} is {got}, ledger says {value}")
    line_sums: dict = defaultdict(lambda: [ZERO, ZERO])
    for line_id, type_, amount in (
        Transaction.objects.filter(line__isnull=False).values_list("line_id", "type").annotate(s=Sum("amount"))
    ):
        line_sums[line_id][1 if type_ in res else 0] += exact(amount)
    for line in WalletLine.objects.only("id", "remaining", "reserved", "state").iterator(chunk_size=2000):
        remaining, reserved = line_sums.get(line.pk, (ZERO, ZERO))
        if line.remaining != remaining or line.reserved != reserved:
            problems.append(
                f"line {line.pk}: remaining/reserved {line.remaining}/{line.reserved}, ledger says {remaining}/{reserved}"
            )
        if line.state in (S.EXPIRED, S.REVERSED) and line.remaining != line.reserved:
            problems.append(f"line {line.pk}: {line.state} but holds {line.remaining - line.reserved} unreserved")
    return problems
