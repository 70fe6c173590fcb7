"""API authentication (SPEC section 3): keys sent as `Authorization: Bearer` or `x-api-key`,
one-hour tokens from GET /auth/authorize, keys stored hashed, `create_api_key`, JSON 404s."""

import hashlib
import io
import time
import types
import uuid

import pytest
from django.core.management import call_command

import campaigns.auth
from campaigns.models import ApiKey
from campaigns.services import api_key_create
from events.models import Event
from tests.factories import BrandFactory

pytestmark = pytest.mark.django_db

PROTECTED = ["/api/v1/brands", "/api/v1/behavior/events", "/api/v1/customers/cust-1", "/api/v1/auth/authorize"]


def assert_401(response) -> dict:
    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "details"}
    assert body["error"] == "not_authenticated" and body["details"]
    return body


@pytest.mark.parametrize("path", PROTECTED)
def test_no_credentials_is_401_in_the_error_shape(client, path):
    response = client.get(path)
    assert_401(response)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_on_emit_is_401_and_stores_nothing(client, customer, brand):
    response = client.post(
        "/api/v1/behavior/events",
        {"customer_id": "cust-1", "brand_id": "0001", "type": "REGISTRATION"},
        content_type="application/json",
    )
    assert_401(response)
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": "Bearer lk_000000000000.wrong"},
        {"HTTP_AUTHORIZATION": "Bearer nonsense"},
        {"HTTP_AUTHORIZATION": "Bearer lk_"},
        {"HTTP_X_API_KEY": "lk_000000000000.wrong"},
        {"HTTP_X_API_KEY": "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
        {"HTTP_X_API_KEY": "nonsense"},
    ],
    ids=[
        "bearer_unknown_key",
        "bearer_garbage",
        "bearer_prefix_only",
        "x_api_key_unknown",
        "x_api_key_unknown_uuid",
        "x_api_key_garbage",
    ],
)
def test_a_bad_key_is_401(client, api_key, headers):
    assert_401(client.get("/api/v1/brands", **headers))


def test_a_key_with_the_right_lookup_but_wrong_secret_is_401(client, api_key):
    lookup, _, secret = api_key.partition(".")
    assert_401(client.get("/api/v1/brands", HTTP_X_API_KEY=f"{lookup}.{secret[::-1]}"))


def test_an_inactive_key_is_401(client, api_key):
    ApiKey.objects.update(is_active=False)
    assert_401(client.get("/api/v1/brands", HTTP_X_API_KEY=api_key))


def test_a_basic_authorization_header_is_not_accepted(client, api_key):
    assert_401(client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Basic {api_key}"))


def test_the_key_works_as_bearer(client, api_key, brand):
    response = client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["data"]] == ["0001"]


def test_the_key_works_as_x_api_key(client, api_key, brand):
    response = client.get("/api/v1/brands", HTTP_X_API_KEY=api_key)
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["data"]] == ["0001"]


def test_the_key_works_for_writes_with_x_api_key(client, api_key):
    response = client.post(
        "/api/v1/brands", {"id": "0009", "name": "Nine"}, content_type="application/json", HTTP_X_API_KEY=api_key
    )
    assert response.status_code == 201, response.json()


# ---- GET /auth/authorize -----------------------------------------------------------------------------------


def _token(client, api_key) -> str:
    response = client.get("/api/v1/auth/authorize", HTTP_X_API_KEY=api_key)
    assert response.status_code == 200, response.json()
    token = response.json()["data"]
    assert isinstance(token, str) and token and token != api_key
    return token


def test_authorize_returns_a_token_that_works_as_bearer(client, api_key, brand):
    token = _token(client, api_key)
    response = client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["data"]] == ["0001"]


def _token_issued_seconds_ago(monkeypatch, client, api_key, seconds: int) -> str:
    real = time.time()
    monkeypatch.setattr(campaigns.auth, "time", types.SimpleNamespace(time=lambda: real - seconds))
    token = _token(client, api_key)
    monkeypatch.setattr(campaigns.auth, "time", time)
    return token


