"""The outbox end to end in one process: a committed change is delivered, signed, retried."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, per_value_rule
from tests.helpers import emit
from webhooks.delivery import deliveries_send
from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


def test_an_accumulation_arrives_signed_after_two_failures(receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500, 503]
    brand = BrandFactory()
    reward = RewardFactory(brand=brand)
    CampaignFactory(brand=brand, rules=[per_value_rule(reward, amount=1, per=10)])
    customer = CustomerFactory()
    endpoint = endpoint_create(url=receiver.url, events=["CUSTOMER_ACCUMULATION", "BEHAVIOR_EVENT_FULFILLED"])
    with django_capture_on_commit_callbacks(execute=False):
        event = emit(customer, brand, value=120)
    deliveries = list(WebhookDelivery.objects.order_by("event"))
    assert [d.event for d in deliveries] == ["BEHAVIOR_EVENT_FULFILLED", "CUSTOMER_ACCUMULATION"]
    ids = [str(d.pk) for d in deliveries]
    later = timezone.now()
    for _ in range(3):
        deliveries_send(ids=ids, due_by=later)
        later += timedelta(days=1)
    accumulation = WebhookDelivery.objects.get(event="CUSTOMER_ACCUMULATION")
    assert accumulation.status == "DELIVERED"
    got = [r for r in receiver.received if json.loads(r.body)["event"] == "CUSTOMER_ACCUMULATION"]
    assert len({r.headers["webhook-id"] for r in got}) == 1
    body = Webhook(endpoint.secret).verify(got[-1].body, got[-1].headers)
    assert body["data"]["event_id"] == str(event.pk)
    assert body["data"]["lines"][0]["amount"] == 12
