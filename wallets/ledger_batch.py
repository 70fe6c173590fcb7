"""Writing many Ledgers at once (wallets.ledger.wallets_ledger, the expiry sweep's batches):
part of the ledger module, split out for size. Only wallets.ledger calls it (tests/test_layers.py)."""

from __future__ import annotations

import json

from core.bulk import Table, rows_update
from wallets.models import Transaction, WalletLine, WalletTotal


def flush_ledgers(ledgers: list, now) -> None:
    """Every Ledger's movements in one statement per table (COPY or UPDATE ... FROM unnest on
    PostgreSQL: core.bulk), as `Ledger._flush` writes one Ledger's."""
    new_lines = [line for ledger in ledgers for line in ledger.new_lines]
    if new_lines:
        WalletLine.objects.bulk_create(new_lines)
    rows_update(
        WalletLine,
        [
            (line.pk, line.remaining, line.reserved, line.state, line.reservation_expires_at)
            for ledger in ledgers
            for line in ledger.dirty_lines.values()
        ],
        columns=["remaining", "reserved", "state", "reservation_expires_at"],
        same={"updated_at": now},
    )
    rows = [row for ledger in ledgers for row in ledger.rows]
    if rows:
        table = Table(
            Transaction,
            ["type", "amount", "wallet_id", "reward_id", "line_id", "event_id", "campaign_id", "brand_id", "cost"]
            + ["created_at", "details"],
        )
        for row in rows:
            line = row.line
            table.add(
                row.type,
                row.amount,
                row.wallet_id,
                row.reward_id,
                line.pk if line is not None else None,
                row.event_id,
                row.campaign_id,
                row.brand_id,
                row.cost,
                row.created_at,
                json.dumps(row.details or {}),
            )
        table.write()
    new_totals = [total for ledger in ledgers for total in ledger._new_totals]
    if new_totals:
        WalletTotal.objects.bulk_create(new_totals)
    rows_update(
        WalletTotal,
        [
            (t.pk, t.balance, t.reserved, t.debt, t.pending)
            for ledger in ledgers
            for t in (ledger._totals or {}).values()
            if t.pk is not None and t not in ledger._new_totals
        ],
        columns=["balance", "reserved", "debt", "pending"],
    )
    for ledger in ledgers:
        ledger.new_lines, ledger.dirty_lines, ledger.rows, ledger._new_totals = [], {}, [], []
