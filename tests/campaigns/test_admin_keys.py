"""API keys in the admin: made by the service and shown once, revoked (action or button on the
change page) through `api_key_revoke`, so the API refuses the key on its very next request;
name and brands edited through `api_key_update`; every write audited."""

import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from campaigns.models import ApiKey
from campaigns.services import api_key_create
from tests.campaigns.test_admin_programme import browser_form, change_url, errors_of, message_texts

pytestmark = pytest.mark.django_db


def _key_works(client, raw) -> int:
    return client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


def test_a_key_added_in_the_admin_is_shown_once_and_works(admin_client, client, brand):
    url = reverse("admin:campaigns_apikey_add")
    response = admin_client.post(url, browser_form(admin_client, url, name="shop", brands=[brand.pk]), follow=True)
    (text,) = [m for m in message_texts(response) if "shown only once" in m]
    raw = re.search(r"[0-9a-f-]{36}", text).group(0)
    key = ApiKey.objects.get(name="shop")
    assert raw not in (key.key_hash, key.lookup) and _key_works(client, raw) == 200
    assert list(key.brands.values_list("pk", flat=True)) == [brand.pk]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.before) == ("api_key.create", str(key.pk), None)
    assert raw not in str(entry.after) and "token_secret" not in entry.after and "key_hash" not in entry.after


def test_the_revoke_action_makes_the_api_refuse_the_key_at_once(
    admin_client, client, django_capture_on_commit_callbacks
):
    key, raw = api_key_create(name="pos")
    assert _key_works(client, raw) == 200  # and cached (campaigns.key_cache): the commit drops it
    token = client.get("/api/v1/auth/authorize", HTTP_X_API_KEY=raw).json()["data"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:campaigns_apikey_changelist"), {"action": "revoke_keys", "_selected_action": [key.pk]}
        )
    assert response.status_code == 302
    assert _key_works(client, raw) == 401 and _key_works(client, token) == 401
    assert ApiKey.objects.get(pk=key.pk).is_active is False
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.before["is_active"], entry.after["is_active"]) == ("api_key.revoke", True, False)


def test_the_revoke_button_on_the_change_page_revokes(admin_client, client):
    key, raw = api_key_create(name="app")
    page = admin_client.get(change_url(key)).content.decode()
    revoke_url = reverse("admin:campaigns_apikey_revoke", args=[key.pk])
    assert revoke_url in page
    assert admin_client.get(revoke_url).status_code == 405  # a link followed by a crawler revokes nothing
    response = admin_client.post(revoke_url, follow=True)
    assert any("revoked" in m for m in message_texts(response))
    assert _key_works(client, raw) == 401
    assert "Revoke" not in admin_client.get(change_url(key)).content.decode().split('id="apikey_form"')[0]


def test_name_and_brands_are_edited_through_the_service_the_secrets_are_read_only(admin_client, client, brand):
    other = brand.__class__.objects.create(id="0002", name="Bakery")
    key, raw = api_key_create(name="pos", brand_ids=[brand.pk])
    url = change_url(key)
    data = browser_form(admin_client, url, name="pos 2", brands=[other.pk], is_active="", is_unrestricted="on")
    for secret in ("lookup", "key_hash", "last_used_at", "token_secret"):
        assert secret not in data
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    key.refresh_from_db()
    assert (key.name, key.is_active, key.is_unrestricted) == ("pos 2", True, False)
    assert list(key.brands.values_list("pk", flat=True)) == ["0002"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.before["brands"], entry.after["brands"]) == ("api_key.update", ["0001"], ["0002"])
    assert _key_works(client, raw) == 200


def test_an_unrestricted_keys_brands_and_reach_are_read_only(admin_client):
    key, _raw = api_key_create(name="back end")
    data = browser_form(admin_client, change_url(key))
    assert "brands" not in data and "is_unrestricted" not in data and "is_active" not in data
