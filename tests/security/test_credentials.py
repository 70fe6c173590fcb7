"""Idempotency and authentication (issue "Brand isolation and production hardening", items 6, 7
and 11): an Idempotency-Key belongs to the API key whatever form its credential takes,
authentication comes before any replay, and a token cannot be forged from a key id."""

import base64
import json
import secrets
import time

import jwt
import pytest
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns.models import ApiKey
from campaigns.services import api_key_create, api_key_revoke
from events.models import Event, IdempotencyRecord
from tests.helpers import assert_error, totals

pytestmark = pytest.mark.django_db

BODY = {"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 120}}


def _post(headers: dict, body=BODY, key="retry-1"):
    return Client().post(
        "/api/v1/behavior/events",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


def _token(raw: str) -> str:
    response = Client().get("/api/v1/auth/authorize", HTTP_X_API_KEY=raw)
    assert response.status_code == 200, response.content
    return response.json()["data"]


# ---- 6. an idempotency key is scoped to the API key, whatever the credential's form ----------------------


def test_a_retry_with_another_form_of_the_same_key_or_a_fresh_token_replays(customer, star_campaign, stars):
    _key, raw = api_key_create(name="shop")
    forms = [
        {"HTTP_AUTHORIZATION": f"Bearer {raw}"},
        {"HTTP_X_API_KEY": raw},
        {"HTTP_AUTHORIZATION": f"Bearer {_token(raw)}"},
        {"HTTP_AUTHORIZATION": f"Bearer {_token(raw)}"},  # the next token, as after a refresh
    ]
    first, *retries = [_post(headers) for headers in forms]

    assert first.status_code == 201, first.content
    for retry in retries:
        assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()
    assert Event.objects.count() == 1
    assert totals(customer, stars)["total"] == 12


def test_another_api_key_is_another_scope(customer, star_campaign):
    _a, first_key = api_key_create(name="a")
    _b, second_key = api_key_create(name="b")
    assert _post({"HTTP_X_API_KEY": first_key}).status_code == 201
    other = _post({"HTTP_X_API_KEY": second_key}, body={**BODY, "order": {"value": 50}})
    assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")


# ---- 7. authentication comes before any replay -----------------------------------------------------------


def test_a_revoked_key_gets_401_even_for_a_request_it_made_before(
    customer, star_campaign, django_capture_on_commit_callbacks
):
    key, raw = api_key_create(name="shop")
    assert _post({"HTTP_X_API_KEY": raw}).status_code == 201  # the key is cached now (campaigns.key_cache)
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key_id=key.pk)

    assert_error(_post({"HTTP_X_API_KEY": raw}), 401, "not_authenticated")


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_API_KEY": "lk_000000000000.wrong"}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}],
    ids=["no-credential", "bad-key", "bad-token"],
)
def test_an_unauthenticated_request_never_touches_idempotency_records(customer, star_campaign, headers):
    with CaptureQueriesContext(connection) as queries:
        response = _post(headers)
    assert response.status_code == 401
    touching = [q["sql"] for q in queries.captured_queries if IdempotencyRecord._meta.db_table in q["sql"]]
    assert touching == []
    assert Event.objects.count() == 0


# ---- 11. tokens cannot be forged from a key id -------------------------------------------------------------


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_token_is_a_jwt_with_a_random_id_and_an_expiry_one_hour_on(api_key):
    before = int(time.time())
    first, second = _token(api_key), _token(api_key)
    claims = _claims(first)
    assert {"iat", "exp", "jti"} <= set(claims)
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + settings.LOYALTY_API_TOKEN_MAX_AGE == claims["iat"] + 3600
    assert claims["jti"] != _claims(second)["jti"] and len(claims["jti"]) >= 16


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the forger's key, not ours
def test_a_token_signed_with_the_installation_secret_is_refused(api_key):
    """Whoever knows SECRET_KEY (the example one of a default installation, say) still cannot
    mint a token: a token is signed with its key's own secret, kept only in the database."""
    key = ApiKey.objects.get()
    now = int(time.time())
    forged = [
        signing.TimestampSigner(salt="loyalty.api-token").sign(str(key.pk)),  # the former token format
        jwt.encode(
            {"sub": str(key.pk), "iat": now, "exp": now + 3600, "jti": secrets.token_hex(16)},
            settings.SECRET_KEY,
            algorithm="HS256",
        ),
    ]
    for token in forged:
        assert_error(Client().get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}"), 401, "not_authenticated")


def test_a_token_with_an_edited_claim_is_refused(api_key):
    token = _token(api_key)
    header, payload, signature = token.split(".")
    claims = _claims(token)
    claims["exp"] += 86400
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = Client().get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {header}.{edited}.{signature}")
    assert_error(response, 401, "not_authenticated")


def test_revoking_a_key_kills_its_tokens_at_once(api_key):
    token = _token(api_key)
    assert Client().get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    ApiKey.objects.update(is_active=False)
    assert_error(Client().get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {token}"), 401, "not_authenticated")
