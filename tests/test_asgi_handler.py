"""The web server's Django handler (core.asgi, served by config/asgi.py) answers as Django's own
ASGI handler does, with each request's middleware chain and view run in one go in its thread:
three crossings from the event loop to the request's thread (request_started, the chain, the
response's close) where Django's handler made nine (issue 11, bench/README.md)."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import SyncToAsync
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

from campaigns.services import api_key_create
from core.asgi import SyncChainASGIHandler
from tests.factories import BrandFactory, CustomerFactory

# transaction: each request's thread has its own connection (it must see committed rows);
# serialized_rollback, as the other transactional tests (tests/security/test_slow_clients.py says why)
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _scope(path: str, method: str, raw_key: str, body: bytes) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {raw_key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def _serve(handler, path: str, raw_key: str, method: str = "GET", body: bytes = b"") -> tuple[int, dict, int]:
    """(status, JSON body, crossings from the event loop to a thread) of one request."""
    crossings = 0
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        nonlocal crossings
        crossings += 1
        return await original(self, *args, **kwargs)

    async def run():
        app = ApplicationCommunicator(handler, _scope(path, method, raw_key, body))
        await app.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await app.receive_output(10)
        content = b""
        while True:
            message = await app.receive_output(10)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        await app.wait(10)
        return start["status"], json.loads(content)

    # in a thread of its own, with its own event loop, as a server runs it (an earlier test may
    # have left an event loop running in this one: Playwright's sync API does)
    outcome: dict = {}

    def serve() -> None:
        try:
            outcome["value"] = asyncio.run(run())
        except BaseException as exc:  # re-raised below, in the test's thread
            outcome["error"] = exc

    SyncToAsync.__call__ = counted
    try:
        thread = threading.Thread(target=serve)
        thread.start()
        thread.join(60)
    finally:
        SyncToAsync.__call__ = original
    if "error" in outcome:
        raise outcome["error"]
    status, data = outcome["value"]
    return status, data, crossings


@pytest.fixture
def raw_key(monkeypatch):
    # each request's thread opens its own connection: closed as the request ends, as the server does
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    _key, raw = api_key_create(name="asgi")
    return raw


def test_a_read_and_an_emit_answer_as_through_djangos_own_handler_in_three_crossings(raw_key):
    brand = BrandFactory()
    customer = CustomerFactory()
    ours, django_own = SyncChainASGIHandler(), ASGIHandler()
    path = f"/api/v1/customers/{customer.pk}"

    status, data, crossings = _serve(ours, path, raw_key)
    assert status == 200 and data["data"]["customer"]["id"] == customer.pk
    assert crossings == 3
    theirs = _serve(django_own, path, raw_key)
    assert theirs[:2] == (status, data)
    assert theirs[2] > 3, theirs[2]  # what the change removed (nine with Django 5.2)

    body = json.dumps({"customer_id": customer.pk, "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": 10}})
    status, data, crossings = _serve(ours, "/api/v1/behavior/events", raw_key, "POST", body.encode())
    assert (status, data["data"]["status"], crossings) == (201, "RESOLVED", 3)
    status, data, _ = _serve(ours, "/api/v1/customers/nobody", raw_key)
    assert (status, data["error"]) == (404, "not_found")
