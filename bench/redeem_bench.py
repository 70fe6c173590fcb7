"""Redemption benchmark (issue 15 item 7): the worst case one event may ask for, timed.

The worst case the API allows: MAX_REDEMPTIONS_PER_EVENT (events.redemptions) redemptions of
0.0001 in one event, spread over every level (event `redeem`, `order.redeem`, product and
shipping redemptions), against a wallet of 20,000 spendable lines of 0.0001 each, so that every
redemption consumes its own line (the case that made consumption redemptions x lines). Each
emit runs in a transaction that is rolled back, so every round meets the same wallet.

Prints, for the emit through the service (event_emit, no HTTP) and through the API (the Django
test client, serializers and rendering included), the median and worst time against the 1 s
ceiling of the issue, and the SQL queries per emit; the same bound's worth of redemptions when
one of them asks one quantum more than the wallet holds (refused: every line is read to name
the spendable total); when they consume as many lines as one event may
(LOYALTY_MAX_LINES_PER_EVENT: one ledger row and one line update per line), plain and held then
fulfilled; and when they would spend the whole balance over every line (refused past the lines
limit, before anything is written). Then consumption alone (wallet_redeem, with the lines limit
lifted) for growing numbers of redemptions, which the API never allows past the bound, to show
it stays linear (time per redemption flat; it was quadratic). Asserts nothing. See bench/README.md.

Runs against its own database: var/redeem_bench.sqlite3 (recreated each run) or, with
BENCH_DATABASE_URL=postgres://..., that PostgreSQL database (its tables are flushed first).

    .venv/bin/python bench/redeem_bench.py [--lines 20000] [--rounds 5]
"""

import argparse
import statistics
import time
from decimal import Decimal

from benchdb import bench_database

