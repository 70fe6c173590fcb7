"""The one way to move money: `with wallet_ledger(...) as ledger:`.

`wallet_ledger` locks the wallet row (the lock every balance change holds), preloads the
rewards the movements will name, yields a `Ledger` that records every movement in memory
(ledger rows, line changes, total changes), and writes them all in a fixed number of queries
when the block exits cleanly. On an exception nothing is written, and the caller's transaction
rolls back whatever else it did. No caller builds a Ledger or flushes one by hand, so no caller
can forget to write what it moved.

It must run inside `transaction.atomic()` (the caller's service owns the transaction; the
ledger refuses to run outside one). Lock order: the caller locks the event (if any) first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q

from campaigns import cache as programme_cache
from campaigns.models import Reward
from core.amounts import cost_of
from core.bulk import insert_objects
from core.rows import rows_as
from wallets.ledger_batch import flush_ledgers
from wallets.locks import wallet_lock, wallet_lock_with_customer
from wallets.models import Customer, Transaction, Wallet, WalletLine, WalletTotal
from wallets.selectors import totals_and_version

T = Transaction.Type
ZERO = Decimal(0)
_THIS_EVENT = object()  # row(): the ledger's own event


@contextmanager
def wallet_ledger(
    *,
    now: datetime,
    customer_id: str | None = None,
    wallet_id=None,
    event_id=None,
    reward_ids: Iterable = (),
    event_rewards: bool = False,
    skip_locked: bool = False,
    with_customer: bool = False,
) -> Iterator[Ledger | None]:
    """Lock the wallet (by customer or wallet id), preload the rewards (`reward_ids`, or with
    `event_rewards` every reward the event's lines and rows name), yield the Ledger, and write
    everything it recorded on a clean exit. With `skip_locked`, yields None (and writes nothing)
    when another transaction holds the wallet. Raises RuntimeError outside a transaction.

    `with_customer` (by customer id; emit's hot path, issue 11): the customer's rule fields come
    with the lock (`ledger.customer`, wallet_lock_with_customer), and the wallet's totals with the
    programme version (`ledger.programme_version`) in the next statement, read after the lock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("wallet_ledger must run inside transaction.atomic()")
    customer = None
    if with_customer:
        wallet, customer = wallet_lock_with_customer(customer_id=customer_id)
    else:
        wallet = wallet_lock(customer_id=customer_id, wallet_id=wallet_id, skip_locked=skip_locked)
    if wallet is None:
        yield None
        return
    ledger = Ledger(wallet=wallet, event_id=event_id, now=now, customer=customer)
    if with_customer:
        ledger.programme_version = ledger.load_totals_and_version()
    if event_rewards and with_customer:
        # every reward the event moved has a total in this wallet (each movement goes through
        # one): the totals' rewards, from the programme cache at the version just read
        ledger.load_rewards({t.reward_id for t in ledger._totals.values()}, version=ledger.programme_version)
    elif event_rewards:
        touched = Q(pk__in=WalletLine.objects.filter(event_id=event_id).values("reward_id")) | Q(
            pk__in=Transaction.objects.filter(event_id=event_id).values("reward_id")
        )
        ledger.rewards = {str(r.pk): r for r in Reward.objects.filter(touched)}
    else:
        ledger.load_rewards(reward_ids)
    yield ledger
    ledger._flush()


@contextmanager
def wallets_ledger(*, customer_ids: Iterable, now: datetime) -> Iterator[dict]:
    """Several customers' Ledgers at once, for a batch of events (the expiry sweep): locks their
    wallets in id order (re-locking those the caller holds costs no wait), preloads all their
    totals and those totals' rewards (one query each), yields {wallet id: Ledger}, and on a
    clean exit writes what every Ledger recorded in a fixed number of statements, whatever the
    number of wallets and movements. A Ledger books rows on its `event_id`: the caller sets it
    before each event's movements. Raises RuntimeError outside a transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("wallets_ledger must run inside transaction.atomic()")
    wallets = list(
        Wallet.objects.select_for_update()
        .filter(customer_id__in=list(customer_ids))
        .only("id", "customer_id")
        .order_by("pk")
    )
    ledgers = {w.pk: Ledger(wallet=w, event_id=None, now=now, _totals={}) for w in wallets}
    rewards: dict = {}
    totals = list(WalletTotal.objects.filter(wallet_id__in=list(ledgers)))
    for reward in Reward.objects.filter(pk__in={t.reward_id for t in totals}):
        rewards[str(reward.pk)] = reward
    for ledger in ledgers.values():
        ledger.rewards = rewards  # shared: one look-up per reward for the whole batch
    for total in totals:
        ledger = ledgers[total.wallet_id]
        total.wallet = ledger.wallet
        ledger._totals[str(total.reward_id)] = total
    yield ledgers
    flush_ledgers(list(ledgers.values()), now)


_EVENT_LINES = "SELECT * FROM wallets_walletline WHERE event_id = %s ORDER BY id"


@dataclass
class Ledger:
    """What one `wallet_ledger` block moves, kept in memory until the block ends."""

    wallet: Wallet
    event_id: object | None
    now: object
    rows: list[Transaction] = field(default_factory=list)
    new_lines: list[WalletLine] = field(default_factory=list)
    dirty_lines: dict[int, WalletLine] = field(default_factory=dict)
    _totals: dict | None = None
    _new_totals: list[WalletTotal] = field(default_factory=list)
    rewards: dict = field(default_factory=dict)
    customer: Customer | None = None  # wallet_ledger(with_customer=True)
    programme_version: int | None = None  # likewise
    _event_lines: list[WalletLine] | None = None

    def event_lines(self) -> list[WalletLine]:
        """Every line of the ledger's event, in id order, read once: fulfil and reverse move
        these objects, and the event's result then renders them as they were written."""
        if self._event_lines is None:  # in SQL: the queryset cost more to build than the query takes
            event = WalletLine._meta.get_field("event_id").get_db_prep_value(self.event_id, connection)
            self._event_lines = rows_as(WalletLine, _EVENT_LINES, [event])
        return self._event_lines

    def load_totals_and_version(self) -> int:
        """Read the wallet's totals and the programme's version in one statement (after the
        lock: a new snapshot under READ COMMITTED) and return the version (0 before any)."""
        totals, version = totals_and_version(self.wallet.pk)
        self._totals = {str(t.reward_id): t for t in totals}
        return version

    # ---- totals -------------------------------------------------------------------------
    def total(self, reward_id) -> WalletTotal:
        reward_id = str(reward_id)
        if self._totals is None:
            self._totals = {str(t.reward_id): t for t in WalletTotal.objects.filter(wallet=self.wallet)}
        total = self._totals.get(reward_id)
        if total is None:
            total = WalletTotal(wallet=self.wallet, reward_id=reward_id)
            self._totals[reward_id] = total
            self._new_totals.append(total)
        return total

    def totals_with_rewards(self) -> list[WalletTotal] | None:
        """Every total of the wallet as this ledger holds them (read after the lock, with this
        block's movements applied), each with its reward (from the programme cache at the
        ledger's programme version); None if the ledger never read them."""
        if self._totals is None:
            return None
        totals = list(self._totals.values())
        self.load_rewards({t.reward_id for t in totals}, version=self.programme_version)
        for total in totals:
            total.reward = self.rewards[str(total.reward_id)]
        return totals

    def load_rewards(self, reward_ids: Iterable, *, version: int | None = None) -> None:
        """Load the rewards movements will name (one query; none when there are none). With the
        programme `version` the caller read under this ledger's lock, from the programme cache
        (campaigns.cache.rewards: no query while the version holds; its rows are shared, read-only)."""
        missing = [str(pk) for pk in reward_ids if str(pk) not in self.rewards]
        if missing and version is not None:
            self.rewards.update(programme_cache.rewards(missing, version=version))
        elif missing:
            self.rewards.update({str(k): v for k, v in Reward.objects.in_bulk(missing).items()})

    def _reward(self, reward_id) -> Reward:
        """The reward (for its conversion factor), loaded once per ledger if not preloaded."""
        key = str(reward_id)
        if key not in self.rewards:
            self.rewards[key] = Reward.objects.get(pk=key)
        return self.rewards[key]

    # ---- rows ---------------------------------------------------------------------------
    def row(
        self,
        type_: str,
        amount: Decimal,
        *,
        reward_id,
        line: WalletLine | None = None,
        event_id=_THIS_EVENT,
        campaign_id=None,
        brand_id=None,
        details: dict | None = None,
    ) -> None:
        """Record one signed movement and apply it to the line (or the debt) and the total. The
        row belongs to the ledger's event unless `event_id` says otherwise (None: no event)."""
        if amount == 0:
            return
        total = self.total(reward_id)
        if type_ in Transaction.RESERVATION_TYPES:
            line.reserved += amount
            total.reserved += amount
        else:
            total.balance += amount
            if line is None:
                total.debt -= amount
            else:
                line.remaining += amount
        if line is not None and line.pk is not None:
            self.dirty_lines[line.pk] = line
        factor = self._reward(reward_id).conversion_factor
        self.rows.append(
            Transaction(
                type=type_,
                amount=amount,
                wallet=self.wallet,
                reward_id=reward_id,
                line=line,
                event_id=self.event_id if event_id is _THIS_EVENT else event_id,
                campaign_id=campaign_id if campaign_id is not None else (line.campaign_id if line else None),
                brand_id=brand_id if brand_id is not None else (line.brand_id if line else None),
                cost=cost_of(amount, factor),
                created_at=self.now,
                details=details or {},
            )
        )

    def add_line(self, **fields) -> WalletLine:
        line = WalletLine(wallet=self.wallet, remaining=ZERO, reserved=ZERO, **fields)
        self.new_lines.append(line)
        return line

    def touch(self, line: WalletLine) -> None:
        if line.pk is not None:
            self.dirty_lines[line.pk] = line

    def post_line(self, line: WalletLine) -> None:
        """The line becomes AVAILABLE with its ACCUMULATION row and pays the reward's debt first;
        unless its date has passed already (an event back-dated past its effect's expiration, or
        a held one fulfilled after it): then it is born expired, its EXPIRATION row written at
        once by the expiry sweep's own code (`expire`), and it pays no debt, since a line past its
        date stops counting at once (SPEC section 5). "Passed" is the sweep's test: date <= now."""
        line.state = WalletLine.State.AVAILABLE
        line.reservation_expires_at = None
        self.touch(line)
        self.row(T.ACCUMULATION, line.amount, reward_id=line.reward_id, line=line)
        if line.expiration_date is not None and line.expiration_date <= self.now:
            self.expire(line)
        else:
            self.settle_debt(line)

    def expire(self, line: WalletLine) -> None:
        """An AVAILABLE line past its date: its free amount expires (an EXPIRATION row booked on
        the line's own event; what a held event reserves stays until the hold ends) and the line
        is EXPIRED. The expiry sweep's code (wallets.services.wallet_expire_lines), and a grant
        born expired's."""
        self.row(T.EXPIRATION, -line.free, reward_id=line.reward_id, line=line, event_id=line.event_id)
        line.state = WalletLine.State.EXPIRED
        self.touch(line)

    def settle_debt(self, line: WalletLine) -> None:
        """Pay the reward's debt first out of a line that just became spendable."""
        total = self.total(line.reward_id)
        pay = min(line.free, total.debt)
        if pay > 0:
            self.row(T.ADJUSTMENT, -pay, reward_id=line.reward_id, line=line, details={"debt_payment": True})
            self.row(
                T.ADJUSTMENT,
                pay,
                reward_id=line.reward_id,
                brand_id=line.brand_id,
                details={"debt_payment": True, "from_line": None},
            )

    def give_back(self, line: WalletLine, amount: Decimal, *, type_: str, details: dict | None = None) -> None:
        """`amount` comes back to `line` (a redemption reversed): onto the line while it is
        spendable; expired at once if the line has expired; if the line itself was reversed,
        it pays the debt first and any rest becomes a new line of the same reward."""
        details = details or {}
        if line.state == WalletLine.State.AVAILABLE:
            self.row(type_, amount, reward_id=line.reward_id, line=line, details=details)
        elif line.state == WalletLine.State.EXPIRED:
            self.row(type_, amount, reward_id=line.reward_id, line=line, details=details)
            self.row(
                T.EXPIRATION,
                -amount,
                reward_id=line.reward_id,
                line=line,
                event_id=line.event_id,
                details={"trigger_event_id": str(self.event_id) if self.event_id else None},
            )
        else:  # REVERSED
            total = self.total(line.reward_id)
            pay = min(amount, total.debt)
            if pay > 0:
                self.row(
                    type_,
                    pay,
                    reward_id=line.reward_id,
                    brand_id=line.brand_id,
                    campaign_id=line.campaign_id,
                    details={**details, "debt_payment": True},
                )
            rest = amount - pay
            if rest > 0:
                # A restoration, granted by no event: when it expires, its EXPIRATION row must
                # not be booked on the reversed grant (which then would not net to zero).
                new = self.add_line(
                    reward_id=line.reward_id,
                    campaign_id=line.campaign_id,
                    brand_id=line.brand_id,
                    event_id=None,
                    amount=rest,
                    state=WalletLine.State.AVAILABLE,
                    issued_at=self.now,
                    expiration_date=line.expiration_date,
                    rule_id=line.rule_id,
                )
                self.row(
                    type_, rest, reward_id=line.reward_id, line=new, details={**details, "restored_from_line": line.pk}
                )

    # ---- writing --------------------------------------------------------------------------
    def _flush(self) -> None:
        """Write everything in a fixed number of queries, whatever the number of movements
        (called by `wallet_ledger` on a clean exit, never by hand)."""
        if self.new_lines:
            insert_objects(self.new_lines)
        if self.dirty_lines:
            ops = connection.ops
            _executemany(
                "UPDATE wallets_walletline SET remaining = %s, reserved = %s, state = %s, "
                "reservation_expires_at = %s, updated_at = %s WHERE id = %s",
                [
                    (
                        ops.adapt_decimalfield_value(line.remaining, 20, 4),
                        ops.adapt_decimalfield_value(line.reserved, 20, 4),
                        line.state,
                        ops.adapt_datetimefield_value(line.reservation_expires_at),
                        ops.adapt_datetimefield_value(self.now),
                        line.pk,
                    )
                    for line in self.dirty_lines.values()
                ],
            )
        if self.rows:
            for row in self.rows:
                if row.line is not None:
                    row.line_id = row.line.pk
            insert_objects(self.rows)
        if self._new_totals:
            insert_objects(self._new_totals)
        existing = [t for t in (self._totals or {}).values() if t.pk is not None and t not in self._new_totals]
        if existing:
            ops = connection.ops
            _executemany(
                "UPDATE wallets_wallettotal SET balance = %s, reserved = %s, debt = %s, pending = %s WHERE id = %s",
                [
                    tuple(ops.adapt_decimalfield_value(v, 20, 4) for v in (t.balance, t.reserved, t.debt, t.pending))
                    + (t.pk,)
                    for t in existing
                ],
            )
        self.new_lines, self.dirty_lines, self.rows, self._new_totals = [], {}, [], []


def _executemany(sql: str, params: list) -> None:
    """One batched UPDATE per table (psycopg 3 pipelines executemany into one round trip);
    Django's bulk_update builds CASE expressions that cost more than the writes themselves."""
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def lines_by_id(ids: Iterable[int]) -> dict[int, WalletLine]:
    return WalletLine.objects.in_bulk(list(set(ids)))
