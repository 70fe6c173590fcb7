"""`manage.py export_ledger` (issue 14, item 3): the rows are the ledger of the period (bounds
included or not as documented), both formats parse back exactly, the snapshot is the wallets'
totals, it streams chunk by chunk, and bad arguments are a clear CommandError."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from importing.models import HistoricalTransaction
from tests.helpers import run_command, totals
from wallets.export import ledger_stream, parse_bound, snapshot_stream
from wallets.models import Transaction, WalletTotal

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def parse_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def parse_jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


def as_ledger(row) -> tuple:
    """An exported row as the ledger's values (CSV cells or JSONL values)."""
    details = row["details"]
    return (
        int(row["id"]),
        datetime.fromisoformat(row["created_at"]),
        row["type"],
        Decimal(row["amount"]),
        Decimal(row["cost"]) if row["cost"] not in ("", None) else None,
        row["customer_id"],
        row["reward_id"],
        row["brand_id"] or None,
        row["event_id"] or None,
        json.loads(details) if isinstance(details, str) else details,
    )


def ledger(rows) -> list[tuple]:
    return [
        (t.id, t.created_at, t.type, t.amount, t.cost, t.wallet.customer_id, str(t.reward_id), t.brand_id,
         str(t.event_id) if t.event_id else None, t.details)
        for t in rows.select_related("wallet").order_by("id")
    ]  # fmt: skip


def iso(moment) -> str:
    return moment.astimezone(UTC).isoformat()


@pytest.mark.parametrize("fmt,parse", [("csv", parse_csv), ("jsonl", parse_jsonl)])
def test_both_formats_parse_back_to_the_ledger_exactly(programme, fmt, parse):
    today = timezone.localdate().isoformat()
    out, err = run_command("export_ledger", "--from", today, "--to", today, "--format", fmt)
    rows = parse(out)
    assert len(rows) == Transaction.objects.count() >= 9
    assert [as_ledger(r) for r in rows] == ledger(Transaction.objects.all())
    assert {r["type"] for r in rows} >= {"ACCUMULATION", "REDEMPTION", "REVERSAL", "RESERVATION"}
    amounts = [r["amount"] for r in rows]
    assert all(isinstance(a, str) and a.count(".") == 1 and len(a.split(".")[1]) == 4 for a in amounts)
    assert f"{len(rows)} ledger rows to stdout" in err and f"ledger: {len(rows)} of {len(rows)} rows" in err


def test_the_period_includes_from_and_excludes_a_date_time_to(programme):
    rows = list(Transaction.objects.order_by("id"))
    first, last = rows[2], rows[-3]
    assert first.created_at < last.created_at
    out, _err = run_command("export_ledger", "--from", iso(first.created_at), "--to", iso(last.created_at))
    got = [int(r["id"]) for r in parse_csv(out)]
    expected = [t.id for t in rows if first.created_at <= t.created_at < last.created_at]
    assert got == expected and first.id in got and last.id not in got
    assert len(expected) < len(rows)


