"""Redemption: consuming (or, for a held event, reserving) what a customer spends, from the
wallet's lines in consumption order, in time linear in lines + redemptions. Part of the wallet
services (wallets.services re-exports it); every function takes the Ledger of an open
`wallet_ledger` block."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q, QuerySet

from core.exceptions import InsufficientBalance, LimitExceeded
from wallets.ledger import ZERO, Ledger, lines_by_id
from wallets.models import Transaction, Wallet, WalletLine

T = Transaction.Type
S = WalletLine.State


@dataclass
class Redemption:
    reward_id: str
    amount: Decimal
    place: str = "redeem"  # where in the event it was asked for
    reward_type: str = "POINTS"
    conditions: dict = field(default_factory=dict)


def spendable_lines(*, wallet: Wallet, reward_id, now: datetime) -> QuerySet[WalletLine]:
    """One reward's lines that can be spent now, in consumption order: earliest expiration first
    (never-expiring last), then oldest, then first created (the id makes the order total, so
    that slices of it never overlap). `remaining > 0` follows from `remaining > reserved`, but
    said, it lets PostgreSQL read the partial index of lines with something left (line_live_idx)
    instead of every spent line of the wallet's history."""
    return (
        WalletLine.objects.filter(wallet=wallet, reward_id=reward_id, state=S.AVAILABLE, remaining__gt=0)
        .filter(remaining__gt=F("reserved"))
        .filter(Q(expiration_date__isnull=True) | Q(expiration_date__gt=now))
        .order_by(F("expiration_date").asc(nulls_last=True), "issued_at", "id")
    )


class _SpendableLines:
    """One reward's spendable lines, read only as far as the redemptions reach, and the cursor
    where the next redemption continues.

    Consumption used to read every spendable line of the reward, and each redemption walked the
    list again from its first line past every line the previous ones had emptied: redemptions x
    lines (issue 15 item 7: 20,000 lines, 15,000 redemptions, 30 s under the wallet's lock).
    Now the lines' free amounts are read (ids and amounts only, cheap) in slices of the
    consumption order that double in size (FIRST_READ, then as many again as are read) until
    they cover what is asked, so reaching n lines costs about log2(n / FIRST_READ) + 1 queries
    and reads fewer than 2n + FIRST_READ rows, however many the wallet holds; then only the
    lines consumption will touch are loaded as WalletLines (one more query); and each redemption
    starts at the cursor: every line before it is empty, so the walk is lines + redemptions.
    Same lines, same order, same amounts as the full read. A refusal reads every line's amount
    (to name the spendable total) but loads none."""

    FIRST_READ = 256

    def __init__(self, lines: QuerySet[WalletLine]):
        self.query = lines.values_list("pk", "remaining", "reserved")
        self.free_by_line: list[tuple[int, Decimal]] = []  # (line id, free), in consumption order
        self.free = ZERO  # what the lines read so far hold, less what is reserved on them
        self.exhausted = False
        self.lines: list[WalletLine] = []
        self.cursor = 0  # the first loaded line that may still have something free

    def read_until(self, amount: Decimal) -> bool:
        """Read further lines until those read hold `amount` free or none is left; whether they do."""
        while self.free < amount and not self.exhausted:
            done = len(self.free_by_line)
            size = max(self.FIRST_READ, done)
            batch = [(pk, remaining - reserved) for pk, remaining, reserved in self.query[done : done + size]]
            self.free_by_line += batch
            self.free += sum((free for _, free in batch), ZERO)
            self.exhausted = len(batch) < size
        return self.free >= amount

    def needed(self, amount: Decimal) -> list[int]:
        """The first lines read that together hold `amount` free: those consumption takes from."""
        ids, held = [], ZERO
        for pk, free in self.free_by_line:
            if held >= amount:
                break
            ids.append(pk)
            held += free
        return ids

    def load(self, ids: list[int]) -> None:
        loaded = lines_by_id(ids)
        self.lines = [loaded[pk] for pk in ids]

    def next_line(self) -> WalletLine:
        """The first loaded line with something free (load made sure there is one)."""
        while self.lines[self.cursor].free <= 0:
            self.cursor += 1
        return self.lines[self.cursor]


def wallet_redeem(*, ledger: Ledger, redemptions: list[Redemption], hold: bool) -> list[dict]:
    """Consume (or, for a held event, reserve) the amounts from the lines in consumption order,
    each redemption in the order asked continuing where the previous one of its reward stopped.
    Raises InsufficientBalance, before writing anything, if any reward's spendable total (what
    its spendable lines hold free, less its debt) is short, and LimitExceeded
    `redemption_lines_limit` if the event would consume more than LOYALTY_MAX_LINES_PER_EVENT
    lines (each one a ledger row and a line update, under the wallet's lock: the bound keeps
    the worst event allowed well under a second; bench/redeem_bench.py); the caller's transaction then rolls
    everything back. Reads each reward's lines only as far as the redemptions reach
    (_SpendableLines); a refusal reads every line's amount, to name the spendable total."""
    if not redemptions:
        return []
    wanted: dict[str, Decimal] = defaultdict(Decimal)
    for item in redemptions:
        wanted[str(item.reward_id)] += item.amount
    by_reward: dict[str, _SpendableLines] = {}
    for reward_id, amount in wanted.items():
        lines = by_reward[reward_id] = _SpendableLines(
            spendable_lines(wallet=ledger.wallet, reward_id=reward_id, now=ledger.now)
        )
        debt = ledger.total(reward_id).debt
        if not lines.read_until(amount + debt):
            spendable = lines.free - debt  # every spendable line was read
            raise InsufficientBalance(
                f"reward {reward_id}: asked {amount}, spendable {max(spendable, ZERO)}",
                reward_id=reward_id,
            )
    needed = {reward_id: by_reward[reward_id].needed(amount) for reward_id, amount in wanted.items()}
    lines_limit = settings.LOYALTY_MAX_LINES_PER_EVENT
    if sum(len(ids) for ids in needed.values()) > lines_limit:
        reward_id = max(needed, key=lambda r: len(needed[r]))
        raise LimitExceeded(
            f"one event may consume at most {lines_limit} wallet lines (the lines limit); this one "
            f"would consume {sum(len(ids) for ids in needed.values())} (reward {reward_id} is spread over "
            f"{len(needed[reward_id])} lines): redeem it in several events",
            code="redemption_lines_limit",
            limit=lines_limit,
            reward_id=reward_id,
        )
    for reward_id, ids in needed.items():
        by_reward[reward_id].load(ids)
    taken = []
    for item in redemptions:
        lines = by_reward[str(item.reward_id)]
        left = item.amount
        while left > 0:
            line = lines.next_line()
            part = min(line.free, left)
            if hold:
                ledger.row(T.RESERVATION, part, reward_id=line.reward_id, line=line, details={"place": item.place})
            else:
                ledger.row(T.REDEMPTION, -part, reward_id=line.reward_id, line=line, details={"place": item.place})
            taken.append({"line_id": line.pk, "reward_id": str(line.reward_id), "amount": part, "place": item.place})
            left -= part
    return taken
