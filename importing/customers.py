"""Customers moved in from another platform (`POST /customers/migrate`, `import_programme
--kind customers`): each with its wallet, its balance as MIGRATION rows and its metrics.

`customer_record_clean` reads one record (pure: shape, types, bounds); `customers_import`
writes a batch of cleaned records set-based: a fixed number of statements per batch whatever
its size (COPY on PostgreSQL, core.bulk), in one transaction. What it writes, per customer:

- the customer (base tier, `imported_at`, `registered_by` the key) and its wallet;
- one AVAILABLE line per balance line (`remaining` = `amount`, its own `expiration_date`, no
  campaign, no event) with its MIGRATION row (`created_at` = the line's `issued_at`, else now;
  `details` keeps `channel_id` and `store_id`), and the wallet totals;
- its metrics as brandless buckets (wallets.MetricBucket): each month as given; what
  `lifetime` holds beyond the months goes to the month of the registration date;
- no REGISTRATION event, no welcome campaign, no webhook (SPEC section 8, Migration).

Decisions:
- A balance line already past its `expiration_date` (<= now) is imported EXPIRED, as a grant
  born expired is (wallets.ledger.Ledger.post_line): its MIGRATION row, then its EXPIRATION row
  (at the expiration date, or at the MIGRATION row's moment if that is later). The history is
  kept; the balance does not count it.
- The tier: the one its imported metrics qualify it for (importing.tiers: one metrics read per
  customer when the programme has more than one tier, none otherwise), moved silently; the
  events import recomputes it again from the imported events.
- Outcomes per record (nothing written for it): a customer already imported is skipped
  ("already_imported"); one registered here otherwise is refused ("customer_exists"); an id
  repeated in the batch is refused after its first occurrence ("duplicate"); an unknown reward
  or brand, or one a brand-restricted key may not use, answers "unknown_reward" /
  "unknown_brand" alike; a line's brand other than its reward's "brand_mismatch"; an amount
  finer than the reward's decimals "invalid_amount".

Concurrency: imports take the import lock per batch (importing.records.import_lock, shared by
every kind) and look for existing customers under it, so two imports of overlapping batches (two workers,
a worker and the command) write each customer once. A customer registered through the API
meanwhile makes the COPY fail on its primary key: the batch is rolled back and retried, and the
re-check answers "customer_exists" for it.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.models import Brand, Reward, Tier
from core.amounts import cost_of, quantum
from core.bulk import Table, next_ids
from core.json import jsonable
from importing.metrics import buckets_write, metrics_clean
from importing.records import (
    ALREADY_IMPORTED,
    MAX_TEXT,
    BatchResult,
    Issue,
    RecordError,
    amount,
    bounded_object,
    day,
    import_lock,
    items,
    moment,
    obj,
    record,
    text,
    uuid_text,
)
from importing.tiers import tiers_recompute
from wallets.models import Customer, Transaction, Wallet, WalletLine, WalletTotal
from wallets.profile import MAX_PLATFORMS, MAX_TAG_KEY, MAX_TAGS
from wallets.services import customer_id_problem

MAX_FIELDS = 100  # top-level fields of a record (unknown ones are ignored, not stored)
MAX_LINES = 50  # balance lines of a customer
RETRIES = 3  # a batch that meets a customer registered meanwhile is retried
FIRST_DOB = date(1900, 1, 1)
_email = EmailValidator()
GENDERS = frozenset(["", *Customer.Gender.values])
ZERO = Decimal(0)
S, T = WalletLine.State, Transaction.Type


# ---- cleaning one record (no database) -------------------------------------------------------


def customer_record_clean(raw) -> dict:
    """One customer record of `POST /customers/migrate` (or a line of a file), checked and
    normalised: see docs/importing.md for its shape. Raises RecordError naming the field."""
    raw = record(raw)
    if len(raw) > MAX_FIELDS:
        raise RecordError("invalid", f"a record has at most {MAX_FIELDS} fields")
    customer_id = text(raw, "id", required=True)
    problem = customer_id_problem(customer_id)
    if problem:
        raise RecordError("invalid", f"id: {problem}")
    email = text(raw, "email")
    if email:
        try:
            _email(email)
        except ValidationError:
            raise RecordError("invalid", "email: not a valid e-mail address")
    gender = text(raw, "gender").upper()
    if gender not in GENDERS:
        raise RecordError("invalid", "gender: MALE or FEMALE")
    document = (text(raw, "document_type", max_length=50), text(raw, "document_number", max_length=50))
    if bool(document[0]) != bool(document[1]):
        raise RecordError("invalid", "document_type and document_number go together: give both or neither")
    registration_date = moment(raw, "registration_date", past=True)
    lines = [_line_clean(line, f"balance[{i}]") for i, line in enumerate(items(raw, "balance", max_items=MAX_LINES))]
    return {
        "id": customer_id,
        "name": text(raw, "name"),
        "email": email,
        "registration_date": registration_date,
        "gender": gender,
        "dob": _dob(raw),
        "document_type": document[0],
        "document_number": document[1],
        "country": text(raw, "country", max_length=100),
        "platforms": _platforms(raw),
        "is_anonymous": _flag(raw, "is_anonymous"),
        "tags": jsonable(bounded_object(raw, "tags", max_keys=MAX_TAGS, max_key=MAX_TAG_KEY)),
        "metadata": jsonable(bounded_object(raw, "metadata")),
        "balance": lines,
        "metrics": metrics_clean(obj(raw, "metrics")),
    }


def _line_clean(raw, where: str) -> dict:
    if not isinstance(raw, dict):
        raise RecordError("invalid", f"{where}: must be an object")
    try:
        line = {
            "reward_id": uuid_text(raw, "reward_id"),
            "amount": amount(raw, "amount", positive=True),
            "expiration_date": moment(raw, "expiration_date"),
            "brand_id": text(raw, "brand_id"),
            "channel_id": text(raw, "channel_id"),
            "store_id": text(raw, "store_id"),
            "issued_at": moment(raw, "issued_at", past=True),
        }
    except RecordError as exc:
        raise RecordError(exc.code, f"{where}.{exc.message}")
    if line["issued_at"] and line["expiration_date"] and line["expiration_date"] <= line["issued_at"]:
        raise RecordError("invalid", f"{where}.expiration_date: must be after issued_at")
    return line


def _dob(raw: dict) -> date | None:
    """A date, or Masivo's ISO datetime with its time zone, of which the date as written is kept."""
    value = raw.get("dob")
    if isinstance(value, str) and len(value) > 10:
        moment_ = parse_datetime(value) if len(value) <= 64 else None
        if moment_ is None or timezone.is_naive(moment_):
            raise RecordError("invalid", "dob: a date (YYYY-MM-DD) or an ISO 8601 date-time with its time zone")
        value = value[:10]
    born = day({"dob": value}, "dob")
    if born is not None and not (FIRST_DOB <= born <= timezone.localdate()):
        raise RecordError("invalid", f"dob: from {FIRST_DOB} to today")
    return born


