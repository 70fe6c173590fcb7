"""A storm of concurrent requests with one Idempotency-Key applies once (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from events.models import Event
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, per_value_rule
from tests.helpers import totals

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and blocking unique indexes need PostgreSQL")


def test_concurrent_duplicates_with_one_key_apply_once(api_key):
    brand = BrandFactory(id="0001")
    stars = RewardFactory(brand=brand)
    CampaignFactory(brand=brand, rules=[per_value_rule(stars)])
    customer = CustomerFactory(id="cust-1")
    body = '{"customer_id": "cust-1", "brand_id": "0001", "type": "PURCHASE", "order": {"value": 120}}'
    threads, barrier, answers = 12, threading.Barrier(12), []

    def send():
        try:
            barrier.wait()
            r = Client().post(
                "/api/v1/behavior/events",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {api_key}",
                HTTP_IDEMPOTENCY_KEY="storm-1",
            )
            answers.append((r.status_code, r.get("Idempotent-Replayed"), r.json()["data"]["id"]))
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(answers) == threads
    assert {status for status, _, _ in answers} == {201}
    assert sum(1 for _, replayed, _ in answers if replayed is None) == 1  # exactly one really ran
    assert len({event_id for _, _, event_id in answers}) == 1
    assert Event.objects.filter(type_id="PURCHASE").count() == 1  # (and cust-1's REGISTRATION)
    assert totals(customer, stars)["total"] == 12