def test_a_token_older_than_one_hour_is_refused(monkeypatch, client, api_key):
    token = _token_issued_seconds_ago(monkeypatch, client, api_key, 3601)
    assert_401(client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_a_token_just_under_one_hour_old_is_accepted(monkeypatch, client, api_key):
    token = _token_issued_seconds_ago(monkeypatch, client, api_key, 3500)
    assert client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_token_past_the_configured_max_age_is_refused(settings, client, api_key):
    token = _token(client, api_key)
    settings.LOYALTY_API_TOKEN_MAX_AGE = -1
    assert_401(client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_a_tampered_token_is_refused(client, api_key):
    token = _token(client, api_key)
    head, _, signature = token.rpartition(".")
    tampered = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_401(client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {head}.{tampered}"))


def test_a_token_of_a_deactivated_key_is_refused(client, api_key):
    token = _token(client, api_key)
    ApiKey.objects.update(is_active=False)
    assert_401(client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_a_token_cannot_be_exchanged_for_a_fresh_token(client, api_key):
    """A one-hour token must not renew itself forever: authorize takes the key itself."""
    token = _token(client, api_key)
    response = client.get("/api/v1/auth/authorize", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in (401, 403), response.content
    assert set(response.json()) == {"error", "details"}


# ---- keys are stored hashed ---------------------------------------------------------------------------------


def test_the_key_is_stored_hashed_never_raw(api_key):
    [row] = ApiKey.objects.values()
    secret = api_key.replace("-", "")[12:]  # what follows the lookup digits
    for value in row.values():
        assert api_key not in str(value)
        assert secret not in str(value)
    assert row["key_hash"] == hashlib.sha256(api_key.encode()).hexdigest()


def test_two_keys_never_share_a_value(db):
    _, first = api_key_create(name="a")
    _, second = api_key_create(name="b")
    assert first != second
    assert ApiKey.find(first).name == "a" and ApiKey.find(second).name == "b"


# ---- manage.py create_api_key -----------------------------------------------------------------------------------


def test_create_api_key_prints_the_key_alone_on_the_last_line(client, brand):
    out = io.StringIO()
    call_command("create_api_key", "pos terminal", stdout=out)
    last = out.getvalue().rstrip("\n").splitlines()[-1]
    assert str(uuid.UUID(last)) == last
    key = ApiKey.objects.get(name="pos terminal")
    assert key.key_hash == hashlib.sha256(last.encode()).hexdigest()
    assert last not in str(ApiKey.objects.values().get(pk=key.pk))
    assert client.get("/api/v1/brands", HTTP_X_API_KEY=last).status_code == 200


# ---- keys restricted to brands ---------------------------------------------------------------------------------------


def test_a_key_restricted_to_a_brand_gets_403_for_another_brand(client, customer, brand):
    BrandFactory(id="0002")
    _, raw = api_key_create(name="cafe only", brand_ids=["0001"])
    ok = client.post(
        "/api/v1/behavior/events",
        {"customer_id": "cust-1", "brand_id": "0001", "type": "REGISTRATION"},
        content_type="application/json",
        HTTP_X_API_KEY=raw,
    )
    assert ok.status_code == 201, ok.json()
    response = client.post(
        "/api/v1/behavior/events",
        {"customer_id": "cust-1", "brand_id": "0002", "type": "REGISTRATION"},
        content_type="application/json",
        HTTP_X_API_KEY=raw,
    )
    assert response.status_code == 403, response.content
    assert response.json()["error"] == "permission_denied"
    assert Event.objects.count() == 1


# ---- unknown paths under /api/ ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/behavior/events/abc/explode", "/api/v2/brands", "/api/"]
)
def test_an_unknown_api_path_is_a_json_404(client, api_key, path):
    response = client.get(path, HTTP_X_API_KEY=api_key)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "not_found", "details": "no such endpoint"}


def test_an_unknown_path_outside_the_api_is_not_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
