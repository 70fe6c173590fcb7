"""Delivered deliveries are deleted after LOYALTY_WEBHOOK_RETENTION_DAYS by the periodic task;
undelivered ones (FAILED, PENDING) are never purged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.services import housekeeping_run
from webhooks.models import ExpiryNotice, WebhookAttempt, WebhookDelivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def _delivery(endpoint, status, delivered_days_ago=None):
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="CUSTOMER_ACCUMULATION",
        body="{}",
        status=status,
        delivered_at=timezone.now() - timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None,
    )
    WebhookAttempt.objects.create(delivery=delivery, at=timezone.now(), response_code=200)
    return delivery


def test_the_periodic_task_purges_only_old_delivered_deliveries(settings):
    settings.LOYALTY_WEBHOOK_RETENTION_DAYS = 30
    endpoint = endpoint_create(url="https://hooks.example.com/in", events=["CUSTOMER_ACCUMULATION"])
    old = _delivery(endpoint, Status.DELIVERED, delivered_days_ago=31)
    recent = _delivery(endpoint, Status.DELIVERED, delivered_days_ago=29)
    failed = _delivery(endpoint, Status.FAILED)
    pending = _delivery(endpoint, Status.PENDING)

    assert housekeeping_run()["webhook_deliveries_purged"] == 1

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {recent.pk, failed.pk, pending.pk}
    assert not WebhookAttempt.objects.filter(delivery_id=old.pk).exists()
    assert housekeeping_run()["webhook_deliveries_purged"] == 0


def test_expiry_notices_are_purged_once_their_lines_must_have_expired(settings):
    settings.LOYALTY_EXPIRING_NOTICE_DAYS = 7
    old = ExpiryNotice.objects.create(line_id=1)
    recent = ExpiryNotice.objects.create(line_id=2)
    ExpiryNotice.objects.filter(pk=old.pk).update(announced_at=timezone.now() - timedelta(days=9))
    ExpiryNotice.objects.filter(pk=recent.pk).update(announced_at=timezone.now() - timedelta(days=7))

    assert housekeeping_run()["expiry_notices_purged"] == 1
    assert list(ExpiryNotice.objects.values_list("pk", flat=True)) == [recent.pk]
