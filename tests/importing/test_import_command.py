"""`manage.py import_programme`: JSON Lines and CSV, the rejects file, the summary, resuming after
an interrupted run, and reading as a stream (importing.reading)."""

import json
import os
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from importing.reading import FileError, records_read
from tests.helpers import T4, run_command, totals
from wallets.models import Customer, MetricBucket, WalletLine

pytestmark = pytest.mark.django_db


def jsonl(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def command(*args, **options):
    """(stdout, the CommandError or None)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("import_programme", *map(str, args), stdout=out, stderr=err, **options)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_jsonl_file_is_imported_with_a_summary_and_an_audit_entry(tmp_path, stars):
    path = jsonl(tmp_path / "customers.jsonl", [
        {"id": f"j-{i}", "balance": [{"reward_id": str(stars.pk), "amount": 10 + i}]} for i in range(5)
    ])  # fmt: skip

    out, _err = run_command("import_programme", str(path), batch=2)

    assert "customers: read 5, imported 5, already imported 0, rejected 0" in out
    assert "records/s" in out
    assert totals(Customer.objects.get(pk="j-4"), stars) == T4(14)
    assert not (tmp_path / "customers.jsonl.rejected.jsonl").exists()
    entry = AuditEntry.objects.get(action="import.customers")
    assert entry.source == "command" and entry.actor_name.startswith("import_programme")
    assert (entry.after["read"], entry.after["imported"], entry.after["rejected"]) == (5, 5, 0)


def test_rejected_lines_go_to_the_rejects_file_with_their_line_and_reason(tmp_path, stars):
    path = jsonl(tmp_path / "c.jsonl", [
        {"id": "ok-1"},
        '{"id": "broken", ',
        {"id": "bad", "balance": [{"reward_id": str(stars.pk), "amount": -1}]},
        '{"id": "nan", "metrics": {"lifetime": {"spend_total": NaN}}}',
        {"id": "nobody", "balance": [{"reward_id": "00000000-0000-0000-0000-0000000000aa", "amount": 1}]},
        {"id": "ok-2"},
    ])  # fmt: skip
    (tmp_path / "c.jsonl.rejected.jsonl").write_text("stale\n")

    out, error = command(path, batch=10)

    assert "read 6, imported 2, already imported 0, rejected 4" in out
    assert "4 records rejected" in str(error)
    rejects = [json.loads(x) for x in (tmp_path / "c.jsonl.rejected.jsonl").read_text().splitlines()]
    assert [(r["line"], r["id"], r["code"]) for r in rejects] == [  # as read; the import's own at its batch
        (2, None, "invalid_json"),
        (3, "bad", "invalid"),
        (4, None, "invalid_json"),
        (5, "nobody", "unknown_reward"),
    ]
    by_line = {r["line"]: r for r in rejects}
    assert "balance[0].amount" in by_line[3]["message"]
    assert by_line[5]["record"]["id"] == "nobody"  # the record itself, to fix and send again


def test_an_interrupted_run_loses_one_batch_and_a_second_run_resumes(tmp_path, stars, monkeypatch):
    path = jsonl(tmp_path / "big.jsonl", [
        {"id": f"r-{i}", "balance": [{"reward_id": str(stars.pk), "amount": 1}]} for i in range(10)
    ])  # fmt: skip
    import importing.customers as module

    real, calls = module.customers_import, []

    def stopped_in_the_third_batch(records, **kwargs):
        calls.append(len(records))
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third batch is written
        return real(records, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(module, "customers_import", stopped_in_the_third_batch)
        out, error = command(path, batch=3)

    assert "interrupted" in str(error) and "(interrupted)" in out
    assert "read 10, imported 6" in out and Customer.objects.count() == 6

    out, error = command(path, batch=3)

    assert error is None
    assert "read 10, imported 4, already imported 6, rejected 0" in out
    assert Customer.objects.count() == 10
    assert WalletLine.objects.count() == 10  # nothing twice
    out, _ = command(path, batch=4)
    assert "imported 0, already imported 10" in out


def test_a_batch_rolls_back_as_a_whole_when_interrupted(tmp_path, stars, monkeypatch):
    """Ctrl-C while the batch's statements run: none of them stays."""
    path = jsonl(tmp_path / "c.jsonl", [{"id": f"x-{i}", "metrics": {"lifetime": {"number_of_purchases": 1}}}
                                        for i in range(4)])  # fmt: skip
    import importing.customers as module

    def interrupted(records, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "buckets_write", interrupted)
    _out, error = command(path, batch=2)

    assert "interrupted" in str(error)
    assert Customer.objects.count() == 0 and MetricBucket.objects.count() == 0


def test_csv_customers_take_one_row_per_balance_line(tmp_path, brand, stars):
    reward = str(stars.pk)
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,name,email,registration_date,metrics,tags,reward_id,amount,expiration_date,brand_id,store_id\n"
        f'c-1,Ana,ana@example.com,2024-01-05T10:00:00Z,"{{""lifetime"": {{""number_of_purchases"": 4}}}}",,{reward},10,2027-01-01,,s-1\n'
        f",,,,,,{reward},5,,{brand.pk},\n"
        f"c-1,Ana,,,,,{reward},2,,,\n"
        f'c-2,Bob,,,,"{{""vip"": true}}",,,,,\n'
        f"c-3,Cy,,,,,{reward},oops,,,\n"
    )

    out, error = command(path)

    assert "read 3, imported 2, already imported 0, rejected 1" in out
    ana = Customer.objects.get(pk="c-1")
    assert (ana.name, ana.email) == ("Ana", "ana@example.com")
    assert totals(ana, stars) == T4(17)
    assert sorted(WalletLine.objects.filter(wallet__customer=ana).values_list("amount", flat=True)) == [2, 5, 10]
    assert MetricBucket.objects.get(customer=ana).number_of_purchases == 4
    assert Customer.objects.get(pk="c-2").tags == {"vip": True}
    reject = json.loads((tmp_path / "customers.csv.rejected.jsonl").read_text())
    assert (reject["line"], reject["id"], reject["code"]) == (6, "c-3", "invalid")
    assert "1 records rejected" in str(error)