def _flag(raw: dict, name: str) -> bool:
    value = raw.get(name, False)
    if value in (None, ""):
        return False
    if not isinstance(value, bool):
        raise RecordError("invalid", f"{name}: must be true or false")
    return value


def _platforms(raw: dict) -> list[str]:
    platforms = items(raw, "platforms", max_items=MAX_PLATFORMS)
    if not all(isinstance(p, str) and 0 < len(p) <= MAX_TEXT for p in platforms):
        raise RecordError("invalid", f"platforms: strings of 1 to {MAX_TEXT} characters")
    return list(dict.fromkeys(platforms))


# ---- writing a batch ---------------------------------------------------------------------------


def customers_import(
    records: list[dict], *, api_key=None, brands: set[str] | None = None, now: datetime | None = None
) -> BatchResult:
    """Write a batch of cleaned records (customer_record_clean) set-based, in one transaction
    under the import lock; the outcome of each record that was not imported is in the result
    (`index` = its position in `records`). See the module docstring for what is written."""
    now = now or timezone.now()
    result = BatchResult()
    refused, first = {}, {}
    for index, rec in enumerate(records):
        if rec["id"] in first:
            refused[index] = Issue(index, rec["id"], "duplicate", f"id: also at record {first[rec['id']]}")
        else:
            first[rec["id"]] = index
    rewards, known_brands = _programme(records, brands)
    line_issues = {}
    for index, rec in enumerate(records):
        if index not in refused and (issue := _line_problem(index, rec, rewards, known_brands)):
            line_issues[index] = issue
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                import_lock()  # then look: a concurrent import's customers are committed
                ids = [rec["id"] for i, rec in enumerate(records) if i not in refused]
                existing = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "imported_at"))
                todo, skipped, errors = [], [], dict(refused)
                for i, rec in enumerate(records):
                    cid = rec["id"]
                    if i in refused:
                        continue
                    if cid in existing and existing[cid] is not None:
                        skipped.append(Issue(i, cid, ALREADY_IMPORTED, "this customer was imported already"))
                    elif cid in existing:
                        errors[i] = Issue(i, cid, "customer_exists", f"customer {cid!r} already exists")
                    elif i in line_issues:
                        errors[i] = line_issues[i]
                    else:
                        todo.append(rec)
                _write(todo, rewards=rewards, api_key=api_key, now=now)
                tiers_recompute(customer_ids=[rec["id"] for rec in todo], now=now)  # by their imported metrics
            break
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
    result.imported = len(todo)
    result.skipped = skipped
    result.errors = [errors[i] for i in sorted(errors)]
    return result


