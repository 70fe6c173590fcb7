"""core.bulk.insert_objects writes what bulk_create writes (the Ledger's inserts, issue 11): the
same column values, auto timestamps, JSON through the field's encoder, ids set from RETURNING."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from core.bulk import insert_objects
from tests.factories import BrandFactory, CustomerFactory, RewardFactory
from wallets.models import Transaction, WalletLine

# rows written by hand, as a bulk write is tested: no totals kept beside them
pytestmark = [pytest.mark.django_db, pytest.mark.ledger_drift_expected]


def _lines(wallet, reward, brand, amounts, now):
    return [
        WalletLine(wallet=wallet, reward=reward, brand=brand, amount=a, remaining=a, reserved=0, issued_at=now)
        for a in amounts
    ]


def _stored(model, objs) -> list[dict]:
    rows = []
    for obj in model.objects.filter(pk__in=[o.pk for o in objs]).order_by("pk"):
        row = model_to_dict(obj)
        row.pop("id")
        rows.append(row)
    return rows


@pytest.mark.parametrize("count", [1, 3, 25])  # 25: past the statements it keeps, bulk_create itself
def test_inserted_rows_equal_bulk_creates(count):
    brand = BrandFactory()
    reward = RewardFactory(brand=brand)
    wallet = CustomerFactory(record_event=False).wallet
    amounts = [Decimal("1.5") + i for i in range(count)]

    now = timezone.now()
    ours, theirs = _lines(wallet, reward, brand, amounts, now), _lines(wallet, reward, brand, amounts, now)
    insert_objects(ours)
    WalletLine.objects.bulk_create(theirs)
    assert all(line.pk is not None and not line._state.adding for line in ours)
    assert len({line.pk for line in ours}) == count
    assert all(line.created_at is not None and line.updated_at is not None for line in ours)
    assert _stored(WalletLine, ours) == _stored(WalletLine, theirs)

    def rows(lines):
        return [
            Transaction(type="ACCUMULATION", amount=line.amount, wallet=wallet, reward=reward, line=line,
                        brand=brand, created_at=line.issued_at, details={"place": "redeem", "n": [1, "x"]})
            for line in lines
        ]  # fmt: skip

    ours_rows, theirs_rows = rows(ours), rows(theirs)
    insert_objects(ours_rows)
    Transaction.objects.bulk_create(theirs_rows)
    assert [r.pk for r in ours_rows] == sorted(r.pk for r in ours_rows)
    mine = _stored(Transaction, ours_rows)
    for row, line in zip(mine, ours, strict=True):
        assert row.pop("line") == line.pk
    for row in _stored(Transaction, theirs_rows):
        row.pop("line")
        assert row == mine[0] or row in mine
    assert Transaction.objects.get(pk=ours_rows[0].pk).details == {"place": "redeem", "n": [1, "x"]}
