"""Real races on PostgreSQL (tests/races.py): 16 events granting at once from a pool of 5 codes
hand out each code once, the other 11 get nothing; two redemptions of one card, one wins."""

from collections import Counter

import pytest
from django.db import connection

from core.exceptions import Conflict
from events.selectors import ledger_problems
from giftcards.models import GiftCardCode
from giftcards.services import gift_card_redeem
from tests.factories import CustomerFactory
from tests.giftcards.conftest import load
from tests.helpers import emit, totals
from tests.races import kinds, race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite ignores row locks"),
]


def test_sixteen_concurrent_grants_never_hand_out_a_code_twice(brand, gift, gift_campaign):
    load(gift, *[f"G-{i}" for i in range(5)])
    customers = [CustomerFactory(id=f"racer-{i}") for i in range(16)]  # 16 wallets: nobody waits for a wallet

    outcomes = race(*[lambda c=c: emit(c, brand, value=10) for c in customers])

    assert kinds(outcomes) == {"ok": 16}, outcomes
    events = [value for _kind, value in outcomes]
    handed = [card["code"] for e in events for card in e.result["gift_card"]]
    assert sorted(handed) == [f"G-{i}" for i in range(5)]  # every code once, none twice
    assert Counter(len(e.result["gift_card"]) for e in events) == {1: 5, 0: 11}
    empty = [e for e in events if not e.result["gift_card"]]
    assert all(e.result["gift_card_unfilled"][0]["reason"] == "pool_empty" for e in empty)
    rows = GiftCardCode.objects.all()
    assert {r.code: r.event_id for r in rows} == {c["code"]: e.pk for e in events for c in e.result["gift_card"]}
    assert all(r.status == "GRANTED" for r in rows)
    assert sum(totals(c, gift)["total"] for c in customers) == 5  # one wallet line per card handed out
    assert ledger_problems() == []


def test_two_redemptions_of_one_card_one_wins(brand, customer, gift, gift_campaign):
    load(gift, "G-1")
    emit(customer, brand)

    outcomes = race(*[lambda: gift_card_redeem(customer_id=customer.pk, code="G-1") for _ in range(8)])

    assert kinds(outcomes) == {"ok": 1, "Conflict": 7}, outcomes
    assert all(v.code == "gift_card_already_redeemed" for k, v in outcomes if k == "error" and isinstance(v, Conflict))
    assert GiftCardCode.objects.get(code="G-1").status == "REDEEMED"
