"""The wallet locks: every balance change holds its wallet's row lock (taken first, after the
event's own row when there is one), and several wallets are always locked in id order."""

from __future__ import annotations

import uuid

from django.db import connection

from core.exceptions import NotFound
from core.rows import rows_as
from wallets.models import Customer, Wallet


def wallet_lock(*, customer_id: str | None = None, wallet_id=None, skip_locked: bool = False) -> Wallet | None:
    """Lock and return a wallet row, by customer or by id (the lock every balance change holds);
    with `skip_locked`, None when another transaction holds it. Raises NotFound
    (`customer_not_found`) for a customer without one: unknown, or re-keyed (wallets.customers)
    while this transaction waited for the lock."""
    wallets = Wallet.objects.select_for_update(skip_locked=skip_locked)
    wallets = wallets.filter(customer_id=customer_id) if wallet_id is None else wallets.filter(pk=wallet_id)
    if skip_locked:
        return wallets.first()
    if wallet_id is None:
        wallet = wallets.first()
        if wallet is None:
            raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
        return wallet
    return wallets.get()


# The customer's fields the engine's rules read (events.rewarding.event_facts), read with the lock.
RULE_FIELDS = ("id", "tags", "registration_date", "tier_id", "consent")


def wallet_lock_with_customer(*, customer_id: str) -> tuple[Wallet, Customer]:
    """Lock the customer's wallet and read the customer's rule fields (RULE_FIELDS) in one
    statement. On PostgreSQL the customer row is locked too, FOR KEY SHARE (it blocks no update
    of it, only its deletion or re-keying): a request that waited for the wallet lock then gets
    the customer as it stands after the wait, since PostgreSQL re-reads a row it locks that a
    transaction committed a change to meanwhile (a tag or tier change is never missed; without
    the lock it would see its snapshot from before the wait). Raises NotFound
    (`customer_not_found`) as `wallet_lock` does."""
    locks = " FOR UPDATE OF w FOR KEY SHARE OF c" if connection.vendor == "postgresql" else ""
    columns = ", ".join(f"c.{Customer._meta.get_field(name).column}" for name in RULE_FIELDS)
    found = rows_as(
        Customer,
        f"SELECT {columns}, w.id AS wallet_pk FROM wallets_wallet w "  # noqa: S608 (no input in it)
        f"JOIN wallets_customer c ON c.id = w.customer_id WHERE w.customer_id = %s{locks}",
        [customer_id],
    )
    if not found:
        raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
    customer = found[0]
    wallet = Wallet(id=_uuid(customer.wallet_pk), customer_id=customer.pk)
    wallet._state.adding, wallet._state.db = False, customer._state.db
    return wallet, customer


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def wallets_lock(*, customer_ids) -> list:
    """Lock several customers' wallets at once, in id order (the one order every multi-wallet
    lock takes, so that two of them never deadlock)."""
    if not customer_ids:
        return []
    return list(
        Wallet.objects.select_for_update()
        .filter(customer_id__in=customer_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
