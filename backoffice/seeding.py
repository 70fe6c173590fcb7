"""A benchmark seeder (`manage.py seed_events`): N events of one brand and their ledger rows,
written set-based (COPY on PostgreSQL, executemany on SQLite) in one transaction, consistent
with every invariant `manage.py verify_ledger` checks.

It writes rows directly, not through the services (a million emits would take hours), so it
builds only shapes the services build, simulated in time order: PURCHASE events of random
customers over the last `days` days, each granting one line of one of two rewards from one of
eight campaigns (budgeted), and:

- RESOLVED (most): an ACCUMULATION row; 15% of the lines expire 14 days later (an EXPIRATION
  row of the whole line at that date, once it has passed); a fifth of the events also redeem
  part of the customer's latest non-expiring line (a REDEMPTION row);
- REVERSED (4%): RESOLVED, then a REVERSAL row of the whole (unspent) line within 2 days;
- held (6%): PENDING with a pending line; held more than a day ago, half of them were fulfilled
  (the ACCUMULATION row when fulfilled) and half EXPIRED (the line dropped, no row);
- FAILED (3%): no line, no row.

Every event has its transitions, every wallet its totals (balance, pending), every customer
its metric buckets, every campaign its budget_used (its live grants). Not covered: debts,
reservations, adjustments, events of other types.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction
from django.db.models import Max

from campaigns.models import Brand, Campaign, EventType, Reward, Tier
from core.amounts import cost_of
from core.bulk import Table
from core.clock import month_of
from events.models import Event, EventTransition
from wallets.models import Customer, MetricBucket, Transaction, Wallet, WalletLine, WalletTotal

CENT = Decimal("0.01")
DAY = timedelta(days=1)
S, L, T = Event.Status, WalletLine.State, Transaction.Type


def _programme(token: str):
    brand, _ = Brand.objects.get_or_create(id="DASH", defaults={"name": "Dashboard bench"})
    rewards = []
    for name, decimals, factor in (("Bench points", 0, "0.01"), ("Bench miles", 2, "0.1")):
        reward, _ = Reward.objects.get_or_create(
            brand=brand,
            name=name,
            defaults={"type": Reward.Type.POINTS, "decimals": decimals, "attributes": {"conversion_factor": factor}},
        )
        rewards.append(reward)
    trigger = EventType.objects.get(pk="PURCHASE")
    campaigns = [
        Campaign.objects.create(
            brand=brand,
            name=f"Bench {token} #{k}",
            trigger=trigger,
            status=Campaign.Status.INACTIVE,  # nobody's emits meet these campaigns
            start_date="2020-01-01T00:00:00Z",
            rules=[],
            budget=Decimal(10) ** 12,
        )
        for k in range(8)
    ]
    return brand, rewards, campaigns


def seed_events(
    *, events: int, customers: int, now: datetime, days: int = 35, seed: int = 1, advance=lambda n: None
) -> dict:
    """Write `events` events of `customers` new customers (and all their rows) in one transaction.
    `advance(n)` is told of every 1,000 events built (a progress bar)."""
    rng = random.Random(seed)
    token = secrets.token_hex(3)
    with transaction.atomic():
        brand, rewards, campaigns = _programme(token)
        factors = {r.pk: r.conversion_factor for r in rewards}
        tier = Tier.objects.order_by("level").first()
        wallets = []
        t_customers = Table(Customer, ["id", "tier_id", "registration_date", "created_at", "updated_at"])
        t_wallets = Table(Wallet, ["id", "customer_id", "created_at", "updated_at"])
        for i in range(customers):
            cid, wid = f"dash-{token}-{i}", uuid.uuid4()
            t_customers.add(cid, tier.pk, now - 60 * DAY, now, now)
            wallets.append((cid, wid))
        t_customers.write()
        for cid, wid in wallets:
            t_wallets.add(wid, cid, now, now)
        t_wallets.write()

        t_events = Table(
            Event,
            ["id", "customer_id", "brand_id", "type_id", "status", "fulfilled", "data", "issued_at", "created_at",
             "resolved_at", "failed_at", "expired_at", "reversed_at", "reservation_expires_at", "reason"],
        )  # fmt: skip
        t_moves = Table(EventTransition, ["event_id", "from_status", "to_status", "at", "source"])
        t_lines = Table(
            WalletLine,
            ["id", "wallet_id", "reward_id", "campaign_id", "budgeted", "brand_id", "event_id", "amount", "remaining",
             "state", "issued_at", "expiration_date", "reservation_expires_at", "created_at", "updated_at"],
        )  # fmt: skip
        t_rows = Table(
            Transaction,
            ["type", "amount", "wallet_id", "reward_id", "line_id", "event_id", "campaign_id", "brand_id", "cost",
             "created_at"],
        )  # fmt: skip
        next_line = (WalletLine.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        totals: dict = defaultdict(lambda: [Decimal(0), Decimal(0)])  # (wallet, reward): [balance, pending]
        buckets: dict = {}
        budget: dict = defaultdict(Decimal)
        open_line: dict = {}  # customer index: its redeemable line (the latest that never expires)
        span = days * 86400

        def row(type_, amount, wid, reward, line_id, event_id, campaign, at):
            t_rows.add(type_, amount, wid, reward.pk, line_id, event_id, campaign.pk, brand.pk,
                       cost_of(amount, factors[reward.pk]), at)  # fmt: skip
            totals[(wid, reward.pk)][0] += amount

        def write_line(line, remaining):
            t_lines.add(*line[:8], remaining, *line[9:])

        for done, offset in enumerate(sorted((rng.randrange(span) for _ in range(events)), reverse=True), 1):
            if done % 1000 == 0:
                advance(1000)
            at = now - timedelta(seconds=offset)
            c = rng.randrange(customers)
            cid, wid = wallets[c]
            eid = uuid.uuid4()
            value = Decimal(rng.randrange(1000, 40000)).scaleb(-2)
            reward = rewards[0] if rng.random() < 0.75 else rewards[1]
            amount = (value / 10).quantize(Decimal(1) if reward is rewards[0] else CENT, rounding=ROUND_DOWN)
            campaign = campaigns[rng.randrange(len(campaigns))]
            data = f'{{"order": {{"value": {value}}}}}'
            r = rng.random()
            status, stamps, moves = S.RESOLVED, {"resolved_at": at}, [("", S.RESOLVED, at)]
            fulfilled, held_until, line_state, posted_at, expires = True, None, L.AVAILABLE, at, None
            if r < 0.03:
                status, stamps, moves = S.FAILED, {"failed_at": at}, [("", S.FAILED, at)]
            elif r < 0.09:
                fulfilled, held_until = False, at + DAY
                moves = [("", S.PENDING, at)]
                if held_until > now:
                    status, stamps, line_state, posted_at = S.PENDING, {}, L.PENDING, None
                elif rng.random() < 0.5:
                    status, stamps, line_state, posted_at = S.EXPIRED, {"expired_at": held_until}, L.EXPIRED, None
                    moves.append((S.PENDING, S.EXPIRED, held_until))
                else:
                    posted_at = at + timedelta(seconds=rng.randrange(3600, 80000))
                    stamps = {"resolved_at": posted_at}
                    moves.append((S.PENDING, S.RESOLVED, posted_at))
            elif r < 0.13:
                reversed_at = min(at + timedelta(seconds=rng.randrange(60, 2 * 86400)), now)
                status, stamps, line_state = S.REVERSED, {"resolved_at": at, "reversed_at": reversed_at}, L.REVERSED
                moves.append((S.RESOLVED, S.REVERSED, reversed_at))
            elif rng.random() < 0.15:
                expires = at + 14 * DAY
            t_events.add(eid, cid, brand.pk, "PURCHASE", status, fulfilled, data, at, at, stamps.get("resolved_at"),
                         stamps.get("failed_at"), stamps.get("expired_at"), stamps.get("reversed_at"),
                         held_until if status == S.PENDING else None, "bench" if status == S.FAILED else "")  # fmt: skip
            for before, after, moved_at in moves:
                t_moves.add(eid, before, after, moved_at, EventTransition.Source.API)
            if status == S.RESOLVED:
                key = (cid, month_of(at), brand.pk)
                b = buckets.setdefault(key, [0, Decimal(0), at])
                b[0], b[1], b[2] = b[0] + 1, b[1] + value, max(b[2], at)
                redeem = open_line.get(c)
                if redeem is not None and fulfilled and rng.random() < 0.2 and redeem["remaining"] > 0:
                    half = (redeem["remaining"] / 2).quantize(redeem["quantum"], rounding=ROUND_DOWN)
                    take = min(redeem["remaining"], max(half, redeem["quantum"]))
                    redeem["remaining"] -= take
                    row(T.REDEMPTION, -take, wid, redeem["reward"], redeem["line"][0], eid, redeem["campaign"], at)
            if status == S.FAILED:
                continue
            line_id, next_line = next_line, next_line + 1
            line = [line_id, wid, reward.pk, campaign.pk, True, brand.pk, eid, amount, None, line_state, at, expires,
                    held_until if status == S.PENDING else None, at, posted_at or at]  # fmt: skip
            if status in (S.PENDING, S.RESOLVED):
                budget[campaign.pk] += amount
            if status == S.PENDING:
                totals[(wid, reward.pk)][1] += amount
            if posted_at is None:  # pending, or dropped when its hold expired
                write_line(line, Decimal(0))
                continue
            row(T.ACCUMULATION, amount, wid, reward, line_id, eid, campaign, posted_at)
            if status == S.REVERSED:
                row(T.REVERSAL, -amount, wid, reward, line_id, eid, campaign, stamps["reversed_at"])
                write_line(line, Decimal(0))
            elif expires is not None and expires <= now:
                line[9] = L.EXPIRED
                row(T.EXPIRATION, -amount, wid, reward, line_id, eid, campaign, expires)
                write_line(line, Decimal(0))
            elif expires is not None or not fulfilled:  # never redeemed from: final now
                write_line(line, amount)
            else:  # the customer's redeemable line from now on; the one before is final
                previous = open_line.get(c)
                if previous is not None:
                    write_line(previous["line"], previous["remaining"])
                quantum = Decimal(1) if reward is rewards[0] else CENT
                open_line[c] = {"line": line, "reward": reward, "campaign": campaign, "quantum": quantum,
                                "remaining": amount}  # fmt: skip
        for redeem in open_line.values():
            write_line(redeem["line"], redeem["remaining"])
        for table in (t_events, t_moves, t_lines, t_rows):
            table.write()
        t_totals = Table(WalletTotal, ["wallet_id", "reward_id", "balance", "pending"])
        for (wid, reward_id), (balance, pending) in totals.items():
            t_totals.add(wid, reward_id, balance, pending)
        t_totals.write()
        t_buckets = Table(
            MetricBucket,
            ["customer_id", "month", "brand_id", "number_of_purchases", "spend_total", "events", "last_visit"],
        )
        for (cid, month, brand_id), (n, spend, last) in buckets.items():
            t_buckets.add(cid, month, brand_id, n, spend, json.dumps({"PURCHASE": n}), last)
        t_buckets.write()
        for campaign in campaigns:
            Campaign.objects.filter(pk=campaign.pk).update(budget_used=budget[campaign.pk])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in ("wallets_walletline",):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                    )
    return {
        "customers": customers,
        "events": t_events.count,
        "transitions": t_moves.count,
        "lines": t_lines.count,
        "ledger_rows": t_rows.count,
        "totals": t_totals.count,
        "buckets": t_buckets.count,
    }
