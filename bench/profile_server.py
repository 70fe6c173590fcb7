"""Profile the server path (issue 11, item 7): where a request's time goes under gunicorn's
uvicorn workers, as `make bench` serves it, which the in-process profile (bench/profile_emit.py,
Django's test client) cannot show: the event loop, the hand-off to a thread, the pool.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_prof .venv/bin/python bench/profile_server.py [--mode emit] [--seconds 15] [--top 40]

Seeds the bench programme (as http_bench.py does, `--customers`), starts gunicorn with
config.settings.bench, drives one wrk mode of bench/http_bench.lua at 16 connections, and while
it runs samples every worker process with py-spy (requirements-dev.txt; it needs ptrace: root or
CAP_SYS_PTRACE). It prints the rate wrk saw, then, over all samples of all threads of the
workers, each function's share of the samples: `self` (the function itself on the CPU) and
`total` (anywhere on the stack), idle threads (waiting on a lock, a socket or the event loop's
poll) left out unless `--idle`; with `--gil`, only the thread holding the GIL (where the
workers' Python CPU goes). py-spy roughly halves the rate while it samples, so read the
shares, not the rate.
"""

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loyalty_prof")

import http_bench  # noqa: E402
from benchdb import ROOT, bench_database  # noqa: E402
from import_bench import ensure_database  # noqa: E402
from webhook_bench import gunicorn_server  # noqa: E402


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True, check=False)
    return [int(x) for x in out.stdout.split()]


def frames(line: str) -> tuple[list[str], int]:
    """One line of py-spy's raw output: the stack (outermost first) and its sample count."""
    stack, _, count = line.rpartition(" ")
    return [f for f in stack.split(";") if not f.startswith(("process ", "thread "))], int(count)


def short(frame: str) -> str:
    """`function (path/to/file.py:line)` without the line and with the path cut at site-packages."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    where = where.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
    return f"{name} ({where})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="emit", help="a mode of bench/http_bench.lua")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--idle", action="store_true", help="count idle threads too")
    parser.add_argument("--gil", action="store_true", help="only the thread holding the GIL: where Python's CPU goes")
    args = parser.parse_args()
    url = os.environ["BENCH_DATABASE_URL"]
    os.environ["CACHE_URL"] = http_bench.CACHE_URL
    os.environ["CELERY_BROKER_URL"] = http_bench.BROKER_URL
    http_bench.CUSTOMERS = args.customers
    ensure_database(url)
    bench_database("unused.sqlite3")
    from django.core.cache import cache

    cache.clear()
    key = http_bench.seed()
    server, port, _env = gunicorn_server(url)
    try:
        http_bench.wait_for_api(port, key, server)
        http_bench.wrk(port, key, args.mode, 3, "warm")
        pids = worker_pids(server.proc.pid)
        with tempfile.TemporaryDirectory() as tmp:
            spies = [
                subprocess.Popen(
                    [
                        str(ROOT / ".venv/bin/py-spy"),
                        "record",
                        "--pid",
                        str(pid),
                        "--format",
                        "raw",
                        "--threads",
                        "--rate",
                        str(args.rate),
                        "--duration",
                        str(args.seconds),
                        "--nonblocking",
                        *(["--idle"] if args.idle else []),
                        *(["--gil"] if args.gil else []),
                        "--output",
                        f"{tmp}/{pid}.txt",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for pid in pids
            ]
            time.sleep(0.5)
            fig = http_bench.wrk(port, key, args.mode, args.seconds - 1, "profile")
            for spy in spies:
                spy.wait()
            self_time: collections.Counter = collections.Counter()
            total_time: collections.Counter = collections.Counter()
            samples = 0
            for pid in pids:
                for line in Path(f"{tmp}/{pid}.txt").read_text().splitlines():
                    if not line.strip():
                        continue
                    stack, count = frames(line)
                    samples += count
                    if stack:
                        self_time[short(stack[-1])] += count
                    for name in {short(f) for f in stack}:
                        total_time[name] += count
    finally:
        server.stop()
    print(f"{args.mode}: {fig['rate']:.0f} requests/s under py-spy, {fig['errors']} errors; "
          f"{samples:,} samples of {len(pids)} workers")  # fmt: skip
    for title, counter in (("self", self_time), ("total", total_time)):
        print(f"\n{title}: share of samples")
        for name, count in counter.most_common(args.top):
            print(f"  {100 * count / max(samples, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
