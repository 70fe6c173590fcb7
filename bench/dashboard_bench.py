"""Dashboard benchmark (issue 10, item 6): the admin index with its dashboard within 1 s at one
million events.

Runs against the database DATABASE_URL names (PostgreSQL: a database of its own, e.g.
loyalty_dash, migrated first; it is NOT flushed, so that the seed is reused between runs):

- seeds it with `--events` events (`manage.py seed_events`, backoffice.seeding) unless it holds
  that many already, and prints the time the seed took;
- runs the rollup over the seeded span (`dashboard_rollup(days=40)`: the rebuild of history)
  and the periodic one (2 days), and prints both times;
- times `GET /admin/` (the admin index with the dashboard) through Django's test client as a
  logged-in superuser, 10 requests after one warm-up: median and max;
- for the ceiling, the same figures computed by one raw SQL query on the summary tables (and
  the wallet totals, which the dashboard reads live): median and max of 10;
- prints the ratio of the medians.

    DJANGO_SETTINGS_MODULE=config.settings.local DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_dash \
        .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_dash .venv/bin/python bench/dashboard_bench.py [--events 1000000]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CEILING_SQL = """
WITH days AS (SELECT %(first)s::date AS first, %(last)s::date AS last)
SELECT 'ledger', l.reward_id::text, l.day::text, l.type, SUM(l.credit), SUM(l.debit)
  FROM backoffice_ledgerday l, days WHERE l.day BETWEEN days.first AND days.last
 GROUP BY l.reward_id, l.day, l.type
UNION ALL
SELECT 'events', NULL, e.day::text, e.status, SUM(e.count), NULL
  FROM backoffice_eventstatusday e, days WHERE e.day BETWEEN days.first AND days.last
 GROUP BY e.day, e.status
UNION ALL
SELECT 'liability', t.reward_id::text, NULL, NULL, SUM(t.balance) - SUM(t.reserved), SUM(t.pending)
  FROM wallets_wallettotal t GROUP BY t.reward_id
UNION ALL
SELECT 'granted', l.campaign_id::text, NULL, l.reward_id::text, SUM(l.credit), NULL
  FROM backoffice_ledgerday l, days
 WHERE l.day BETWEEN days.first AND days.last AND l.type = 'ACCUMULATION' AND l.campaign_id IS NOT NULL
 GROUP BY l.campaign_id, l.reward_id
"""


def timed(fn, n=10):
    fn()  # warm-up
    took = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        took.append(time.perf_counter() - start)
    return statistics.median(took) * 1000, max(took) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from backoffice.seeding import seed_events
    from backoffice.selectors import dashboard_days
    from backoffice.services import dashboard_rollup
    from events.models import Event
    from wallets.models import Transaction, WalletTotal

    if connection.vendor != "postgresql":
        raise SystemExit("set DATABASE_URL to a PostgreSQL database of its own (migrated), e.g. loyalty_dash")
    setup_test_environment()  # the test client's host
    have = Event.objects.count()
    if have < args.events:
        start = time.monotonic()
        seed_events(events=args.events - have, customers=args.customers, now=timezone.now())
        print(f"seeded {args.events - have} events in {time.monotonic() - start:.1f} s")
    events, rows, totals = Event.objects.count(), Transaction.objects.count(), WalletTotal.objects.count()
    print(f"database: {events} events, {rows} ledger rows, {totals} wallet totals")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    start = time.monotonic()
    full = dashboard_rollup(days=40)
    print(
        f"rollup of 40 days (history rebuild): {time.monotonic() - start:.2f} s ({full['ledger_rows']} + {full['status_rows']} summary rows)"
    )
    start = time.monotonic()
    dashboard_rollup(days=2)
    print(f"rollup of 2 days (the periodic run): {time.monotonic() - start:.2f} s")

    user = get_user_model().objects.filter(username="bench-admin").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "bench-pw")
    client = Client()
    client.force_login(user)

    def request():
        response = client.get("/admin/")
        assert response.status_code == 200 and b"backoffice-dashboard" in response.content, response.status_code

    days = dashboard_days(now=timezone.now())

    def ceiling():
        with connection.cursor() as cursor:
            cursor.execute(CEILING_SQL, {"first": days[0], "last": days[-1]})
            cursor.fetchall()

    page_median, page_max = timed(request)
    sql_median, sql_max = timed(ceiling)
    print(
        f"GET /admin/ with the dashboard (test client, superuser): median {page_median:.1f} ms, max {page_max:.1f} ms"
    )
    print(f"one raw SQL query on the summary tables (ceiling):    median {sql_median:.1f} ms, max {sql_max:.1f} ms")
    print(
        f"ratio (page / ceiling, medians): {page_median / sql_median:.1f}; page median / 1 s: {page_median / 1000:.2f}"
    )


if __name__ == "__main__":
    main()
