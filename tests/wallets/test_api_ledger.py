"""Ledger reads: GET /customers/{id}/transactions and GET /transactions."""

import pytest

from tests.helpers import emit

pytestmark = pytest.mark.django_db


def test_customer_transactions_list_the_ledger_newest_first_with_filters(api, brand, customer, stars, star_campaign):
    first = emit(customer, brand, value=120)
    emit(customer, brand, value=50, redeem=[(stars, 5)])
    r = api.get("/customers/cust-1/transactions")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 3 and body["from"] == 0 and body["to"] == 2
    # newest first; within the second event the redemption was written before its own grant
    assert [(t["type"], t["amount"]) for t in body["data"]] == [
        ("ACCUMULATION", 5),
        ("REDEMPTION", -5),
        ("ACCUMULATION", 12),
    ]
    assert body["data"][2]["event_id"] == str(first.pk) and body["data"][2]["cost"] == 1.2
    r = api.get("/customers/cust-1/transactions?type=REDEMPTION")
    assert [t["amount"] for t in r.json()["data"]] == [-5]
    r = api.get(f"/customers/cust-1/transactions?reward_id={stars.pk}&from=1&to=1")
    assert r.json()["count"] == 3 and [t["amount"] for t in r.json()["data"]] == [-5]
    assert api.get("/customers/nobody/transactions").status_code == 404
    assert api.get("/customers/cust-1/transactions?type=NOPE").status_code == 400


def test_programme_ledger_is_cursor_paged(api, brand, customer, stars, star_campaign):
    events = [emit(customer, brand, value=10 * (i + 1)) for i in range(5)]
    r = api.get("/transactions?limit=2")
    body = r.json()
    assert [t["amount"] for t in body["data"]] == [5, 4] and body["cursor"]
    seen = [t["amount"] for t in body["data"]]
    while body["cursor"]:
        body = api.get(f"/transactions?limit=2&cursor={body['cursor']}").json()
        seen += [t["amount"] for t in body["data"]]
    assert seen == [5, 4, 3, 2, 1]
    r = api.get(f"/transactions?event_id={events[2].pk}")
    assert [t["amount"] for t in r.json()["data"]] == [3]
    r = api.get(f"/transactions?campaign_id={star_campaign.pk}&type=ACCUMULATION")
    assert len(r.json()["data"]) == 5
