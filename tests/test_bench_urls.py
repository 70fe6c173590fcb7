"""The benchmark's ceiling views (bench/ceiling.py) are reachable only through the bench settings'
URLconf: production's URLs never mount them, and the bench URLconf still serves the whole API
unchanged behind them (so `make bench` measures production's routes)."""

import pytest
from django.urls import Resolver404, resolve


def test_production_urls_do_not_mount_the_ceiling():
    with pytest.raises(Resolver404):
        resolve("/bench/ceiling/emit", urlconf="config.urls")
    # /api/... falls through to the API's JSON 404 view, never to a ceiling view
    assert resolve("/api/v1/bench/ceiling/emit", urlconf="config.urls").func.__module__ != "bench.ceiling"


def test_bench_urls_mount_the_ceiling_in_front_of_the_production_api():
    assert resolve("/bench/ceiling/emit", urlconf="bench.ceiling").func.__name__ == "ceiling_emit"
    assert resolve("/bench/ceiling/customers/c-1", urlconf="bench.ceiling").kwargs == {"customer_id": "c-1"}
    emit = resolve("/api/v1/behavior/events", urlconf="bench.ceiling")
    assert emit.func.__module__ == resolve("/api/v1/behavior/events", urlconf="config.urls").func.__module__
