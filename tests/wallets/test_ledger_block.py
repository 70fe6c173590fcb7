"""`with wallet_ledger(...) as ledger:` is the one way to move money: it writes what was moved when
the block ends, nothing when it fails, and refuses to run outside a transaction."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from wallets.ledger import wallet_ledger
from wallets.models import Transaction, WalletLine, WalletTotal

pytestmark = pytest.mark.django_db


def _credit(ledger, reward, amount: Decimal) -> None:
    line = ledger.add_line(reward_id=reward.pk, amount=amount, state=WalletLine.State.AVAILABLE, issued_at=ledger.now)
    ledger.row(Transaction.Type.ACCUMULATION, amount, reward_id=reward.pk, line=line)


def test_a_clean_block_writes_its_lines_rows_and_totals_without_a_flush_by_hand(customer, stars):
    with (
        transaction.atomic(),
        wallet_ledger(customer_id=customer.pk, now=timezone.now(), reward_ids=[stars.pk]) as ledger,
    ):
        _credit(ledger, stars, Decimal(7))
        assert not Transaction.objects.exists()  # kept in memory until the block ends
    assert list(Transaction.objects.values_list("type", "amount")) == [("ACCUMULATION", Decimal(7))]
    assert WalletLine.objects.get().remaining == 7
    assert WalletTotal.objects.get().balance == 7


def test_a_failing_block_writes_nothing(customer, stars):
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), wallet_ledger(customer_id=customer.pk, now=timezone.now()) as ledger:
            _credit(ledger, stars, Decimal(7))
            1 / 0  # noqa: B018
        assert not Transaction.objects.exists() and not WalletLine.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_ledger_refuses_to_run_outside_a_transaction(customer, stars):
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        with wallet_ledger(customer_id=customer.pk, now=timezone.now()):
            pass