def _programme(records: list[dict], brands: set[str] | None) -> tuple[dict, set]:
    """The rewards and brands the batch names that the key may use (one query each)."""
    reward_ids, brand_ids = set(), set()
    for rec in records:
        for line in rec["balance"]:
            reward_ids.add(line["reward_id"])
            if line["brand_id"]:
                brand_ids.add(line["brand_id"])
    rewards = {}
    if reward_ids:
        for reward in Reward.objects.filter(pk__in=reward_ids).only("id", "brand_id", "decimals", "attributes"):
            if brands is None or reward.brand_id is None or reward.brand_id in brands:
                rewards[str(reward.pk)] = reward
    if brands is not None:
        brand_ids &= brands
    known = set(Brand.objects.filter(pk__in=brand_ids).values_list("pk", flat=True)) if brand_ids else set()
    return rewards, known


def _line_problem(index: int, rec: dict, rewards: dict, brands: set) -> Issue | None:
    for i, line in enumerate(rec["balance"]):
        where = f"balance[{i}]"
        reward = rewards.get(line["reward_id"])
        if reward is None:
            return Issue(index, rec["id"], "unknown_reward", f"{where}.reward_id: unknown reward {line['reward_id']!r}")
        if line["brand_id"] and line["brand_id"] not in brands:
            return Issue(index, rec["id"], "unknown_brand", f"{where}.brand_id: unknown brand {line['brand_id']!r}")
        if line["brand_id"] and reward.brand_id is not None and line["brand_id"] != reward.brand_id:
            return Issue(
                index, rec["id"], "brand_mismatch", f"{where}.brand_id: the reward is of brand {reward.brand_id!r}"
            )
        if line["amount"] != line["amount"].quantize(quantum(reward.decimals)):
            return Issue(
                index, rec["id"], "invalid_amount", f"{where}.amount: this reward allows {reward.decimals} decimals"
            )
    return None


