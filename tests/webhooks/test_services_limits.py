"""What the endpoint services refuse under load and after a delete."""

import pytest
from django.db import connection

from tests.races import kinds, race
from webhooks import services
from webhooks.models import WebhookDelivery
from webhooks.services import deliveries_redeliver, endpoint_create, endpoint_delete, live_endpoints

URL = "https://hooks.example.com/in"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time: no race to lose")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creates_never_pass_the_endpoint_limit(monkeypatch):
    monkeypatch.setattr(services, "MAX_ENDPOINTS", 3)
    endpoint_create(url=URL, events=["CUSTOMER_ACCUMULATION"])
    endpoint_create(url=URL, events=["CUSTOMER_ACCUMULATION"])

    outcomes = race(*[lambda: endpoint_create(url=URL, events=["CUSTOMER_ACCUMULATION"])] * 4)

    assert kinds(outcomes) == {"ok": 1, "Conflict": 3}
    assert live_endpoints().count() == 3


@pytest.mark.django_db
def test_a_deleted_endpoints_failed_delivery_is_not_redelivered(django_capture_on_commit_callbacks):
    endpoint = endpoint_create(url=URL, events=["CUSTOMER_ACCUMULATION"])
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="CUSTOMER_ACCUMULATION", body="{}", status=WebhookDelivery.Status.FAILED
    )
    endpoint_delete(endpoint=endpoint)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert deliveries_redeliver(deliveries=WebhookDelivery.objects.all()) == 0

    assert callbacks == []
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
