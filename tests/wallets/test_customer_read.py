"""`GET /customers/{id}` reads what a wallet holds now, never its history (issue 11, item 5): a
fixed number of statements whatever the number of ledger rows and lines, and every statement on
the wallet's lines bounded to the lines with something left (spent and expired lines are never
read again, and the partial index wallets.line_live_idx holds only those). How long it takes is
measured by bench/read_bench.py, not here."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CampaignFactory, CustomerFactory, per_value_rule
from tests.helpers import emit
from wallets.models import Transaction, WalletLine

pytestmark = pytest.mark.django_db

# Measured on PostgreSQL and SQLite: 5 statements (the customer with its tier and wallet, its
# metric buckets, the wallet totals with their rewards, the lines' per-reward figures, the
# spendable lines); the API key is cached (campaigns/key_cache.py). It was 6 until the per-reward
# sums and the amount at the next expiration became one statement (wallets.selectors).
READ_QUERIES_MAX = 5 + 1
# The partial index's condition, in a statement with its names unquoted and unqualified (SQLite
# quotes the 0).
LIVE_STATE = re.compile(r"\bstate = 'AVAILABLE'")
LIVE_REMAINING = re.compile(r"\bremaining > '?0\b'?")


def bare(sql: str) -> str:
    """`"wallets_walletline"."remaining"` or `l.remaining` -> `remaining`."""
    return re.sub(r'"?\w+"?\."?(\w+)"?', r"\1", sql).replace('"', "")


def with_history(customer, brand, stars, purchases: int):
    """`purchases` purchases of 100 (10 stars that never expire, 10 that expire within a day, of
    which those issued 60 hours ago are born expired), then a redemption of all but 5 stars."""
    now = timezone.now()
    for i in range(purchases):
        emit(customer, brand, value=100, issued_at=now - timedelta(hours=60 if i % 2 else 1))
    spendable = WalletLine.objects.filter(wallet=customer.wallet, state="AVAILABLE", expiration_date__gt=now)
    left = sum(x.remaining for x in spendable) + sum(
        x.remaining for x in WalletLine.objects.filter(wallet=customer.wallet, expiration_date=None)
    )
    emit(customer, brand, value=5, redeem=[(stars, left - 5)])  # 5 spent: no grant


@pytest.fixture
def programme(brand, stars):
    CampaignFactory(brand=brand, rules=[per_value_rule(stars)])
    CampaignFactory(brand=brand, rules=[per_value_rule(stars, expiration="1/days")])


def read(api, customer) -> tuple[dict, list[str]]:
    api.get(f"/customers/{customer.pk}")  # the key cache warm, as in production
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(f"/customers/{customer.pk}")
    assert response.status_code == 200, response.content
    return response.json()["data"], [q["sql"] for q in ctx.captured_queries]


def test_customer_read_query_count_does_not_grow_with_history(api, brand, stars, programme):
    counts = {}
    for purchases in (1, 30):
        customer = CustomerFactory()
        with_history(customer, brand, stars, purchases)
        data, sql = read(api, customer)
        counts[purchases] = len(sql)
        assert [t["total"] for t in data["wallet"]["totals"]] == [5]

    assert Transaction.objects.filter(wallet=customer.wallet).count() > 60  # a history, spent and expired
    assert counts[1] == counts[30], counts
    assert counts[30] <= READ_QUERIES_MAX, counts


def test_customer_read_touches_only_lines_with_something_left(api, brand, stars, programme):
    customer = CustomerFactory()
    with_history(customer, brand, stars, 10)
    assert WalletLine.objects.filter(wallet=customer.wallet, remaining=0).count() > 10

    data, sql = read(api, customer)

    on_lines = [bare(q) for q in sql if "wallets_walletline" in q]
    assert on_lines, sql
    for q in on_lines:  # the condition of the partial index line_live_idx, so a spent history is never scanned
        assert LIVE_STATE.search(q) and LIVE_REMAINING.search(q), q
    assert sum(float(x["remaining"]) for x in data["wallet"]["lines"]) == 5


def test_spent_lines_change_no_total_or_expiration_the_read_shows(api, brand, stars, programme):
    """A spent line that expires first, or is past its date and not swept yet, leaves the total,
    the next expiration and the amount expiring then to the lines that still hold something."""
    customer = CustomerFactory()
    now = timezone.now()
    first = emit(customer, brand, value=100, issued_at=now - timedelta(hours=2))
    emit(customer, brand, value=50, issued_at=now - timedelta(hours=1))
    emit(customer, brand, value=5, redeem=[(stars, 10)])  # no grant; takes the line expiring first, whole
    spent = WalletLine.objects.get(event_id=first.pk, expiration_date__isnull=False)
    assert spent.remaining == 0 and spent.state == "AVAILABLE"
    later = WalletLine.objects.get(wallet=customer.wallet, expiration_date__gt=spent.expiration_date)

    data, _sql = read(api, customer)

    (total,) = data["wallet"]["totals"]
    assert total["total"] == 20  # 10 + 10 + 5 + 5 - 10
    assert total["next_expiration_date"].startswith(later.expiration_date.strftime("%Y-%m-%dT%H:%M"))
    assert total["expiring_amount"] == 5
    assert spent.pk not in {x["id"] for x in data["wallet"]["lines"]}