def test_date_bounds_are_whole_days_of_the_programme_time_zone(programme):
    tomorrow = (timezone.localdate() + DAY).isoformat()
    out, _err = run_command("export_ledger", "--from", tomorrow, "--to", tomorrow)
    assert parse_csv(out) == []
    with override_settings(TIME_ZONE="America/Bogota"):
        assert parse_bound("2025-03-01", end=False) == datetime(2025, 3, 1, 5, tzinfo=UTC)
        assert parse_bound("2025-03-01", end=True) == datetime(2025, 3, 2, 5, tzinfo=UTC)
        assert parse_bound("2025-03-01T10:00:00", end=True) == datetime(2025, 3, 1, 15, tzinfo=UTC)
        assert parse_bound("2025-03-01T10:00:00+00:00", end=False) == datetime(2025, 3, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("fmt,parse", [("csv", parse_csv), ("jsonl", parse_jsonl)])
def test_the_snapshot_is_every_wallets_totals(programme, tmp_path, fmt, parse):
    today = timezone.localdate().isoformat()
    path = tmp_path / f"customers.{fmt}"
    _out, err = run_command("export_ledger", "--from", today, "--to", today, "--format", fmt, "--customers", str(path))
    snapshot = parse(path.read_text())
    assert len(snapshot) == WalletTotal.objects.count() >= 5
    stored = {(t.wallet.customer_id, str(t.reward_id)): t for t in WalletTotal.objects.select_related("wallet")}
    for row in snapshot:
        reward = next(r for r in programme.values() if getattr(r, "pk", None) and str(r.pk) == row["reward_id"])
        customer = stored[(row["customer_id"], row["reward_id"])].wallet.customer
        api = totals(customer, reward)
        assert {k: Decimal(row[k]) for k in ("total", "reserved", "pending", "debt")} == api
        assert Decimal(row["balance"]) == stored[(row["customer_id"], row["reward_id"])].balance
    stars = {r["customer_id"]: r for r in snapshot if r["reward_id"] == str(programme["stars"].pk)}
    assert Decimal(stars["cust-1"]["total"]) == -7 and Decimal(stars["cust-1"]["debt"]) == 10
    assert Decimal(stars["cust-2"]["total"]) == 5 and Decimal(stars["cust-2"]["pending"]) == 5
    assert f"rows to {path}" in err and not (tmp_path / f"customers.{fmt}.part").exists()


def test_the_snapshot_leaves_out_what_is_past_its_date(programme):
    later = timezone.now() + timedelta(days=400)  # the stars' 12 months are over; the sweep has not run
    stars = programme["stars"]
    rows = [r for r in snapshot_stream(now=later, chunk_size=2).rows if r["reward_id"] == stars.pk]
    assert {r["customer_id"]: r["total"] for r in rows} == {"cust-1": -10, "cust-2": 0}
    for row in rows:
        customer = next(c for c in programme["customers"] if c.pk == row["customer_id"])
        api = totals(customer, stars, now=later)
        assert {k: row[k] for k in ("total", "reserved", "pending", "debt")} == api


def test_the_export_reads_one_chunk_per_query_and_only_when_asked(programme):
    n = Transaction.objects.count()
    start, end = timezone.now() - DAY, timezone.now() + DAY
    with CaptureQueriesContext(connection) as queries:
        stream = ledger_stream(start=start, end=end, chunk_size=3)
        assert stream.total == n and len(queries) == 1  # the count and the id bounds
        first = next(stream.rows)
        assert len(queries) == 2  # one chunk read, not the whole ledger
        rest = list(stream.rows)
    chunks = [q["sql"] for q in queries.captured_queries[1:]]
    assert [first["id"], *(r["id"] for r in rest)] == list(
        Transaction.objects.order_by("id").values_list("id", flat=True)
    )
    assert len(chunks) == n // 3 + 1 and all("LIMIT 3" in sql for sql in chunks)


def test_the_imported_history_is_written_apart(programme, tmp_path):
    customer, stars = programme["customers"][0], programme["stars"]
    old = timezone.now() - timedelta(days=400)
    for i, (when, amount) in enumerate([(old, "12.5"), (old + DAY, "-2.25"), (old + 40 * DAY, "1")]):
        HistoricalTransaction.objects.create(
            key=f"old-{i}",
            customer=customer,
            reward=stars,
            type="ACCUMULATION",
            amount=Decimal(amount),
            created_at=when,
        )
    path = tmp_path / "history.jsonl"
    frm, to = timezone.localdate(old).isoformat(), timezone.localdate(old + DAY).isoformat()
    out, _err = run_command(
        "export_ledger",
        "--from",
        frm,
        "--to",
        to,
        "--format",
        "jsonl",
        "--output",
        str(tmp_path / "l"),
        "--history",
        str(path),
    )
    rows = parse_jsonl(path.read_text())
    assert [(r["key"], Decimal(r["amount"]), r["customer_id"]) for r in rows] == [
        ("old-0", Decimal("12.5"), "cust-1"),
        ("old-1", Decimal("-2.25"), "cust-1"),
    ]
    assert (tmp_path / "l").read_text() == ""  # no ledger row that old
    assert "2 history rows" in out and "0 ledger rows" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--from", "yesterday", "--to", "2025-01-01"], "not a date"),
        (["--from", "2025-13-01", "--to", "2025-01-01"], "not a date"),
        (["--from", "2025-02-01", "--to", "2025-01-01"], "--to must be after --from"),
        (["--from", "2025-01-01", "--to", "2025-01-02", "--format", "xml"], "invalid choice"),
        (["--from", "2025-01-01", "--to", "2025-01-02", "--chunk-size", "0"], "--chunk-size"),
        (
            ["--from", "2025-01-01", "--to", "2025-01-02", "--output", "a.csv", "--customers", "a.csv"],
            "different files",
        ),
        (["--from", "2025-01-01", "--to", "2025-01-02", "--customers", "/no/such/dir/c.csv"], "no such directory"),
        (["--to", "2025-01-02"], "--from"),
    ],
)
def test_bad_arguments_are_a_clear_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        run_command("export_ledger", *args)
