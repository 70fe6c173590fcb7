"""Keys and tokens as Masivo's (issue "A drop-in for Masivo integrations", item 1): keys are
UUIDs (clients check the format), `GET /auth/authorize` answers `{"data": "<JWT>"}` with `iat`,
`exp` one hour on and a random `jti`; keys made before keep working."""

import io
import secrets
import uuid

import jwt
import pytest
from django.core.management import call_command
from django.test import Client

from campaigns.models import ApiKey
from campaigns.services import api_key_create

pytestmark = pytest.mark.django_db


def test_create_api_key_issues_a_uuid(db):
    out = io.StringIO()
    call_command("create_api_key", "shop", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert str(uuid.UUID(raw)) == raw  # canonical lower-case UUID form
    assert Client(HTTP_X_API_KEY=raw).get("/api/v1/brands").status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/brands").status_code == 200


def test_a_uuid_key_is_found_whatever_its_case(db):
    _key, raw = api_key_create(name="shop")
    assert Client(HTTP_X_API_KEY=raw.upper()).get("/api/v1/brands").status_code == 200


def test_a_uuid_with_the_right_lookup_but_another_secret_is_refused(db):
    _key, raw = api_key_create(name="shop")
    forged = raw[:14] + ("0" if raw[14] != "0" else "1") + raw[15:]  # same first 12 hex digits
    assert ApiKey.find(forged) is None
    assert Client(HTTP_X_API_KEY=forged).get("/api/v1/brands").status_code == 401


def test_keys_made_before_keep_working(db):
    """A key in the former `lk_<lookup>.<secret>` form, stored as the former code stored it."""
    lookup = secrets.token_hex(6)
    raw = f"lk_{lookup}.{secrets.token_urlsafe(32)}"
    ApiKey.objects.create(name="old", lookup=lookup, key_hash=ApiKey.hash(raw), is_unrestricted=True)
    assert Client(HTTP_X_API_KEY=raw).get("/api/v1/brands").status_code == 200


def test_authorize_answers_the_token_itself_as_masivo_does(db):
    _key, raw = api_key_create(name="shop")
    body = Client(HTTP_X_API_KEY=raw).get("/api/v1/auth/authorize").json()
    assert set(body) == {"data"} and isinstance(body["data"], str)
    claims = jwt.decode(body["data"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600 and claims["jti"]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {body['data']}").get("/api/v1/brands").status_code == 200


def test_the_admin_creates_a_uuid_key_through_the_service_and_shows_it_once(admin_client, brand):
    response = admin_client.post("/admin/campaigns/apikey/add/", {"name": "pos", "brands": [brand.pk]}, follow=True)
    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "shown only once" in str(m)]
    raw = message.rsplit(" ", 1)[-1]
    assert str(uuid.UUID(raw)) == raw
    key = ApiKey.objects.get(name="pos")
    assert not key.is_unrestricted and list(key.brands.values_list("pk", flat=True)) == [brand.pk]
    assert key.key_hash == ApiKey.hash(raw) and raw not in str(ApiKey.objects.values().get())
    assert Client(HTTP_X_API_KEY=raw).get("/api/v1/brands").json()["data"][0]["id"] == brand.pk


def test_the_admin_refuses_a_key_with_neither_brands_nor_unrestricted(admin_client, brand):
    response = admin_client.post("/admin/campaigns/apikey/add/", {"name": "nothing"})
    assert response.status_code == 200 and not ApiKey.objects.exists()
