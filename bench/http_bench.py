"""The HTTP benchmark of issue 11 (`make bench`): the API under load, through the real server,
each figure printed with its ratio to a ceiling measured minutes apart in the same run.

    make bench                                   # 30 s per measurement, 16 connections
    BENCH_SECONDS=5 make bench                   # a short trial
    BENCH_DATABASE_URL=postgres://... BENCH_CONNECTIONS=16 BENCH_CUSTOMERS=10000 WEB_CONCURRENCY=2 make bench
    BENCH_GUNICORN_ARGS="--worker-class sync config.wsgi" WEB_CONCURRENCY=4 make bench   # another server set-up

1. Sets up the database (default postgres://postgres@127.0.0.1:5432/loyalty_bench11: created if
   missing, flushed first, bench/benchdb.py), seeds brand B1, one POINTS reward, one PER_VALUE
   campaign ("bench points", 1 point per 10 spent, no conditions: every purchase matches) and
   BENCH_CUSTOMERS customers (bench-0 ...), and an API key.
2. Starts gunicorn with config/gunicorn.conf.py (as production: uvicorn workers, WEB_CONCURRENCY
   processes of WEB_THREADS threads) and config.settings.bench (production's settings, the write
   limit lifted, the ceiling views mounted: see that module), Redis DB 2 for the cache and DB 3
   for the broker.
3. Drives it with wrk (bench/http_bench.lua, as many threads as connections) for BENCH_SECONDS
   each, after a short warm-up: the emit ceiling (bench/ceiling.py), emit (fulfilled, three
   products, a random customer, unique purchase ids per connection), a held emit followed by its
   fulfil, an emit followed by its reverse, the `GET /customers/{id}` ceiling and
   `GET /customers/{id}`, and `?async=true` (the accept rate; then a Celery worker is started and
   timed while it drains the queue).
4. Runs an open loop (bench/openloop.py) of emits at half the emit capacity just measured: its
   p99 is the latency at a fixed rate (issue 11, item 2).
5. Stops the server and the worker and runs `manage.py verify_ledger`, which must be clean.

A chained run (held + fulfil, emit + reverse) counts pairs per second, with the latency of both
requests mixed; its ratio is to the emit ceiling, as pairs would be if each pair cost one emit.
Benchmarks print figures and assert nothing (bench/README.md).
"""

import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

from benchdb import ROOT, bench_database, per_value_programme
from import_bench import ensure_database
from openloop import open_loop
from webhook_bench import Process, gunicorn_server, wait_until

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench11"
SECONDS = int(os.environ.get("BENCH_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "10000"))
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/2")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/3")
LUA = ROOT / "bench" / "http_bench.lua"
PGBENCH_SQL = ROOT / "bench" / "ceiling_pgbench.sql"


def machine() -> str:
    model = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def seed() -> str:
    """The programme and the customers, through the services; the raw API key."""
    from django.db import transaction

    from campaigns.services.programme import api_key_create
    from wallets.services import customer_register

    per_value_programme("bench points")
    with transaction.atomic():
        for i in range(CUSTOMERS):
            customer_register(id=f"bench-{i}", record_event=False)
    _key, raw = api_key_create(name="bench")
    return raw


def wrk(port: int, key: str, mode: str, seconds: int, run: str) -> dict:
    env = {**os.environ, "BENCH_MODE": mode, "BENCH_KEY": key, "BENCH_CUSTOMERS": str(CUSTOMERS), "BENCH_RUN": run}
    argv = ["wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    out = subprocess.run([*argv, f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH "))
    fig = json.loads(line[6:])
    fig["errors"] = sum(fig[k] for k in ("connect", "read", "write", "status", "timeout"))
    fig["rate"] = fig["requests"] / fig["seconds"]
    return fig


def wait_for_api(port: int, key: str, server) -> None:
    """Until the server answers an authenticated read (or give up after a minute)."""
    probe = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/customers/bench-0", headers={"Authorization": f"Bearer {key}"}
    )

    def up() -> bool:
        try:
            return urllib.request.urlopen(probe, timeout=2).status == 200
        except OSError:
            return False

    wait_until(up, 60, "gunicorn", server)