CEILING = 1.0  # seconds: the bound for the worst case allowed


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20_000, help="spendable lines of 0.0001 in the wallet")
    parser.add_argument("--rounds", type=int, default=5, help="timed emits per path")
    args = parser.parse_args()

    bench_database("redeem_bench.sqlite3")
    from datetime import datetime
    from datetime import timezone as tz

    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from campaigns.models import Brand, Campaign, EventType, Reward
    from campaigns.services import api_key_create
    from core.exceptions import InsufficientBalance, LimitExceeded
    from events.redemptions import MAX_REDEMPTIONS_PER_EVENT
    from events.services import event_emit, event_fulfill
    from wallets.ledger import wallet_ledger
    from wallets.models import Customer, WalletLine
    from wallets.services import Redemption, customer_register, wallet_redeem

    brand = Brand.objects.create(id="B1", name="Bench")
    reward = Reward.objects.create(brand=brand, name="Points", type="POINTS", decimals=4)
    purchase = EventType.objects.get(pk="PURCHASE")
    customer = customer_register(id="bench-redeem")

    # The wallet, built through the engine: one campaign of 100 rules x 10 FIXED effects of
    # 0.0001 grants 1,000 lines to an event of order value 1 (and nothing to the timed emits);
    # their expirations differ (1 to 9 months, and never), so consumption order really sorts.
    Campaign.objects.create(
        brand=brand,
        name="many lines",
        trigger=purchase,
        start_date=datetime(2020, 1, 1, tzinfo=tz.utc),
        rules=[
            {
                "id": f"r{j}",
                "conditions": [[{"field": "order.value", "operator": "lte", "value": 1}]],  # not the timed emits
                "effects": [
                    {
                        "reward_id": str(reward.pk),
                        "kind": "FIXED",
                        "amount": "0.0001",  # a numeric string: the rules column is plain JSON
                        "expiration": None if k == 9 else f"{(j + k) % 9 + 1}/months",
                    }
                    for k in range(10)
                ],
            }
            for j in range(100)
        ],
    )
    start = time.perf_counter()
    for _ in range(-(-args.lines // 1000)):
        event_emit(payload={"customer_id": customer.pk, "brand_id": "B1", "type": "PURCHASE", "order": {"value": 1}})
    built = time.perf_counter() - start
    wallet = Customer.objects.get(pk=customer.pk).wallet
    lines = WalletLine.objects.filter(wallet=wallet, state="AVAILABLE").count()

    quantum = Decimal("0.0001")
    n = MAX_REDEMPTIONS_PER_EVENT
    item = {"id": str(reward.pk), "amount": quantum}
    # The bound spread over every level: products carry most of it.
    levels = {"redeem": 10, "order.redeem": 10, "order.shipping.redeem": 10}
    products = n - sum(levels.values())

    def body(i):
        return {
            "customer_id": customer.pk,
            "brand_id": "B1",
            "type": "PURCHASE",
            "redeem": [item] * levels["redeem"],
            "order": {
                "purchase_id": f"P-{i}",
                "value": 1000,
                "redeem": [item] * levels["order.redeem"],
                "shipping": {"value": 10, "redeem": [item] * levels["order.shipping.redeem"]},
                "products": [{"sku": f"SKU-{k}", "value": 10, "redeem": [item]} for k in range(products)],
            },
        }

    def service_payload(i, amounts):
        """The body of `body(i)` as the serializers hand it to the service (Decimals), with the
        redemptions' amounts in `amounts` (as many as redemptions, in the order of the levels)."""
        it = iter(amounts)

        def asked(count):
            return [{"id": reward.pk, "amount": next(it)} for _ in range(count)]

        return {
            "customer_id": customer.pk,
            "brand_id": "B1",
            "type": "PURCHASE",
            "redeem": asked(levels["redeem"]),
            "order": {
                "purchase_id": f"P-{i}",
                "value": Decimal(1000),
                "redeem": asked(levels["order.redeem"]),
                "shipping": {"value": Decimal(10), "redeem": asked(levels["order.shipping.redeem"])},
                "products": [{"sku": f"SKU-{k}", "value": Decimal(10), "redeem": asked(1)} for k in range(products)],
            },
        }

    def service_emit(i):
        return event_emit(payload=service_payload(i, [quantum] * n))

    balance = quantum * lines

    def refused_emit(i):
        """The bound's redemptions asking one quantum more than the wallet holds: every line is
        read to name the spendable total, the event is stored FAILED."""
        try:
            event_emit(payload=service_payload(i, [quantum] * (n - 1) + [balance - quantum * (n - 1) + quantum]))
        except InsufficientBalance:
            return
        raise AssertionError("not refused")

    max_lines = settings.LOYALTY_MAX_LINES_PER_EVENT

    def lines_limit_emit(i, *, fulfilled=True):
        """The bound's redemptions consuming as many lines as one event may (the lines limit):
        one ledger row and one line update each."""
        payload = service_payload(i, [quantum] * (n - 1) + [quantum * (max_lines - n + 1)])
        if not fulfilled:
            payload["fulfilled"] = False
        return event_emit(payload=payload)

    def held_lines_limit_emit(i):
        """The same held: a RESERVATION row per line."""
        return lines_limit_emit(i, fulfilled=False)

    def fulfil_of_the_held(i):
        """Its fulfilment (a RELEASE and a REDEMPTION row per line), timed alone: returns its time."""
        held = lines_limit_emit(i, fulfilled=False)
        start = time.perf_counter()
        event_fulfill(event_id=held.pk)
        return time.perf_counter() - start

    def api_lines_limit_emit(i):
        """The lines limit through the API: its response lists every line's redemption."""
        amounts = [quantum] * (n - 1) + [quantum * (max_lines - n + 1)]
        payload = body(i)
        items = iter(amounts)
        for place in [payload["redeem"], payload["order"]["redeem"], payload["order"]["shipping"]["redeem"]] + [
            p["redeem"] for p in payload["order"]["products"]
        ]:
            for k in range(len(place)):
                place[k] = {"id": str(reward.pk), "amount": str(next(items))}
        return api_emit(i, payload)

    def whole_balance_emit(i):
        """The bound's redemptions spending the whole balance, spread over every line: past the
        lines limit, refused before anything is written."""
        try:
            event_emit(payload=service_payload(i, [quantum] * (n - 1) + [balance - quantum * (n - 1)]))
        except LimitExceeded:
            return
        raise AssertionError("not refused")

    _key, raw_key = api_key_create(name="bench")
    client = Client()

    def api_emit(i, payload=None):
        response = client.post(
            "/api/v1/behavior/events",
            payload or body(i),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw_key}",
        )
        assert response.status_code == 201, response.content[:500]
        return response

    def timed(fn, rounds):
        times, queries = [], []
        for i in range(rounds):
            try:
                with transaction.atomic():
                    with CaptureQueriesContext(connection) as ctx:
                        start = time.perf_counter()
                        alone = fn(i)  # a float: the part of it that is timed
                        times.append(alone if isinstance(alone, float) else time.perf_counter() - start)
                    queries.append(len(ctx.captured_queries))
                    raise Rollback
            except Rollback:
                pass
        return times, queries

    print(
        f"database: {connection.vendor}; wallet of {lines} spendable lines of 0.0001 (built through "
        f"{-(-args.lines // 1000)} emits in {built:.1f} s); {n} redemptions of 0.0001 per event "
        f"(the bound), each consuming its own line"
    )
    cases = (
        ("service (event_emit)", service_emit, args.rounds),
        ("API (POST /behavior/events)", api_emit, args.rounds),
        (f"refused, one quantum short: reads all {lines} lines (service)", refused_emit, args.rounds),
        (f"the lines limit: consumes {max_lines} lines (service)", lines_limit_emit, args.rounds),
        (f"the lines limit: consumes {max_lines} lines (API)", api_lines_limit_emit, args.rounds),
        (f"the lines limit, held: reserves {max_lines} lines (service)", held_lines_limit_emit, args.rounds),
        (f"the lines limit, its fulfilment alone: {max_lines} lines (service)", fulfil_of_the_held, args.rounds),
        (
            f"the whole balance over all {lines} lines: refused, past the lines limit (service)",
            whole_balance_emit,
            args.rounds,
        ),
    )
    for name, fn, rounds in cases:
        timed(fn, 1)  # warm-up
        fn_times, fn_queries = timed(fn, rounds)
        median, worst = statistics.median(fn_times), max(fn_times)
        print(
            f"{name}: median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms of {rounds} "
            f"= {worst / CEILING:.2f} x the {CEILING:.0f} s ceiling; queries {min(fn_queries)}-{max(fn_queries)}"
        )

    # Consumption alone, past both bounds (the lines limit lifted for the run; wallet_redeem
    # is given the redemptions directly), to show the cost per redemption stays flat.
    print("consumption alone (wallet_redeem + the ledger's writes, rolled back):")
    base = None
    for count in (100, 1000, 10_000):
        if count > lines:
            break
        redemptions = [Redemption(reward_id=str(reward.pk), amount=quantum, place=f"redeem[{k}]") for k in range(count)]
        try:
            with transaction.atomic():
                start = time.perf_counter()
                with (
                    override_settings(LOYALTY_MAX_LINES_PER_EVENT=count),
                    wallet_ledger(customer_id=customer.pk, now=timezone.now(), reward_ids=[reward.pk]) as ledger,
                ):
                    wallet_redeem(ledger=ledger, redemptions=redemptions, hold=False)
                spent = time.perf_counter() - start
                raise Rollback
        except Rollback:
            pass
        base = base or spent / count
        print(
            f"  {count:>6} redemptions: {spent * 1000:7.0f} ms, {spent / count * 1e6:6.0f} us per redemption "
            f"({spent / count / base:.1f} x the per-redemption cost at 100)"
        )


if __name__ == "__main__":
    main()