def _write(records: list[dict], *, rewards: dict, api_key, now: datetime) -> None:
    """COPY the customers, wallets, lines, ledger rows, totals and buckets of `records` (none
    of which exists) in that order: a fixed number of statements."""
    if not records:
        return
    tier_id = Tier.objects.order_by("level").values_list("pk", flat=True).first()
    if tier_id is None:
        raise RuntimeError("no base tier (level 1): run the migrations")
    key_id = getattr(api_key, "pk", api_key)
    big = len(records) + 1
    customers = Table(
        Customer,
        ["id", "name", "email", "registration_date", "dob", "gender", "document_type", "document_number", "country",
         "platforms", "is_anonymous", "tags", "metadata", "imported_at", "tier_id", "registered_by_id", "created_at",
         "updated_at"],
        batch=big,
    )  # fmt: skip
    wallets = Table(Wallet, ["id", "customer_id", "created_at", "updated_at"], batch=big)
    wallet_ids = []
    for rec in records:
        customers.add(
            rec["id"], rec["name"], rec["email"], rec["registration_date"] or now, rec["dob"], rec["gender"],
            rec["document_type"], rec["document_number"], rec["country"], _json(rec["platforms"]),
            rec["is_anonymous"], _json(rec["tags"]), _json(rec["metadata"]), now, tier_id, key_id, now, now,
        )  # fmt: skip
        wallet_ids.append(uuid.uuid4())
    customers.write()  # first: on SQLite the write lock is held from here (core.bulk.next_ids)
    for rec, wallet_id in zip(records, wallet_ids, strict=True):
        wallets.add(wallet_id, rec["id"], now, now)
    wallets.write()
    _write_balances(records, wallet_ids, rewards=rewards, now=now)
    buckets_write(records, now=now)


def _write_balances(records: list[dict], wallet_ids: list, *, rewards: dict, now: datetime) -> None:
    count = sum(len(rec["balance"]) for rec in records)
    if not count:
        return
    big = 2 * count + 1
    lines = Table(
        WalletLine,
        ["id", "wallet_id", "reward_id", "brand_id", "amount", "remaining", "state", "issued_at", "expiration_date",
         "created_at", "updated_at"],
        batch=big,
    )  # fmt: skip
    rows = Table(
        Transaction,
        ["type", "amount", "wallet_id", "reward_id", "line_id", "brand_id", "cost", "created_at", "details"],
        batch=big,
    )
    totals = Table(WalletTotal, ["wallet_id", "reward_id", "balance"], batch=big)
    ids = iter(next_ids(WalletLine, count))
    for rec, wallet_id in zip(records, wallet_ids, strict=True):
        balances: dict = {}
        for line in rec["balance"]:
            reward = rewards[line["reward_id"]]
            factor = reward.conversion_factor
            brand_id = line["brand_id"] or reward.brand_id
            issued_at = line["issued_at"] or now
            expires = line["expiration_date"]
            value = line["amount"]
            expired = expires is not None and expires <= now
            line_id = next(ids)
            lines.add(line_id, wallet_id, reward.pk, brand_id, value, ZERO if expired else value,
                      S.EXPIRED if expired else S.AVAILABLE, issued_at, expires, now, now)  # fmt: skip
            details = {key: line[key] for key in ("channel_id", "store_id") if line[key]}
            rows.add(T.MIGRATION, value, wallet_id, reward.pk, line_id, brand_id, cost_of(value, factor), issued_at,
                     _json(details))  # fmt: skip
            if expired:
                rows.add(T.EXPIRATION, -value, wallet_id, reward.pk, line_id, brand_id, cost_of(-value, factor),
                         max(expires, issued_at), "{}")  # fmt: skip
            balances[reward.pk] = balances.get(reward.pk, ZERO) + (ZERO if expired else value)
        for reward_id, balance in balances.items():
            totals.add(wallet_id, reward_id, balance)
    lines.write()
    rows.write()
    totals.write()


def _json(value) -> str:
    """JSON text for a COPY; the empty object and list (most records) without json.dumps."""
    if not value:
        return "[]" if isinstance(value, list) else "{}"
    return json.dumps(value)