def row(name: str, fig: dict, ceiling: float | None, pairs: bool = False) -> str:
    rate = fig["rate"] / 2 if pairs else fig["rate"]
    ratio = f"{rate / ceiling:.2f}" if ceiling else "1.00 (ceiling)"
    ms = [fig[k] / 1000 for k in ("p50", "p95", "p99")]
    return (
        f"| {name} | {rate:,.0f}{' pairs' if pairs else ''}/s | {ms[0]:.1f} | {ms[1]:.1f} | {ms[2]:.1f} "
        f"| {fig['errors']} | {ratio} |"
    )


def pgbench(url: str) -> dict | None:
    """The emit's transaction with neither HTTP nor Python (bench/ceiling_pgbench.sql), same
    connections, same database: what PostgreSQL alone allows on this machine. None without pgbench."""
    import re
    import shutil
    from urllib.parse import urlsplit

    from campaigns.models import Campaign

    if shutil.which("pgbench") is None:
        print("  pgbench not found (Debian: postgresql-client): its ceiling is skipped")
        return None
    campaign = Campaign.objects.get(name="bench points")
    reward = campaign.rules[0]["effects"][0]["reward_id"]
    parts = urlsplit(url)
    argv = ["pgbench", "-h", parts.hostname, "-p", str(parts.port or 5432), "-U", parts.username or "postgres", "-n",
            "-c", str(CONNECTIONS), "-j", "2", "-T", str(SECONDS), "-D", f"customers={CUSTOMERS}",
            "-D", f"campaign={campaign.pk}", "-D", f"brand={campaign.brand_id}", "-D", f"reward={reward}",
            "-f", str(PGBENCH_SQL), parts.path.lstrip("/")]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([0-9.]+) ms", out).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1))
    return {"rate": tps, "latency": latency, "errors": failed}


def drain(tag: str, env: dict) -> tuple[int, float]:
    """Start a Celery worker (as the Procfile does) and time it until none of this run's queued
    events is left PENDING or PROCESSING; (events applied, seconds)."""
    from events.models import Event

    waiting = Event.objects.filter(purchase_id__startswith=f"{tag}-", status__in=["PENDING", "PROCESSING"])
    queued = waiting.count()
    worker = Process([str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--loglevel", "WARNING",
                      "--concurrency", "2"], env)  # fmt: skip
    start = time.monotonic()
    try:
        while waiting.exists() and time.monotonic() - start < 600 and worker.proc.poll() is None:
            time.sleep(0.5)
        took = time.monotonic() - start
        left = waiting.count()
    finally:
        worker.stop()
    if left:
        print(f"  worker left {left} queued events after {took:.0f} s")
    return queued - left, took


