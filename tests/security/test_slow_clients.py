"""Slow clients do not stall the API (issue "Brand isolation and production hardening", item 12).

gunicorn is started the way the Procfile starts it (config/gunicorn.conf.py, the production
settings file's server options) on a free port against the test database. Ten connections send
their headers with `Content-Length: 10000` and then trickle the body a byte a second; meanwhile
ordinary requests (the landing page, an authenticated API read) must each answer within 2 s,
and a client that is slow but does finish its body is still answered."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from campaigns.services import api_key_create
from tests.factories import BrandFactory

ROOT = Path(__file__).resolve().parent.parent.parent
TRICKLERS = 10
DEADLINE = 2.0  # seconds an ordinary request may take while the tricklers trickle

# serialized_rollback, as the other tests that start servers: the flush after a transactional test
# would otherwise leave content types that a later serialized_rollback test loads again.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_database_url(tmp_path: Path) -> str:
    """The test database as another process can open it: PostgreSQL's by URL; SQLite's test
    database lives in this process's memory, so it is copied to a file (after the test's rows
    are committed)."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    path = tmp_path / "server.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(path) as target:
        connection.connection.backup(target)
    target.close()
    return f"sqlite:///{path}"


class Gunicorn:
    """gunicorn with the project's config file, in its own process group."""

    def __init__(self, database_url: str, log_path: Path):
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": "memory://",
        }
        self.log = open(log_path, "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "config/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url("/"), timeout=1).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise AssertionError("gunicorn did not start:\n" + self.output())

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


def _headers(port: int, key: str, length: int) -> bytes:
    return (
        "POST /api/v1/behavior/events HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {length}\r\n"
        "\r\n"
    ).encode()


def _trickle(port: int, key: str, stop: threading.Event, opened: list) -> None:
    """Headers announcing 10,000 bytes of body, then one byte a second until told to stop."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        opened.append(sock)
        sock.sendall(_headers(port, key, 10_000))
        while not stop.wait(1.0):
            sock.sendall(b" ")
    except OSError:
        pass  # the server may close a connection that is this slow; it must not stall meanwhile


def _timed_get(url: str, key: str | None = None) -> tuple[int, float]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=DEADLINE + 3) as response:
        response.read()
        return response.status, time.monotonic() - started


def _slow_but_complete(port: int, key: str, result: dict) -> None:
    """A body of a few bytes sent over ~2 s: slow, but it does arrive, and it is answered."""
    body = b'{"x": 1}'
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(_headers(port, key, len(body)))
            for i in range(len(body)):
                time.sleep(0.25)
                sock.sendall(body[i : i + 1])
            result["status_line"] = sock.recv(200).split(b"\r\n", 1)[0]
    except OSError as exc:
        result["status_line"] = repr(exc).encode()


def test_ten_trickling_clients_do_not_delay_an_ordinary_request(tmp_path):
    BrandFactory(id="0001", name="Cafe Central")
    _key, raw_key = api_key_create(name="slow clients")
    server = Gunicorn(_server_database_url(tmp_path), tmp_path / "gunicorn.log")
    stop = threading.Event()
    opened: list[socket.socket] = []
    tricklers = [
        threading.Thread(target=_trickle, args=(server.port, raw_key, stop, opened), daemon=True)
        for _ in range(TRICKLERS)
    ]
    slow: dict = {}
    finisher = threading.Thread(target=_slow_but_complete, args=(server.port, raw_key, slow), daemon=True)
    try:
        for thread in tricklers:
            thread.start()
        time.sleep(1.5)  # every trickler connected, its headers read, its first byte sent
        assert len(opened) == TRICKLERS
        finisher.start()
        timings = []
        for _ in range(3):
            for path, key in (("/", None), ("/api/v1/brands", raw_key)):
                try:
                    status, took = _timed_get(server.url(path), key)
                except OSError as exc:
                    raise AssertionError(f"GET {path} failed while slow clients trickle: {exc!r}") from exc
                assert status == 200, path
                timings.append((path, round(took, 2)))
        assert max(took for _path, took in timings) < DEADLINE, timings
        finisher.join(timeout=10)
        assert slow.get("status_line", b"").startswith(b"HTTP/1.1 4"), slow  # answered (400: not an event)
    finally:
        stop.set()
        for sock in opened:
            sock.close()
        output = server.output()
        server.stop()
    assert "Traceback" not in output, output