def test_a_csv_row_that_contradicts_the_customer_above_is_rejected(tmp_path, stars):
    path = tmp_path / "c.csv"
    path.write_text(f"id,name,reward_id,amount\nc-1,Ana,{stars.pk},1\nc-1,Other,{stars.pk},2\n")
    out, _error = command(path)
    assert "rejected 1" in out and not Customer.objects.exists()


def test_a_csv_with_an_unknown_column_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,amout\nc-1,3\n")
    _out, error = command(path)
    assert "amout" in str(error) and not Customer.objects.exists()


def test_the_format_comes_from_the_extension_or_the_option(tmp_path):
    path = jsonl(tmp_path / "c.txt", [{"id": "t-1"}])
    _out, error = command(path)
    assert "--format" in str(error)
    out, error = command(path, fmt="jsonl")
    assert error is None and Customer.objects.filter(pk="t-1").exists()


def test_csv_events_and_transactions_map_to_the_record_shape(tmp_path):
    events = tmp_path / "e.csv"
    events.write_text(
        "id,customer_id,brand_id,type,purchase_id,value,issued_at,order\n"
        'e-1,c-1,0001,PURCHASE,p-9,12.50,2026-01-01T00:00:00Z,"{""products"": []}"\n'
    )
    transactions = tmp_path / "t.csv"
    transactions.write_text(
        "id,customer_id,reward_id,type,amount,created_at,details\n"
        't-1,c-1,00000000-0000-0000-0000-000000000001,ACCUMULATION,10,2026-01-01T00:00:00Z,"{""note"": 1.5}"\n'
    )
    assert list(records_read(events, kind="events", fmt="csv")) == [
        (2, {"id": "e-1", "customer_id": "c-1", "brand_id": "0001", "type": "PURCHASE",
             "issued_at": "2026-01-01T00:00:00Z", "order": {"products": [], "purchase_id": "p-9", "value": "12.50"}}),
    ]  # fmt: skip
    ((line, record),) = records_read(transactions, kind="transactions", fmt="csv")
    assert line == 2 and record["details"] == {"note": Decimal("1.5")} and record["amount"] == "10"


