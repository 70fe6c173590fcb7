"""The API docs work offline and load nothing from third parties (issue "Brand isolation and
production hardening", item 13): Swagger UI (/api/docs/) and ReDoc (/api/redoc/) come from
drf-spectacular-sidecar and are served by the app itself; LOYALTY_PUBLIC_API_DOCS=false puts
them and the schema behind a staff login to the admin."""

import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

DOC_PAGES = ["/api/docs/", "/api/redoc/"]
PROTECTED = [*DOC_PAGES, "/api/schema/"]
# any absolute or protocol-relative URL in the page, wherever it stands (attributes, inline JS, CSS)
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.\-\[\]:]+""")
ASSET_REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _html(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


@pytest.mark.parametrize("path", DOC_PAGES)
def test_docs_pages_reference_no_third_party_host(client, path):
    html = _html(client, path)
    hosts = {urlsplit(url if url.startswith("http") else "http:" + url).hostname for url in ABSOLUTE_URL.findall(html)}
    assert hosts <= {"testserver"}, f"{path} references {sorted(hosts)}"
    assert "jsdelivr" not in html and "unpkg" not in html and "googleapis" not in html


def test_swagger_ui_does_not_send_the_schema_to_the_online_validator(client):
    html = _html(client, "/api/docs/")
    assert "validator.swagger.io" not in html
    assert '"validatorUrl": null' in html


@pytest.mark.parametrize("path", DOC_PAGES)
def test_docs_assets_are_served_by_the_app(path, settings, tmp_path):
    """After `collectstatic` (make run and every deployment run it), every script, stylesheet
    and icon the page references answers 200 from the app itself (whitenoise)."""
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # a new handler: whitenoise indexes STATIC_ROOT when it is built
    refs = ASSET_REF.findall(_html(client, path))
    assets = [ref for ref in refs if ref.startswith("/static/")]
    assert len(assets) >= 1 and any(ref.endswith(".js") for ref in assets), refs
    assert set(refs) - set(assets) == set(), f"references outside the app's static files: {set(refs) - set(assets)}"
    for ref in assets:
        response = client.get(ref)
        assert response.status_code == 200, ref
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, ref


@pytest.mark.parametrize("path", PROTECTED)
def test_docs_and_schema_are_public_by_default(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PROTECTED)
def test_private_docs_and_schema_need_a_staff_login(client, settings, django_user_model, path):
    settings.LOYALTY_PUBLIC_API_DOCS = False

    anonymous = client.get(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/?next=" + path)

    client.force_login(django_user_model.objects.create_user("clerk", password="x", is_staff=False))
    assert client.get(path).status_code == 302  # logged in but not staff: the admin login again

    client.force_login(django_user_model.objects.create_user("admin", password="x", is_staff=True))
    assert client.get(path).status_code == 200

    settings.LOYALTY_PUBLIC_API_DOCS = True  # read at each request
    client.logout()
    assert client.get(path).status_code == 200


def test_an_api_key_does_not_open_private_docs(client, settings, api_key):
    settings.LOYALTY_PUBLIC_API_DOCS = False
    response = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 302