def emit_request(key: str, tag: str, port: int):
    def make(i: int) -> bytes:
        body = json.dumps({
            "customer_id": f"bench-{(i * 7919) % CUSTOMERS}", "brand_id": "B1", "type": "PURCHASE",
            "order": {"purchase_id": f"{tag}-{i}", "value": "120.00", "payment_method": "CREDIT", "products": [
                {"sku": "LATTE", "amount": 2, "value": "60.00"}, {"sku": "MUFFIN", "amount": 1, "value": "35.00"},
                {"sku": "JUICE", "amount": 1, "value": "25.00"}]},
        }).encode()  # fmt: skip
        head = (
            f"POST /api/v1/behavior/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return make


def main() -> None:
    subprocess.run(["wrk", "--version"], capture_output=True, check=False)  # FileNotFoundError: apt-get install wrk
    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["CACHE_URL"] = CACHE_URL
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    ensure_database(url)
    started = datetime.now(UTC)
    print(f"http_bench: {machine()}; {started:%Y-%m-%d %H:%M} UTC; load average {load()} at the start")
    t0 = time.monotonic()
    bench_database("unused.sqlite3")
    from django.core.cache import cache

    from config.celery_app import app

    cache.clear()  # the bench's own Redis DB: rate-limit counters of a previous run
    app.control.purge()  # and its own broker DB: messages of a previous run's queued events
    key = seed()
    print(f"seeded {CUSTOMERS:,} customers in {time.monotonic() - t0:.1f} s")
    pg = pgbench(url)
    if pg:
        print(f"  pgbench ceiling: {pg['rate']:.0f} transactions/s, {pg['errors']} failed")

    extra = shlex.split(os.environ.get("BENCH_GUNICORN_ARGS", ""))  # e.g. "--worker-class sync config.wsgi"
    server, port, env = gunicorn_server(url, extra_args=extra)
    results: dict[str, dict] = {}
    try:
        wait_for_api(port, key, server)
        print(f"gunicorn on port {port}: {env.get('WEB_CONCURRENCY', '2')} workers x "
              f"{env.get('WEB_THREADS', '4')} threads {extra or ''}; wrk {CONNECTIONS} connections, "
              f"{SECONDS} s each")  # fmt: skip
        wrk(port, key, "emit", 3, "warm")
        wrk(port, key, "ceiling-emit", 2, "warmc")
        for mode in ("ceiling-emit", "emit", "held", "reverse", "ceiling-customer", "customer", "async"):
            results[mode] = wrk(port, key, mode, SECONDS, mode)
            print(f"  {mode}: {results[mode]['rate']:.0f} requests/s, {results[mode]['errors']} errors")
        rate = results["emit"]["rate"] / 2
        open_fig = open_loop("127.0.0.1", port, rate, SECONDS, emit_request(key, "open", port))
        print(f"  open loop at {rate:.0f}/s: {open_fig['rate']:.0f}/s achieved, p99 {open_fig['p99']:.1f} ms")
        applied, took = drain("async", env)
    finally:
        server.stop()

    from django.core.management import call_command

    ce, cc = results["ceiling-emit"]["rate"], results["ceiling-customer"]["rate"]
    print(f"\nFigures ({started:%Y-%m-%d}, {machine()}; load average {load()} at the end):\n")
    print("| request | rate | p50 ms | p95 ms | p99 ms | errors | ratio to ceiling |")
    print("|---|---|---|---|---|---|---|")
    print(row("ceiling: the emit's transaction in hand-written SQL", results["ceiling-emit"], None))
    print(row("`POST /behavior/events` (fulfilled)", results["emit"], ce))
    print(row("held emit + `PATCH .../fulfill`", results["held"], ce, pairs=True))
    print(row("emit + `POST .../reverse`", results["reverse"], ce, pairs=True))
    print(row("ceiling: `GET /customers/{id}` in hand-written SQL", results["ceiling-customer"], None))
    print(row("`GET /customers/{id}`", results["customer"], cc))
    print(row("`POST /behavior/events?async=true` (accepted)", results["async"], ce))
    print(
        f"| open loop: emits at {rate:.0f}/s (half the emit rate), {open_fig['requests']:,} sent "
        f"| {open_fig['rate']:,.0f}/s | {open_fig['p50']:.1f} | {open_fig['p95']:.1f} | {open_fig['p99']:.1f} "
        f"| {open_fig['errors']} | {open_fig['rate'] / ce:.2f} |"
    )
    print(f"| worker draining the queued events (2 processes) | {applied / took:,.0f}/s "
          f"({applied:,} in {took:.1f} s) | | | | | {applied / took / ce:.2f} |")  # fmt: skip
    if pg:
        print(
            f"| ceiling without HTTP: the same transaction from pgbench ({CONNECTIONS} clients) "
            f"| {pg['rate']:,.0f}/s | {pg['latency']:.1f} (mean) | | | {pg['errors']} "
            f"| emit / pgbench = {results['emit']['rate'] / pg['rate']:.2f} |"
        )
    print("\nverify_ledger:")
    sys.stdout.flush()
    call_command("verify_ledger")


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
