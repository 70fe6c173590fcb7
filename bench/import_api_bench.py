"""Migration API benchmark (issue 14): customers moving in through `POST /customers/migrate`, in
calls of 1,000 (Masivo's limit), each call's job then run by the worker's task, against the same
customers through `import_programme` measured in the same run (the ceiling: the command writes
the same rows without the HTTP call, the job's stored records and the chunking).

PostgreSQL only, on a database of its own, flushed first (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/loyalty_api_bench). The HTTP side is Django's test client in
this process (the view, its validation and the job's INSERT, without a server); the worker side
is the Celery task's function called in this process (no broker). It prints, per side: elapsed,
customers/s, the median and the slowest call accepted and job written, and the ratio.

    .venv/bin/python bench/import_api_bench.py [--customers 50000]
"""

import argparse
import json
import os
import statistics
import time
from io import StringIO

from benchdb import ROOT, bench_database
from import_bench import ensure_database, write_file

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_api_bench"
CALL = 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=50_000)
    args = parser.parse_args()
    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("import_api_bench runs on PostgreSQL (BENCH_DATABASE_URL=postgres://...)")
    ensure_database(url)
    bench_database("unused.sqlite3")

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from campaigns.models import Brand, Reward
    from campaigns.services import api_key_create
    from importing import services, tasks
    from importing.models import ImportJob

    brand = Brand.objects.create(id="BENCH", name="Import bench")
    points = Reward.objects.create(brand=brand, name="Points", type="POINTS", decimals=0)
    miles = Reward.objects.create(brand=None, name="Miles", type="POINTS", decimals=2)
    rewards = [str(points.pk), str(miles.pk)]
    path = ROOT / "var" / "import_api_bench.jsonl"
    write_file(path, 2 * args.customers, rewards, brand.pk)
    lines = path.read_text().splitlines()
    api_side = [json.loads(line) for line in lines[: args.customers]]
    command_side = ROOT / "var" / "import_api_bench_command.jsonl"
    command_side.write_text("\n".join(lines[args.customers :]) + "\n")
    path.unlink()

    _key, raw = api_key_create(name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    sent: list[str] = []
    tasks.run_import.delay = sent.append  # the broker's part: the job id, run below by the "worker"
    accepted, written = [], []
    started = time.perf_counter()
    for first in range(0, len(api_side), CALL):
        body = json.dumps({"customers": api_side[first : first + CALL]})
        t0 = time.perf_counter()
        response = client.post("/api/v1/customers/migrate", body, content_type="application/json")
        accepted.append(time.perf_counter() - t0)
        assert response.status_code == 202, response.content[:500]
        t0 = time.perf_counter()
        services.import_job_run(job_id=sent[-1])
        written.append(time.perf_counter() - t0)
    api_took = time.perf_counter() - started
    jobs = ImportJob.objects.filter(status="DONE")
    assert jobs.count() == len(accepted) and sum(j.imported for j in jobs) == len(api_side)

    started = time.perf_counter()
    call_command("import_programme", str(command_side), batch=CALL, stdout=StringIO(), stderr=StringIO())
    command_took = time.perf_counter() - started
    command_side.unlink()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def ms(values, f):
        return f"{f(values) * 1000:,.0f} ms"

    n = len(api_side)
    print(
        f"API: {n:,} customers in {len(accepted)} calls of {CALL:,}: {api_took:.1f} s, {n / api_took:,.0f} customers/s"
    )
    print(f"  accept (POST, 202): median {ms(accepted, statistics.median)}, max {ms(accepted, max)}")
    print(f"  job (worker):       median {ms(written, statistics.median)}, max {ms(written, max)}")
    print(f"ceiling, import_programme of {n:,} other customers in batches of {CALL:,}: {command_took:.1f} s, "
          f"{n / command_took:,.0f} customers/s; API / command = {api_took / command_took:.2f}")  # fmt: skip
    out = StringIO()
    started = time.perf_counter()
    call_command("verify_ledger", stdout=out, stderr=StringIO())
    print(f"verify_ledger: {out.getvalue().strip().splitlines()[-1]} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
