"""Historical ledger rows (`POST /customers/migrate/transactions`, `import_programme --kind
transactions`): a customer's history on the platform it comes from, kept as records
(importing.models.HistoricalTransaction), never as movements: the balance moved in with the
customer (its MIGRATION rows), and the history must prove it.

Reconciliation: for every reward a customer's imported history or its migrated balance names,
the history's amounts (what was imported before and this batch's, each key once) must sum to the
customer's MIGRATION rows of that reward. A customer that does not reconcile has none of its
rows imported: the API refuses the whole call (422, naming each customer, reward and difference)
when its customers are already imported, and the job or the command refuses that customer's
records (code "unreconciled") otherwise. So a customer's history comes whole, in one call or in
consecutive lines of one file (the command never splits a customer's run of lines across
batches).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from campaigns.models import Brand, Reward
from core.amounts import exact
from importing.models import HistoricalTransaction
from importing.records import (
    ALREADY_IMPORTED,
    MAX_KEY,
    BatchResult,
    Issue,
    RecordError,
    amount,
    bounded_object,
    import_lock,
    moment,
    record,
    text,
    uuid_text,
)
from wallets.models import Customer, Transaction

TYPES = ("ACCUMULATION", "REDEMPTION", "EXPIRATION", "MIGRATION", "TRANSFER", "REVERSAL", "ADJUSTMENT")


def transaction_record_clean(raw) -> dict:
    """One record of `{"transactions": [...]}`: `customer_id`, `reward_id`, `type` (one of TYPES),
    `amount` (signed, not 0), `created_at` (not in the future) required; `id`, `brand_id`,
    `event_id`, `campaign_id`, `details` (an object) kept. Raises RecordError."""
    raw = record(raw)
    out = {
        "customer_id": text(raw, "customer_id", required=True),
        "reward_id": uuid_text(raw, "reward_id"),
        "brand_id": text(raw, "brand_id") or None,
        "type": text(raw, "type", required=True, max_length=32).upper(),
        "amount": amount(raw, "amount", nonzero=True),
        "created_at": moment(raw, "created_at", required=True, past=True),
        "details": dict(bounded_object(raw, "details")),
    }
    if out["type"] not in TYPES:
        raise RecordError("invalid", f"type: one of {', '.join(TYPES)}")
    for name in ("event_id", "campaign_id"):
        if raw.get(name) not in (None, ""):
            out["details"][name] = text(raw, name)
    if raw.get("id") not in (None, ""):
        out["key"] = "id:" + text(raw, "id", max_length=MAX_KEY - 3)
    else:
        fields = [out["customer_id"], out["reward_id"], out["type"], str(out["amount"]), out["created_at"].isoformat()]
        out["key"] = "sha256:" + hashlib.sha256(json.dumps(fields).encode()).hexdigest()
    return out


def migrated_balances(customer_ids) -> dict[tuple[str, str], Decimal]:
    """{(customer id, reward id): the sum of its MIGRATION rows} (one query)."""
    rows = (
        Transaction.objects.filter(type=Transaction.Type.MIGRATION, wallet__customer_id__in=customer_ids)
        .values_list("wallet__customer_id", "reward_id")
        .annotate(s=Sum("amount"))
    )
    return {(customer_id, str(reward_id)): exact(s) for customer_id, reward_id, s in rows}


def unreconciled(records: list[dict]) -> dict[str, list[str]]:
    """{customer id: what does not add up} for the customers of `records` that are imported
    (others are judged when their records are written): each reward whose history (imported
    before, and these records, each key once) differs from the migrated balance. Three queries."""
    customer_ids = {r["customer_id"] for r in records}
    imported = set(Customer.objects.filter(pk__in=customer_ids, imported_at__isnull=False).values_list("pk", flat=True))
    mine = [r for r in records if r["customer_id"] in imported]
    return _differences(mine, imported)


def _differences(records: list[dict], customer_ids: set[str]) -> dict[str, list[str]]:
    if not customer_ids:
        return {}
    known = set(HistoricalTransaction.objects.filter(key__in=[r["key"] for r in records]).values_list("key", flat=True))
    history: dict = defaultdict(Decimal)
    for customer_id, reward_id, s in (
        HistoricalTransaction.objects.filter(customer_id__in=customer_ids)
        .values_list("customer_id", "reward_id")
        .annotate(s=Sum("amount"))
    ):
        history[(customer_id, str(reward_id))] += exact(s)
    seen = set(known)
    for r in records:
        if r["key"] not in seen:
            seen.add(r["key"])
            history[(r["customer_id"], r["reward_id"])] += r["amount"]
    balances = migrated_balances(customer_ids)
    out: dict[str, list[str]] = defaultdict(list)
    for customer_id, reward_id in sorted(set(history) | set(balances)):
        have, want = (
            history.get((customer_id, reward_id), Decimal(0)),
            balances.get((customer_id, reward_id), Decimal(0)),
        )
        if have != want:
            out[customer_id].append(
                f"reward {reward_id}: transactions sum to {_plain(have)}, migrated balance is {_plain(want)} "
                f"(difference {_plain(have - want)})"
            )
    return dict(out)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def transactions_import(
    records: list[dict], *, api_key=None, brands: set[str] | None = None, now: datetime | None = None
) -> BatchResult:
    """Write a batch of cleaned records (transaction_record_clean) in one transaction and a fixed
    number of statements. Per record (its index in `records`): "already_imported" (skipped),
    "duplicate_record", "unknown_customer" (not imported: only migrated customers have a history),
    "unknown_reward", "unknown_brand" (a brand-restricted key's reward or brand of another brand
    answers the same), "unreconciled" (every record of a customer whose history does not add up)."""
    now = now or timezone.now()
    result = BatchResult()
    with transaction.atomic():
        import_lock()
        done = set(
            HistoricalTransaction.objects.filter(key__in=[r["key"] for r in records]).values_list("key", flat=True)
        )
        customers = set(
            Customer.objects.filter(pk__in={r["customer_id"] for r in records}, imported_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        rewards = _rewards({r["reward_id"] for r in records}, brands)
        known_brands = set(
            Brand.objects.filter(pk__in={r["brand_id"] for r in records if r["brand_id"]}).values_list("pk", flat=True)
        )
        if brands is not None:
            known_brands &= brands
        seen: set[str] = set()
        candidates: list[tuple[int, dict]] = []
        for index, rec in enumerate(records):
            problem = _refusal(rec, done, seen, customers, rewards, known_brands)
            if problem:
                result.answer(Issue(index, rec["key"], *problem))
                continue
            seen.add(rec["key"])
            candidates.append((index, rec))
        differences = _differences([rec for _, rec in candidates], {rec["customer_id"] for _, rec in candidates})
        rows = []
        for index, rec in candidates:
            if rec["customer_id"] in differences:
                message = f"customer {rec['customer_id']!r}: " + "; ".join(differences[rec["customer_id"]])
                result.errors.append(Issue(index, rec["key"], "unreconciled", message))
                continue
            rows.append(
                HistoricalTransaction(
                    key=rec["key"],
                    customer_id=rec["customer_id"],
                    reward_id=rec["reward_id"],
                    brand_id=rec["brand_id"],
                    type=rec["type"],
                    amount=rec["amount"],
                    created_at=rec["created_at"],
                    details=rec["details"],
                )
            )
        HistoricalTransaction.objects.bulk_create(rows, batch_size=1000)
        result.imported = len(rows)
    return result


def _rewards(ids: set[str], brands: set[str] | None) -> set[str]:
    rows = Reward.objects.filter(pk__in=ids)
    if brands is not None:
        rows = rows.filter(Q(brand__isnull=True) | Q(brand_id__in=brands))
    return {str(pk) for pk in rows.values_list("pk", flat=True)}


def _refusal(rec, done, seen, customers, rewards, brands) -> tuple[str, str] | None:
    if rec["key"] in done:
        return ALREADY_IMPORTED, "this transaction was imported before"
    if rec["key"] in seen:
        return "duplicate_record", "the same transaction is earlier in this batch"
    if rec["customer_id"] not in customers:
        return "unknown_customer", f"customer {rec['customer_id']!r} not found among the imported customers"
    if rec["reward_id"] not in rewards:
        return "unknown_reward", f"reward {rec['reward_id']!r} not found"
    if rec["brand_id"] is not None and rec["brand_id"] not in brands:
        return "unknown_brand", f"brand {rec['brand_id']!r} not found"
    return None
