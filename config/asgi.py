"""The ASGI entry point, served by gunicorn's uvicorn workers (config/gunicorn.conf.py). Uses the
production settings unless DJANGO_SETTINGS_MODULE says otherwise.

Django runs each request's middleware and (synchronous) view in a thread of its own, the whole
chain in one call (core.asgi: three crossings between the event loop and the thread per request
instead of nine). Around it, `BufferedRequests`:

- reads the request body in full on the event loop before the request gets a thread, so a
  client that trickles its body holds a socket, never a thread (slow clients do not stall the
  API);
- stops reading a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (Django then refuses it by its
  length, as under WSGI, instead of spooling it to disk), and answers 408 `request_timeout` to
  one that has not arrived whole within WEB_BODY_TIMEOUT seconds;
- lets at most WEB_THREADS requests of this process into Django at once (each thread has its
  own database connection).

Database connections: a request's thread ends with it, so a connection kept by the thread
(CONN_MAX_AGE) would outlive it; connections are closed at the end of each request (CONN_MAX_AGE
0, whatever DATABASE_CONN_MAX_AGE says) and, on PostgreSQL, come from psycopg's pool shared by the
process's threads (DATABASE_POOL defaults to true here; DATABASE_POOL_MAX to WEB_THREADS + 2 and
at least 8): closing hands the connection back, and the next request's thread takes it without
connecting. Without the pool (DATABASE_POOL=false) every request opens a new connection: issue
11 measured the bare emit transaction at 105 per second so, against 355 with kept connections.
"""

import asyncio
import json
import os
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
os.environ.setdefault("DATABASE_POOL", "true")
os.environ.setdefault("DATABASE_POOL_MAX", str(max(8, int(os.environ.get("WEB_THREADS", "4")) + 2)))

from django.conf import settings  # noqa: E402

from core.asgi import get_asgi_application  # noqa: E402  (Django's handler, its middleware chain run as under WSGI)

# whitenoise's static files are iterated synchronously: Django reads each one whole (they are
# small: the admin's and the API docs' assets) and says so once per process.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

_EMPTY_BODY = {"type": "http.request", "body": b"", "more_body": False}


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_content_length(scope, length: int):
    headers = [(name, value) for name, value in scope["headers"] if name != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def _replay(messages: list, receive):
    """A receive() that hands out the buffered messages, then waits for the disconnect (what
    Django listens for once it has the body), dropping any unread rest of a refused body."""
    pending = list(messages)

    async def replayed():
        if pending:
            return pending.pop(0)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return message

    return replayed


async def _request_timeout(send, seconds: float) -> None:
    body = json.dumps(
        {"error": "request_timeout", "details": f"the request body did not arrive within {seconds:g} seconds"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BufferedRequests:
    """ASGI middleware: whole bodies before threads, a bounded body, a bounded number of
    requests in the application at once (see the module docstring)."""

    def __init__(self, app):
        self.app = app
        self.slots: asyncio.Semaphore | None = None  # made in the worker's event loop

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":  # Django has no start-up or shut-down work: say so
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = _content_length(scope)
        if limit is not None and declared is not None and declared > limit:
            messages = [_EMPTY_BODY]  # refused by Django from its Content-Length: nothing to read
        else:
            try:
                async with asyncio.timeout(settings.WEB_BODY_TIMEOUT):
                    messages, size = [], 0
                    while True:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            return
                        size += len(message.get("body", b""))
                        if limit is not None and size > limit:  # a chunked body past the limit
                            scope, messages = _with_content_length(scope, size), [_EMPTY_BODY]
                            break
                        messages.append(message)
                        if not message.get("more_body", False):
                            break
            except TimeoutError:
                await _request_timeout(send, settings.WEB_BODY_TIMEOUT)
                return
        if self.slots is None:
            self.slots = asyncio.Semaphore(settings.WEB_THREADS)
        async with self.slots:
            await self.app(scope, _replay(messages, receive), send)


application = BufferedRequests(get_asgi_application())
