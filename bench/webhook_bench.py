"""Webhook benchmark (issue 12, item 7): does a slow receiver slow the API down?

Starts the API (gunicorn with config/gunicorn.conf.py, as the Procfile does) and a real Celery
worker on loopback against the benchmark database, then times N `POST /api/v1/behavior/events`
(sequential, one keep-alive connection) twice:

- with no endpoint subscribed (the ceiling: the API as it is without webhooks);
- with an endpoint subscribed to CUSTOMER_ACCUMULATION and BEHAVIOR_EVENT_FULFILLED whose
  receiver (an HTTP server in this process) answers every POST after 2 s; the worker sends
  to it while the events are posted (two deliveries per event).

Prints p50/p99 of both and the ratio of the p99s (the point: about 1). Everything listens on
127.0.0.1 only; every loop is bounded, and the server and worker are stopped at the end.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/webhook_bench.py [--events 1000]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_bench CELERY_BROKER_URL=redis://... ...

The broker must be Redis (or another kombu URL on loopback); the database is var/webhook_bench.sqlite3
(recreated) unless BENCH_DATABASE_URL names a PostgreSQL database (flushed first).
"""

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from benchdb import bench_database, per_value_programme

ROOT = Path(__file__).resolve().parent.parent
RECEIVER_DELAY = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlowReceiver:
    """Answers every POST with 200 after RECEIVER_DELAY seconds; counts what it got."""

    def __init__(self):
        self.count = 0
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.count += 1
                if receiver.closing.wait(RECEIVER_DELAY):
                    return
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


class Process:
    """A child process in its own process group, its output in a temporary file."""

    def __init__(self, argv, env):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


def gunicorn_server(url: str, *, extra_args=(), **env_extra) -> tuple[Process, int, dict]:
    """gunicorn as production starts it (config/gunicorn.conf.py) with config.settings.bench on
    database `url`, on a free port: (the process, its port, its environment). `env_extra`
    adds to the environment (e.g. WEB_CONCURRENCY="1")."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **env_extra,
    }
    return (
        Process([str(ROOT / ".venv/bin/gunicorn"), "--config", "config/gunicorn.conf.py", *extra_args], env),
        port,
        env,
    )


def wait_until(predicate, timeout: float, what: str, proc: Process):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.proc.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start:\n{proc.output()}")


def post_events(port: int, key: str, payloads: list[dict]) -> list[float]:
    """POST each payload on one keep-alive connection; the seconds each answer took."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    took = []
    for payload in payloads:
        body = json.dumps(payload)
        start = time.perf_counter()
        conn.request("POST", "/api/v1/behavior/events", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        took.append(time.perf_counter() - start)
        if response.status != 201:
            raise SystemExit(f"POST answered {response.status}")
    conn.close()
    return took


def quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000, help="events posted in each of the two runs")
    args = parser.parse_args()
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker or urlsplit(broker).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("set CELERY_BROKER_URL to a broker on loopback, e.g. redis://127.0.0.1:6379/5")
    os.environ["LOYALTY_WEBHOOKS_ALLOW_HTTP"] = "true"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"

    bench_database("webhook_bench.sqlite3")
    from django.conf import settings

    from campaigns.services import api_key_create
    from config.celery_app import app
    from wallets.services import customer_register
    from webhooks.models import WebhookDelivery
    from webhooks.services import endpoint_create

    per_value_programme("points")
    customers = [customer_register(id=f"bench-{i}").pk for i in range(20)]
    _key, raw_key = api_key_create(name="bench")

    def payloads(tag: str, n: int) -> list[dict]:
        return [
            {
                "customer_id": customers[i % len(customers)],
                "brand_id": "B1",
                "type": "PURCHASE",
                "order": {"value": "120.00", "purchase_id": f"{tag}-{i}"},
            }
            for i in range(n)
        ]

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = os.environ["DATABASE_URL"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "LOYALTY_API_RATE": "1000000/min",
    }
    app.control.purge()
    port = free_port()
    server = Process(
        [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"], env
    )
    worker = Process([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "INFO"], env)
    receiver = SlowReceiver()
    try:

        def answers() -> bool:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
                return True
            except OSError:
                return False

        wait_until(answers, 30, "gunicorn", server)
        wait_until(lambda: "ready" in worker.output(), 30, "the Celery worker", worker)

        post_events(port, raw_key, payloads("warm", 50))
        without = post_events(port, raw_key, payloads("without", args.events))

        endpoint_create(url=receiver.url, events=["CUSTOMER_ACCUMULATION", "BEHAVIOR_EVENT_FULFILLED"])
        post_events(port, raw_key, payloads("warm2", 10))  # the servers read the new endpoint
        started = time.monotonic()
        with_receiver = post_events(port, raw_key, payloads("with", args.events))
        posting = time.monotonic() - started
        time.sleep(RECEIVER_DELAY + 1)
        received, written = receiver.count, WebhookDelivery.objects.count()
        delivered = WebhookDelivery.objects.filter(status="DELIVERED").count()
    finally:
        receiver.close()
        worker.stop()
        server.stop()
        app.control.purge()

    p99_without, p99_with = quantile(without, 99), quantile(with_receiver, 99)
    print(f"database: {db['ENGINE'].rsplit('.', 1)[-1]}; {args.events} events per run, sequential, one connection")
    print(
        f"no endpoint subscribed:        p50 {quantile(without, 50):.1f} ms, p99 {p99_without:.1f} ms, "
        f"max {max(without) * 1000:.1f} ms"
    )
    print(
        f"endpoint answering after {RECEIVER_DELAY:.0f} s:  p50 {quantile(with_receiver, 50):.1f} ms, "
        f"p99 {p99_with:.1f} ms, max {max(with_receiver) * 1000:.1f} ms"
    )
    print(f"p99 ratio (with / without): {p99_with / p99_without:.2f}")
    print(
        f"during the {posting:.0f} s of the second run: {written} deliveries written, the receiver got {received} "
        f"POSTs, {delivered} delivered (one worker, one at a time, 2 s each: the rest wait in the queue; "
        f"the API does not wait for them)"
    )


if __name__ == "__main__":
    main()
