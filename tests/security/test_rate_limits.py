"""Rate limits per key, shared by every process and node (issue "Brand isolation and production
hardening", item 9): writes per key, /auth/authorize per key, failed authentications per client
address, each a 429 `throttled` with Retry-After; counters in the Django cache (Redis in
production), so two processes share one budget."""

import json
import os
import socket
import subprocess
import sys
import types

import pytest
from django.conf import settings
from django.test import Client

from campaigns.services import api_key_create
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

BODY = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 10}}


def _client(raw: str, address: str = "10.0.0.1") -> Client:
    return Client(HTTP_X_API_KEY=raw, REMOTE_ADDR=address)


def _emit(client: Client, n: int):
    body = {**BODY, "metadata": {"n": n}}
    return client.post("/api/v1/behavior/events", json.dumps(body), content_type="application/json")


def assert_throttled(response, period: int = 86400) -> int:
    """429 throttled, Retry-After within the window. The tests use windows of a day, so that no
    window ends in the middle of a test."""
    assert_error(response, 429, "throttled")
    wait = int(response["Retry-After"])
    assert 1 <= wait <= period
    return wait


def test_the_documented_defaults():
    assert settings.LOYALTY_API_RATE == "6000/min"
    assert settings.LOYALTY_AUTHORIZE_RATE == "60/min"
    assert settings.LOYALTY_AUTH_FAILURE_RATE == "30/min"


def test_writes_are_limited_per_key_and_reads_are_not(settings, customer, brand):
    settings.LOYALTY_API_RATE = "3/day"
    _a, first = api_key_create(name="a")
    _b, second = api_key_create(name="b")
    shop = _client(first)

    assert [_emit(shop, n).status_code for n in range(3)] == [201, 201, 201]
    assert_throttled(_emit(shop, 3))
    assert shop.get("/api/v1/customers/cust-1").status_code == 200  # reads are not writes
    assert _emit(_client(second), 4).status_code == 201  # another key has its own budget


def test_authorize_is_limited_per_key(settings, api_key):
    settings.LOYALTY_AUTHORIZE_RATE = "2/day"
    shop = _client(api_key)
    assert [shop.get("/api/v1/auth/authorize").status_code for _ in range(2)] == [200, 200]
    assert_throttled(shop.get("/api/v1/auth/authorize"))


def test_failed_authentications_are_limited_per_address(settings, api_key):
    settings.LOYALTY_AUTH_FAILURE_RATE = "5/day"
    guesser = Client(REMOTE_ADDR="10.0.0.66")
    answers = [guesser.get("/api/v1/brands", HTTP_X_API_KEY=f"lk_000000000000.guess{n}").status_code for n in range(5)]
    assert answers == [401] * 5

    assert_throttled(guesser.get("/api/v1/brands", HTTP_X_API_KEY="lk_000000000000.guess5"))
    # past the limit the address is refused before its credential is even looked at
    assert_throttled(guesser.get("/api/v1/brands", HTTP_X_API_KEY=api_key))
    # another address is not
    assert Client(REMOTE_ADDR="10.0.0.7").get("/api/v1/brands", HTTP_X_API_KEY=api_key).status_code == 200


def test_a_spoofed_forwarded_for_does_not_make_a_new_address(settings, api_key):
    settings.LOYALTY_AUTH_FAILURE_RATE = "2/day"
    guesser = Client(REMOTE_ADDR="10.0.0.66")
    for n in range(2):
        guesser.get("/api/v1/brands", HTTP_X_API_KEY=f"lk_0.{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert_throttled(guesser.get("/api/v1/brands", HTTP_X_API_KEY="lk_0.x", HTTP_X_FORWARDED_FOR="192.0.2.99"))


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_two_processes_share_one_budget_in_redis(settings, customer, brand):
    """This process spends the budget through the API; a second Python process, configured as
    production is (CACHE_URL on Redis), finds it spent."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    settings.LOYALTY_API_RATE = "2/day"  # one window for the whole test (a minute could end mid-test)
    from django.core.cache import cache

    cache.clear()
    key, raw = api_key_create(name="shared")
    shop = _client(raw)
    assert [_emit(shop, n).status_code for n in range(2)] == [201, 201]

    probe = (
        "import django; django.setup(); "
        "from core.throttling import WRITES; "
        f"print('spent' if WRITES.exceeded({key.pk}) else 'left')"
    )
    env = {**os.environ, "CACHE_URL": REDIS_URL, "LOYALTY_API_RATE": "2/day"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "spent"
    assert_throttled(_emit(shop, 3))
    cache.clear()


def test_retry_after_is_the_rest_of_the_window_rounded_up(settings, api_key, monkeypatch):
    import core.throttling

    settings.LOYALTY_AUTHORIZE_RATE = "1/min"
    start = 1_800_000_000 // 60 * 60  # the start of a minute
    monkeypatch.setattr(core.throttling, "time", types.SimpleNamespace(time=lambda: start + 58.5))
    shop = _client(api_key)
    assert shop.get("/api/v1/auth/authorize").status_code == 200
    assert assert_throttled(shop.get("/api/v1/auth/authorize"), period=60) == 2  # 1.5 s left, rounded up
    monkeypatch.setattr(core.throttling, "time", types.SimpleNamespace(time=lambda: start + 60))  # the next window
    assert shop.get("/api/v1/auth/authorize").status_code == 200


def test_counting_a_request_is_one_call_to_the_cache_once_its_window_has_begun(settings, monkeypatch):
    """The window's counter is counted first (one round trip on Redis), started only when it is
    not there yet: two calls for the window's first request, one for every other."""
    from django.core.cache import cache, caches

    from core.throttling import Window

    settings.LOYALTY_API_RATE = "3/day"  # one window for the whole test
    cache.clear()
    backend = caches["default"]
    calls = []
    for name in ("add", "incr", "get"):
        original = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    window = Window("test", "LOYALTY_API_RATE")
    assert window.hit("shop") is None
    assert calls == ["incr", "add"]
    del calls[:]
    assert [window.hit("shop"), window.hit("shop")] == [None, None]
    assert calls == ["incr", "incr"]
    assert window.hit("shop") is not None  # the fourth of three
    cache.clear()
