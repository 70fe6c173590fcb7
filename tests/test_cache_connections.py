"""The cache on Redis (CACHE_URL=redis://...: the API-key cache and the rate-limit counters, read
by every request) keeps its connections per process. Django makes a cache backend per thread, and
under the ASGI server every request runs in a thread of its own: with Django's own Redis backend,
whose connection pool belongs to the backend, every request opened a new connection to Redis
(issue 11: seen with py-spy on the server, bench/profile_server.py). django-redis's pools are
process-wide, shared by every backend instance (config.settings.base maps redis:// to it)."""

import threading

import environ
import pytest
import redis
from django.core.cache import caches

from tests.security.test_rate_limits import _redis_up

URL = "redis://127.0.0.1:6379/13"
pytestmark = pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")


def _connections_received(server) -> int:
    return server.info("stats")["total_connections_received"]


def test_the_settings_map_a_redis_url_to_the_process_wide_pools(monkeypatch):
    from config.settings.base import cache_settings

    monkeypatch.setenv("CACHE_URL", URL)
    assert cache_settings(environ.Env())["BACKEND"] == "django_redis.cache.RedisCache"
    monkeypatch.setenv("CACHE_URL", "locmemcache://")
    assert cache_settings(environ.Env())["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_requests_in_threads_of_their_own_share_the_connections_to_redis(settings, monkeypatch):
    from config.settings.base import cache_settings

    monkeypatch.setenv("CACHE_URL", URL)
    settings.CACHES = {"default": cache_settings(environ.Env())}
    server = redis.Redis.from_url(URL)
    caches["default"].set("warm", 1)  # the process's pool and its first connection
    before = _connections_received(server)

    def request(n: int) -> None:  # one request's thread: its own backend object, as Django gives it
        backend = caches["default"]
        backend.add(f"k{n}", n)
        assert backend.get(f"k{n}") == n

    for n in range(6):  # one after the other, as requests' threads come and go
        thread = threading.Thread(target=request, args=(n,))
        thread.start()
        thread.join()
    assert _connections_received(server) - before == 0
    caches["default"].clear()
