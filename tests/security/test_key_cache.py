"""API keys are resolved from the shared cache (campaigns.key_cache): keyed by the credential's
hash, holding no secret, and a revocation or a change of brands is seen on the very next request.
Run with CACHE_URL=redis://... the cache is the one every process shares, as in production."""

import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns import key_cache
from campaigns.models import ApiKey
from campaigns.services import api_key_create, api_key_revoke, api_key_update
from tests.factories import BrandFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def _brands(raw: str):
    return Client().get("/api/v1/brands", HTTP_X_API_KEY=raw)


def _key_queries(raw: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = _brands(raw)
    return response.status_code, [q["sql"] for q in ctx.captured_queries if '"campaigns_apikey"' in q["sql"]]


def test_a_key_seen_once_is_not_read_from_the_database_again(db):
    _key, raw = api_key_create(name="shop")
    status, first = _key_queries(raw)
    assert status == 200 and first  # read from the database, then cached
    status, second = _key_queries(raw.upper())  # another form of the same key: the same entry
    assert status == 200 and second == []


def test_the_entry_is_keyed_by_the_hash_and_holds_no_secret(db):
    key, raw = api_key_create(name="shop")
    assert _brands(raw).status_code == 200
    entry = cache.get(f"loyalty:apikey:{ApiKey.hash(raw)}")
    assert isinstance(entry, dict) and entry["id"] == key.pk
    stored = json.dumps(entry, default=str)
    assert raw not in stored and key.token_secret not in stored and key.key_hash not in stored
    assert cache.get(f"loyalty:apikey:{raw}") is None


def test_a_revoked_cached_key_is_refused_on_the_next_request(db, django_capture_on_commit_callbacks):
    key, raw = api_key_create(name="shop")
    assert _brands(raw).status_code == 200
    assert _key_queries(raw)[1] == []  # cached
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key_id=key.pk)
    assert_error(_brands(raw), 401, "not_authenticated")


def test_a_request_that_read_the_key_before_its_revocation_cannot_cache_it_again(
    db, django_capture_on_commit_callbacks
):
    key, raw = api_key_create(name="shop")
    stale = ApiKey.objects.get(pk=key.pk)  # read just before the revocation commits
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key_id=key.pk)
    key_cache.remember_key(stale, ApiKey.hash(raw))  # ... and cached just after it
    assert key_cache.cached_key(ApiKey.hash(raw)) is None
    assert_error(_brands(raw), 401, "not_authenticated")


def test_changing_a_restricted_keys_brands_is_seen_on_the_next_request(db, django_capture_on_commit_callbacks):
    first, second = BrandFactory(id="b1"), BrandFactory(id="b2")
    key, raw = api_key_create(name="shop", brand_ids=[first.pk])
    assert Client().get(f"/api/v1/brands/{first.pk}", HTTP_X_API_KEY=raw).status_code == 200
    assert Client().get(f"/api/v1/brands/{second.pk}", HTTP_X_API_KEY=raw).status_code in (403, 404)
    with django_capture_on_commit_callbacks(execute=True):
        api_key_update(key_id=key.pk, brand_ids=[second.pk])
    assert Client().get(f"/api/v1/brands/{second.pk}", HTTP_X_API_KEY=raw).status_code == 200
    assert Client().get(f"/api/v1/brands/{first.pk}", HTTP_X_API_KEY=raw).status_code in (403, 404)


def test_a_token_from_a_cached_key_is_signed_with_its_own_secret(db):
    key, raw = api_key_create(name="shop")
    assert _brands(raw).status_code == 200  # cached: its token_secret is deferred, read on demand
    response = Client().get("/api/v1/auth/authorize", HTTP_X_API_KEY=raw)
    assert response.status_code == 200, response.content
    token = response.json()["data"]
    assert Client().get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_cached_key_and_the_failure_limit_cost_one_read_of_the_cache(db, monkeypatch):
    """The address's failed-authentication counter and the key's entry are read together: one
    round trip to the cache per authenticated request (issue 11: each was a Redis round trip).
    Counted as calls into the cache backend (a get_many is one MGET on Redis)."""
    from django.core.cache import caches

    _key, raw = api_key_create(name="shop")
    assert _brands(raw).status_code == 200  # the entry is written
    backend = caches["default"]
    reads, inside = [], []
    for name in ("get", "get_many"):
        original = getattr(backend, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            if not inside:  # the local-memory cache's get_many calls get: one read still
                reads.append(_name)
            inside.append(_name)
            try:
                return _original(*args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(backend, name, counted)
    assert _brands(raw).status_code == 200
    assert reads == ["get_many"]