def test_jsonl_refuses_nul_and_lone_surrogates_per_line(tmp_path):
    path = jsonl(tmp_path / "c.jsonl", ['{"id": "a\\u0000"}', '{"id": "\\ud800"}', '{"id": "fine"}', "", "[1]"])
    read = list(records_read(path, kind="customers", fmt="jsonl"))
    assert [(n, type(r).__name__) for n, r in read] == [
        (1, "RecordError"),
        (2, "RecordError"),
        (3, "dict"),
        (5, "list"),
    ]
    assert "NUL" in read[0][1].message and "surrogate" in read[1][1].message


def test_reading_is_a_stream_it_yields_before_the_file_ends(tmp_path):
    """A named pipe whose writer waits until the first record has been read: reading the whole
    file first would hang here."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs a named pipe")
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    first_read = threading.Event()

    def writer():
        with open(pipe, "w") as stream:
            stream.write('{"id": "first"}\n')
            stream.flush()
            first_read.wait(10)
            stream.write('{"id": "second"}\n')

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    records = records_read(pipe, kind="customers", fmt="jsonl")
    assert next(records) == (1, {"id": "first"})
    first_read.set()
    assert next(records) == (2, {"id": "second"})
    thread.join(5)


def test_the_command_writes_in_batches_of_the_size_asked(tmp_path, monkeypatch):
    path = jsonl(tmp_path / "c.jsonl", [{"id": f"b-{i}"} for i in range(7)])
    import importing.customers as module

    real, sizes = module.customers_import, []
    monkeypatch.setattr(
        module, "customers_import", lambda records, **kw: sizes.append(len(records)) or real(records, **kw)
    )
    command(path, batch=3)
    assert sizes == [3, 3, 1]


def test_csv_that_is_not_utf8_stops_with_a_clear_error(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,name\nc-1,Ana\nc-2,\xff\xfe\n")
    with pytest.raises(FileError):
        list(records_read(path, kind="customers", fmt="csv"))
    _out, error = command(path)
    assert "UTF-8" in str(error)


def test_a_whole_programme_moves_in_kind_by_kind_and_a_second_run_changes_nothing(tmp_path, brand, stars):
    """Customers, then their events, then their history, each from its own JSON Lines file: the
    order a move takes. The second run of every file imports nothing twice; the ledger stays clean
    (the suite checks it after the test)."""
    from events.models import Event
    from importing.models import HistoricalTransaction

    reward = str(stars.pk)
    customers = jsonl(tmp_path / "customers.jsonl", [
        {"id": f"p-{i}", "balance": [{"reward_id": reward, "amount": 100}]} for i in range(3)
    ])  # fmt: skip
    events = jsonl(tmp_path / "events.jsonl", [
        {"id": f"e-{i}", "customer_id": f"p-{i % 3}", "brand_id": "0001", "type": "PURCHASE",
         "issued_at": f"2024-03-0{i + 1}T10:00:00Z", "order": {"purchase_id": f"P{i}", "value": 12.5}}
        for i in range(6)
    ])  # fmt: skip
    history = jsonl(tmp_path / "transactions.jsonl", [
        {"id": f"t-{i}-{n}", "customer_id": f"p-{i}", "reward_id": reward, "type": kind, "amount": amount,
         "created_at": f"2024-01-0{n + 1}T10:00:00Z"}
        for i in range(3) for n, (kind, amount) in enumerate([("ACCUMULATION", 130), ("REDEMPTION", -30)])
    ])  # fmt: skip

    for _ in range(2):
        run_command("import_programme", str(customers))
        run_command("import_programme", str(events), kind="events")
        out, _err = run_command("import_programme", str(history), kind="transactions", batch=1)

    assert "transactions: read 6, imported 0, already imported 6, rejected 0" in out
    assert Event.objects.filter(type_id="PURCHASE").count() == 6 and HistoricalTransaction.objects.count() == 6
    assert totals(Customer.objects.get(pk="p-0"), stars) == T4(100)
    spend = sum(b.spend_total for b in MetricBucket.objects.filter(customer_id="p-0"))
    assert spend == Decimal("25.0")
