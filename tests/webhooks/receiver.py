"""A real HTTP receiver on loopback for the webhook tests: a server thread that answers each
POST with the next scripted status (then 200 for ever), optionally after a delay, and keeps
every request it got (headers, body bytes, and the status it was answered, once answered)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float = 0.0  # time.monotonic() when the request was read
    status: int | None = None  # the status answered; None until answered (or never: hung, client gone)

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    delay: float = 0.0  # seconds before each answer
    delays: list[float] = field(default_factory=list)  # per request in order (then `delay`): [60] hangs the first
    location: str = ""  # the Location header of every answer, when set (for 3xx)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        receiver = self
        self._changed = threading.Condition()
        self._closing = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                with receiver._changed:
                    receiver.received.append(got)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    delay = receiver.delays.pop(0) if receiver.delays else receiver.delay
                    receiver._changed.notify_all()
                if delay and receiver._closing.wait(delay):
                    return  # closed while holding the request: it is never answered
                with receiver._changed:  # set before the answer is written: the client may act on it at once
                    got.status = status
                    receiver._changed.notify_all()
                try:
                    self.send_response(status)
                    if receiver.location:
                        self.send_header("location", receiver.location)
                    self.send_header("content-type", "text/plain")
                    self.end_headers()
                    self.wfile.write(f"answered {status}".encode())
                    self.wfile.flush()
                except OSError:  # the client gave up (a timeout): not answered
                    with receiver._changed:
                        got.status = None

            def log_message(self, *args):
                pass

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except OSError:  # the client went away mid-request
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, count: int, *, answered: bool = False, timeout: float = 10.0) -> bool:
        """Wait until `count` requests were received (answered ones only, with `answered`)."""

        def enough():
            got = [r for r in self.received if r.status is not None] if answered else self.received
            return len(got) >= count

        with self._changed:
            return self._changed.wait_for(enough, timeout)

    def succeeded_by_id(self) -> dict[str, int]:
        """webhook-id: how many of its requests were answered 2xx."""
        counts: dict[str, int] = {}
        for r in self.received:
            counts.setdefault(r.headers.get("webhook-id"), 0)
            counts[r.headers.get("webhook-id")] += r.succeeded
        return counts

    def close(self) -> None:
        self._closing.set()  # releases every held request
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"
