"""Every write to customers, wallets and the ledger.

Lifecycle of a wallet line: PENDING (its event is held; remaining 0) -> AVAILABLE (fulfilled;
ACCUMULATION row) -> EXPIRED (EXPIRATION row) or REVERSED (REVERSAL rows). A held event's
redemption puts RESERVATION rows on the lines it will consume; fulfilment turns them into
RELEASE + REDEMPTION, expiry or cancellation into RELEASE.

Invariants (checked by `ledger_verify`):
- per line: remaining = its non-reservation rows, reserved = its reservation rows, 0 <= reserved <= remaining;
- per wallet and reward: balance, reserved and debt equal the sums of the rows, pending equals
  the PENDING lines; spendable total = balance - reserved (less lines past their date);
- every event that ends REVERSED, CANCELLED, EXPIRED or FAILED nets to zero.

Lock order: the caller locks the event (if any), then `wallet_ledger` takes the wallet row.
Every function here that changes a balance takes the Ledger of an open
`with wallet_ledger(...) as ledger:` block (which holds that lock and writes on exit); none of
them commits on its own.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum

from campaigns.engine import Grant, expiration_date
from campaigns.models import ApiKey, Tier
from core.amounts import exact
from core.exceptions import Conflict, InvalidInput
from core.unset import UNSET, given
from wallets import hooks
from wallets.announce import customer_announce, lines_expired_announce
from wallets.ledger import ZERO, Ledger, lines_by_id, wallet_ledger
from wallets.limits import grant_limits_check
from wallets.locks import wallet_lock
from wallets.models import Customer, Transaction, Wallet, WalletLine
from wallets.profile import profile_changes, tags_merged
from wallets.redeeming import Redemption, spendable_lines, wallet_redeem  # noqa: F401 (the services' API)

T = Transaction.Type
S = WalletLine.State


def customer_id_problem(customer_id: str) -> str | None:
    """Why a customer id could not be read back in a URL (`/customers/{id}`), or None: a `/`
    ends the path segment, control characters do not survive a URL, `.` and `..` are rewritten
    by every HTTP client."""
    if "/" in customer_id:
        return "must not contain '/'"
    if any(unicodedata.category(char) == "Cc" for char in customer_id):
        return "must not contain control characters"
    if customer_id in (".", ".."):
        return "must not be '.' or '..'"
    return None


def customer_register(
    *,
    id: str,
    name: str = "",
    email: str = "",
    status: str = Customer.Status.ACTIVE,
    tags: dict | None = None,
    metadata: dict | None = None,
    registration_date: datetime | None = None,
    registered_by: ApiKey | None = None,
    brand_id: str | None = None,
    record_event: bool = True,
    **profile: Any,
) -> Customer:
    """Create a customer in the base tier and its one wallet together (`registered_by`: the API
    key that asked; `profile`: Masivo's profile fields, wallets.profile.PROFILE_FIELDS), and, in
    the same transaction, its REGISTRATION event at `brand_id` or the default brand
    (events.lifecycle; `record_event=False` for imports and for a key left without brands). Raises
    InvalidInput for an id that could not be read back or a document half given, Conflict if the
    id is taken."""
    problem = customer_id_problem(id)
    if problem:
        raise InvalidInput({"id": problem})
    base = Tier.objects.order_by("level").first()
    if base is None:  # created by the migrations; without it no customer can be registered
        raise RuntimeError("no base tier (level 1): run the migrations")
    fields = {
        "name": name,
        "email": email,
        "status": status,
        "tags": tags or {},
        "metadata": metadata or {},
        "tier": base,
        "registered_by": registered_by,
        **profile_changes(None, profile),
    }
    if registration_date is not None:
        fields["registration_date"] = registration_date
    with transaction.atomic():  # the customer, its wallet and its REGISTRATION event, together
        try:
            with transaction.atomic():
                customer = Customer.objects.create(id=id, **fields)
                Wallet.objects.create(customer=customer)
        except IntegrityError as exc:
            raise Conflict(f"customer {id!r} already exists", code="customer_exists") from exc
        if record_event:  # imports record none, and announce none (SPEC section 8, Migration)
            event = hooks.registration_record(customer, brand_id=brand_id)
            customer_announce(
                "CUSTOMER_REGISTRATION",
                customer,
                brand_id=event.brand_id if event else brand_id,
                version=getattr(event, "programme_version", None),  # the emit read it
            )
    return customer


def customer_update(
    *,
    customer_id: str,
    name: str = UNSET,
    email: str = UNSET,
    status: str = UNSET,
    metadata: dict = UNSET,
    tags: dict = UNSET,
    **profile: Any,
) -> Customer:
    """Replace the given fields; merge `tags` (a key set to None is removed) and `consent`
    (wallets.profile; `profile`: its PROFILE_FIELDS). Locks the customer's wallet first, as every
    write to a customer does, so a tag or consent change and an event being evaluated never
    interleave. Raises NotFound, InvalidInput (over MAX_TAGS, a document half given)."""
    fields = given(name=name, email=email, status=status, metadata=metadata)
    with transaction.atomic():
        wallet_lock(customer_id=customer_id)  # NotFound for an unknown customer
        customer = Customer.objects.get(pk=customer_id)
        if tags is not UNSET and tags is not None:
            fields["tags"] = tags_merged(customer.tags, tags)
        fields.update(profile_changes(customer, profile))
        for name_, value in fields.items():
            setattr(customer, name_, value)
        if fields:
            customer.save(update_fields=[*fields, "updated_at"])
    return customer


def customer_tier_set(*, customer: Customer, tier_id) -> None:
    """Put the customer in a tier (the engine's tier move; the caller holds the wallet lock)."""
    Customer.objects.filter(pk=customer.pk).update(tier_id=tier_id)
    customer.tier_id = tier_id


def lines_count_against_budget(*, lines: QuerySet) -> Decimal:
    """Mark these lines as counted against their campaign's budget (so their undoing gives it
    back) and return what they granted. The caller holds the campaign's row lock."""
    lines.update(budgeted=True)
    return exact(lines.aggregate(total=Sum("amount"))["total"])


# ---- accumulation ------------------------------------------------------------------------------


def wallet_accumulate(
    *,
    ledger: Ledger,
    grants: list[Grant],
    hold: bool,
    issued_at: datetime,
    brand_id: str,
    reservation_expires_at: datetime | None = None,
) -> list[WalletLine]:
    """One line per grant: PENDING (no row yet) when the event is held, else AVAILABLE with an
    ACCUMULATION row, paying any debt of that reward first; a line whose date has already passed
    (a back-dated event) is born expired instead (`Ledger.post_line`). Raises LimitExceeded,
    before adding anything, past MAX_EVENT_GRANT or MAX_WALLET_AMOUNT (wallets.limits)."""
    grant_limits_check(ledger=ledger, grants=grants, issued_at=issued_at)
    lines = []
    for grant in grants:
        line = ledger.add_line(
            reward_id=grant.reward_id,
            campaign_id=grant.campaign_id,
            rule_id=grant.rule_id,
            brand_id=brand_id,
            budgeted=grant.budgeted,
            event_id=ledger.event_id,
            amount=grant.amount,
            state=S.PENDING if hold else S.AVAILABLE,
            issued_at=issued_at,
            expiration_date=expiration_date(grant.expiration, issued_at),
            reservation_expires_at=reservation_expires_at if hold else None,
        )
        if hold:
            ledger.total(grant.reward_id).pending += grant.amount
        else:
            ledger.post_line(line)
        lines.append(line)
    return lines


# ---- the held event ends ----------------------------------------------------------------------


def wallet_post_pending(*, ledger: Ledger) -> None:
    """Fulfilment: the event's PENDING lines become AVAILABLE (ACCUMULATION rows) and its
    reservations are consumed (RELEASE + REDEMPTION on the same lines)."""
    for line in ledger.event_lines():
        if line.wallet_id != ledger.wallet.pk or line.state != S.PENDING:
            continue
        ledger.total(line.reward_id).pending -= line.amount
        ledger.post_line(line)
    for line, amount, place in _reservations(ledger):
        ledger.row(T.RELEASE, -amount, reward_id=line.reward_id, line=line, details={"consumed": True})
        ledger.row(T.REDEMPTION, -amount, reward_id=line.reward_id, line=line, details={"place": place})


def wallet_release(*, ledger: Ledger, drop_state: str) -> None:
    """Expiry or cancellation of a held event: its PENDING lines are dropped (to `drop_state`)
    and its reservations return to their lines; a line that expired meanwhile expires the
    returned amount at once; a line reversed meanwhile gives it to the debt."""
    pending = WalletLine.objects.filter(wallet=ledger.wallet, event_id=ledger.event_id, state=S.PENDING)
    _release_moves(ledger, pending, lambda: _reservations(ledger), drop_state)


@dataclass
class HeldBatch:
    """Held events of several wallets ending unfulfilled together (the expiry sweep), read in a
    fixed number of queries (`held_batch_load`) and released one by one in memory
    (`held_batch_release`) on the Ledgers of one `wallets_ledger` block."""

    ledgers: dict  # wallet id -> Ledger
    wallet_of: dict  # event id -> wallet id
    lines: dict  # event id -> every line of the event, in id order
    reservations: dict  # event id -> [(line, amount, place)], as _reservations answers
    reserved_lines: dict  # line id -> the line (one object per line for the whole batch)


def held_batch_load(*, ledgers: dict, holds: list[tuple]) -> HeldBatch:
    """`holds`: (event id, wallet id) of each held event; `ledgers`: wallets_ledger's. Three
    queries whatever the number of events: their lines, their reservation rows, the lines
    those rows reserve."""
    wallet_of = dict(holds)
    lines: dict = defaultdict(list)
    # (their own timestamps are not read: the Ledger writes updated_at, nothing shows them)
    for line in (
        WalletLine.objects.filter(event_id__in=list(wallet_of)).defer("created_at", "updated_at").order_by("id")
    ):
        lines[line.event_id].append(line)
    held: dict = defaultdict(lambda: defaultdict(Decimal))
    places: dict = defaultdict(dict)
    for event_id, wallet_id, line_id, amount, details in Transaction.objects.filter(
        event_id__in=list(wallet_of), type__in=Transaction.RESERVATION_TYPES
    ).values_list("event_id", "wallet_id", "line_id", "amount", "details"):
        if wallet_of.get(event_id) == wallet_id:
            held[event_id][line_id] += amount
            places[event_id].setdefault(line_id, (details or {}).get("place", "redeem"))
    reserved_lines = WalletLine.objects.defer("created_at", "updated_at").in_bulk(
        list({line_id for by_line in held.values() for line_id in by_line})
    )
    reservations = {
        event_id: [
            (reserved_lines[line_id], amount, places[event_id][line_id])
            for line_id, amount in sorted(by_line.items())
            if amount > 0
        ]
        for event_id, by_line in held.items()
    }
    return HeldBatch(ledgers, wallet_of, lines, reservations, reserved_lines)


def held_batch_release(batch: HeldBatch, *, event_id, drop_state: str) -> Ledger:
    """wallet_release of one event of the batch, in memory, on its wallet's Ledger (whose rows
    are booked on this event from now on). Returns that Ledger."""
    wallet_id = batch.wallet_of[event_id]
    ledger = batch.ledgers[wallet_id]
    ledger.event_id = event_id
    pending = [
        line for line in batch.lines.get(event_id, ()) if line.state == S.PENDING and line.wallet_id == wallet_id
    ]
    _release_moves(ledger, pending, lambda: batch.reservations.get(event_id, ()), drop_state)
    return ledger


def _release_moves(ledger: Ledger, pending, reservations, drop_state: str) -> None:
    for line in pending:
        ledger.total(line.reward_id).pending -= line.amount
        line.state = drop_state
        line.reservation_expires_at = None
        ledger.touch(line)
    for line, amount, _place in reservations():
        ledger.row(T.RELEASE, -amount, reward_id=line.reward_id, line=line)
        if line.state == S.EXPIRED:
            ledger.row(
                T.EXPIRATION,
                -amount,
                reward_id=line.reward_id,
                line=line,
                event_id=line.event_id,
                details={"trigger_event_id": str(ledger.event_id)},
            )
        elif line.state == S.REVERSED:
            ledger.row(T.REVERSAL, -amount, reward_id=line.reward_id, line=line, details={"released": True})
            ledger.give_back(line, amount, type_=T.REVERSAL, details={"released": True})


def _reservations(ledger: Ledger):
    """(line, amount, place) for each reservation the event holds."""
    rows = list(
        Transaction.objects.filter(
            event_id=ledger.event_id, wallet=ledger.wallet, type__in=Transaction.RESERVATION_TYPES
        ).values("line_id", "amount", "details")
    )
    held: dict[int, Decimal] = defaultdict(Decimal)
    places: dict[int, str] = {}
    for row in rows:
        held[row["line_id"]] += row["amount"]
        places.setdefault(row["line_id"], (row["details"] or {}).get("place", "redeem"))
    lines = lines_by_id(held)
    return [(lines[line_id], amount, places[line_id]) for line_id, amount in sorted(held.items()) if amount > 0]


# ---- reversal of a resolved event ----------------------------------------------------------------


def wallet_reverse(*, ledger: Ledger) -> None:
    """Undo everything a RESOLVED event did: take back what each of its lines still holds
    (what was spent or paid to debt becomes debt again) and return each redemption to the lines
    it consumed. Every row negates a stored amount; nothing is recomputed from rules."""
    lines = [
        line
        for line in ledger.event_lines()
        if line.wallet_id == ledger.wallet.pk and line.state in (S.AVAILABLE, S.EXPIRED)
    ]
    # in one read: what expired from those lines, and what the event redeemed (from which lines)
    expired: dict[int, Decimal] = defaultdict(Decimal)
    spent: dict[int, Decimal] = defaultdict(Decimal)
    for type_, line_id, amount in Transaction.objects.filter(
        Q(line_id__in=[line.pk for line in lines], type=T.EXPIRATION)
        | Q(event_id=ledger.event_id, wallet=ledger.wallet, type=T.REDEMPTION)
    ).values_list("type", "line_id", "amount"):
        if type_ == T.EXPIRATION:
            expired[line_id] += amount
        else:
            spent[line_id] -= amount
    for line in lines:
        taken = line.free if line.state == S.AVAILABLE else ZERO
        ledger.row(T.REVERSAL, -taken, reward_id=line.reward_id, line=line)
        shortfall = line.amount - taken + exact(expired.get(line.pk))
        if shortfall > 0:
            ledger.row(
                T.REVERSAL,
                -shortfall,
                reward_id=line.reward_id,
                brand_id=line.brand_id,
                campaign_id=line.campaign_id,
                details={"debt": True, "line_id": line.pk},
            )
        line.state = S.REVERSED
        ledger.touch(line)
    consumed = lines_by_id(spent)
    for line_id, amount in sorted(spent.items()):
        ledger.give_back(consumed[line_id], amount, type_=T.REVERSAL)


# ---- expiry of lines --------------------------------------------------------------------------------


def wallet_expire_lines(*, ledger: Ledger, now: datetime) -> list[WalletLine]:
    """EXPIRATION rows for the wallet's AVAILABLE lines past their date (what is reserved by a
    held event stays until the hold ends). Returns the lines expired."""
    due = list(WalletLine.objects.filter(wallet=ledger.wallet, state=S.AVAILABLE, expiration_date__lte=now))
    for line in due:
        ledger.expire(line)
    return due


def wallet_ids_with_due_lines(*, now: datetime, limit: int) -> list:
    return list(
        WalletLine.objects.filter(state=S.AVAILABLE, expiration_date__lte=now)
        .values_list("wallet_id", flat=True)
        .distinct()[:limit]
    )


def wallet_expire_due(*, now: datetime, batch_size: int = 200) -> int:
    """Expire due lines wallet by wallet, each wallet in its own transaction, skipping wallets
    another worker holds (they are picked up by the next run). Returns lines expired."""
    count = 0
    for wallet_id in wallet_ids_with_due_lines(now=now, limit=batch_size):
        with transaction.atomic():
            with wallet_ledger(wallet_id=wallet_id, now=now, skip_locked=True) as ledger:
                if ledger is None:
                    continue
                due = wallet_expire_lines(ledger=ledger, now=now)
            lines_expired_announce(wallet=ledger.wallet, lines=due, now=now)
            count += len(due)
    return count
