"""Webhooks in the admin: endpoints are written by the services (a refusal is a form error and
stores nothing), the secret is shown once, rotate and redeliver actions; deliveries are
read-only, with their attempts and body, and can be redelivered."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.utils import timezone

from tests.helpers import emit
from webhooks import services
from webhooks.delivery import deliveries_send
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create, endpoint_delete

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/webhooks/webhookendpoint/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"
URL = "https://hooks.example.com/loyalty"


def form(**fields) -> dict:
    return {"url": URL, "events": ["CUSTOMER_ACCUMULATION"], "brand_id": "", "description": "", **fields}


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def spy(monkeypatch):
    """Records each call of the endpoint services (then runs them)."""
    calls = []
    for name in ("endpoint_create", "endpoint_update", "endpoint_delete"):
        original = getattr(services, name)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(services, name, wrapper)
    return calls


def failed(receiver, settings, endpoint, customer, brand) -> WebhookDelivery:
    settings.LOYALTY_WEBHOOK_RETRY_SCHEDULE = [1]
    receiver.statuses = [500, 500]
    emit(customer, brand, value=10)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    for hours in (0, 1):
        deliveries_send(ids=[delivery.pk], due_by=timezone.now() + timedelta(hours=hours))
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    return delivery


# ---- endpoints ------------------------------------------------------------------------------------------


def test_adding_an_endpoint_goes_through_the_service_and_shows_the_secret_once(admin_client, spy, brand):
    response = admin_client.post(ENDPOINTS + "add/", form(brand_id=brand.pk, description="emails"), follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert spy == ["endpoint_create"]
    assert (endpoint.url, endpoint.events, endpoint.brand_id, endpoint.description) == (
        URL,
        ["CUSTOMER_ACCUMULATION"],
        brand.pk,
        "emails",
    )
    shown = [text for text in texts(response) if endpoint.secret in text]
    assert len(shown) == 1 and "only once" in shown[0]
    page = admin_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"url": "http://hooks.example.com/x"}, "must be an https URL"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "must not carry credentials"),
        ({"events": []}, "This field is required"),
        ({"events": ["NOT_AN_EVENT"]}, "Select a valid choice"),
    ],
)
def test_an_invalid_endpoint_is_a_form_error_and_stores_nothing(admin_client, spy, fields, problem):
    response = admin_client.post(ENDPOINTS + "add/", form(**fields))
    assert response.status_code == 200  # the form again
    assert problem in response.content.decode()
    assert response.context["adminform"].form.errors
    assert WebhookEndpoint.objects.count() == 0
    assert spy == []


def test_a_refusal_of_the_service_itself_is_a_form_error(admin_client, monkeypatch):
    monkeypatch.setattr(services, "MAX_ENDPOINTS", 1)
    endpoint_create(url=URL, events=["TIER_UPGRADE"])
    response = admin_client.post(ENDPOINTS + "add/", form())
    assert response.status_code == 200
    assert "at most 1 webhook endpoints" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 1


def test_changing_an_endpoint_goes_through_the_service(admin_client, spy, settings):
    settings.LOYALTY_WEBHOOKS_ALLOW_HTTP = True
    endpoint = endpoint_create(url="http://localhost:9000/hooks", events=["TIER_UPGRADE"])
    settings.LOYALTY_WEBHOOKS_ALLOW_HTTP = False
    # the URL unchanged (http, allowed when it was set) is not refused; the events change
    body = form(url=endpoint.url, events=["TIER_UPGRADE", "TIER_DOWNGRADE"], is_active="on")
    response = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/change/", body)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert spy == ["endpoint_update"]
    assert WebhookEndpoint.objects.get().events == ["TIER_UPGRADE", "TIER_DOWNGRADE"]
    response = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/change/", form(url="http://elsewhere.example/x"))
    assert response.status_code == 200 and "must be an https URL" in response.content.decode()
    assert WebhookEndpoint.objects.get().url == "http://localhost:9000/hooks"


def test_deleting_an_endpoint_keeps_its_row_and_hides_it(admin_client, spy):
    endpoint = endpoint_create(url=URL, events=["TIER_UPGRADE"])
    response = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert spy == ["endpoint_delete"]
    assert WebhookEndpoint.objects.get().deleted_at is not None
    assert admin_client.get(ENDPOINTS).context["cl"].result_count == 0
    assert admin_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").status_code == 302  # unknown: back to the list


def test_the_list_says_when_an_endpoint_was_disabled(admin_client, receiver, settings, customer, brand):
    settings.LOYALTY_WEBHOOK_DISABLE_AFTER_DAYS = 0  # the first failure disables it
    endpoint = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=brand.pk)
    healthy = endpoint_create(url=URL, events=["TIER_UPGRADE"])
    receiver.statuses = [500]
    emit(customer, brand, value=10)
    deliveries_send(ids=[WebhookDelivery.objects.get().pk], due_by=timezone.now())
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None and not endpoint.is_active
    page = admin_client.get(ENDPOINTS).content.decode()
    assert f"Disabled: {endpoint.disabled_reason}" in page
    assert "every brand" in page and "BEHAVIOR_EVENT_FULFILLED" in page and healthy.url in page


def test_the_rotate_action_shows_the_new_secret_once(admin_client):
    endpoint = endpoint_create(url=URL, events=["TIER_UPGRADE"])
    response = admin_client.post(
        ENDPOINTS, {"action": "rotate_secret", ACTION_CHECKBOX_NAME: [str(endpoint.pk)]}, follow=True
    )
    rotated = WebhookEndpoint.objects.get()
    assert rotated.secret != endpoint.secret and rotated.previous_secret == endpoint.secret
    assert len([text for text in texts(response) if rotated.secret in text]) == 1


def test_the_redeliver_failed_action_requeues_the_failed_deliveries(
    admin_client, receiver, settings, customer, brand, django_capture_on_commit_callbacks
):
    endpoint = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=brand.pk)
    delivery = failed(receiver, settings, endpoint, customer, brand)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            ENDPOINTS, {"action": "redeliver_failed", ACTION_CHECKBOX_NAME: [str(endpoint.pk)]}, follow=True
        )
    assert "1 failed deliveries queued again." in texts(response)
    assert len(queued) == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.PENDING


# ---- deliveries -----------------------------------------------------------------------------------------


def test_a_delivery_is_read_only_with_its_attempts_and_body(admin_client, receiver, settings, customer, brand):
    endpoint = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=brand.pk)
    delivery = failed(receiver, settings, endpoint, customer, brand)
    change = f"{DELIVERIES}{delivery.pk}/change/"
    page = admin_client.get(change).content.decode()
    assert delivery.message_id in page
    assert "&quot;event&quot;: &quot;BEHAVIOR_EVENT_FULFILLED&quot;" in page  # the body, pretty-printed
    assert page.count('<td class="field-response_code">') == 2  # both attempts, inline
    assert 'name="_save"' not in page

    assert admin_client.get(DELIVERIES + "add/").status_code == 403
    assert admin_client.post(change, {"status": "DELIVERED"}).status_code == 403
    assert admin_client.post(f"{DELIVERIES}{delivery.pk}/delete/", {"post": "yes"}).status_code == 403
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.FAILED


def test_the_delivery_list_filters_and_redelivers(
    admin_client, receiver, settings, customer, brand, django_capture_on_commit_callbacks
):
    endpoint = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=brand.pk)
    delivery = failed(receiver, settings, endpoint, customer, brand)
    for query in ("status__exact=FAILED", "event=BEHAVIOR_EVENT_FULFILLED", f"endpoint__id__exact={endpoint.pk}"):
        page = admin_client.get(f"{DELIVERIES}?{query}")
        assert page.status_code == 200 and delivery.message_id in page.content.decode(), query
    assert delivery.message_id not in admin_client.get(f"{DELIVERIES}?status__exact=DELIVERED").content.decode()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            DELIVERIES, {"action": "redeliver", ACTION_CHECKBOX_NAME: [str(delivery.pk)]}, follow=True
        )
    assert "1 deliveries queued again." in texts(response)
    assert len(queued) == 1
    redone = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (redone.status, redone.attempts) == (WebhookDelivery.Status.PENDING, 0)
    assert audit_actions() == [("webhook_delivery.redeliver", str(delivery.pk), "admin")]


def test_a_deleted_endpoints_deliveries_stay_visible(admin_client, receiver, settings, customer, brand):
    endpoint = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=brand.pk)
    delivery = failed(receiver, settings, endpoint, customer, brand)
    endpoint_delete(endpoint=endpoint)
    assert delivery.message_id in admin_client.get(DELIVERIES).content.decode()


# ---- the audit trail -------------------------------------------------------------------------------------


def audit_actions():
    from audit.models import AuditEntry

    return list(AuditEntry.objects.order_by("at", "id").values_list("action", "object_id", "actor_name"))


def test_every_endpoint_change_in_the_admin_is_audited_without_its_secrets(admin_client):
    from audit.models import AuditEntry

    assert admin_client.post(f"{ENDPOINTS}add/", form(is_active="on")).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    pk = str(endpoint.pk)
    body = form(events=["TIER_UPGRADE"], is_active="on")
    assert admin_client.post(f"{ENDPOINTS}{pk}/change/", body).status_code == 302
    admin_client.post(ENDPOINTS, {"action": "rotate_secret", ACTION_CHECKBOX_NAME: [pk]})
    admin_client.post(ENDPOINTS, {"action": "redeliver_failed", ACTION_CHECKBOX_NAME: [pk]})

    assert "webhook_endpoint.rotate_secret" in admin_client.get(f"{ENDPOINTS}{pk}/change/").content.decode()
    assert admin_client.post(f"{ENDPOINTS}{pk}/delete/", {"post": "yes"}).status_code == 302
    assert audit_actions() == [
        ("webhook_endpoint.create", pk, "admin"),
        ("webhook_endpoint.update", pk, "admin"),
        ("webhook_endpoint.rotate_secret", pk, "admin"),
        ("webhook_endpoint.redeliver_failed", pk, "admin"),
        ("webhook_endpoint.delete", pk, "admin"),
    ]
    update = AuditEntry.objects.get(action="webhook_endpoint.update")
    assert (update.before["events"], update.after["events"]) == (["CUSTOMER_ACCUMULATION"], ["TIER_UPGRADE"])
    for entry in AuditEntry.objects.all():
        snapshots = {**(entry.before or {}), **(entry.after or {})}
        assert not {"secret", "previous_secret"} & snapshots.keys()


def test_a_refused_endpoint_save_records_nothing(admin_client):
    response = admin_client.post(f"{ENDPOINTS}add/", form(url="http://plain.example/x"))
    assert response.status_code == 200
    assert audit_actions() == []
