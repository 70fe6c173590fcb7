"""How long deliveries are kept: a DELIVERED one is deleted (with its attempts)
LOYALTY_WEBHOOK_RETENTION_DAYS after it was delivered; FAILED ones stay until an operator
redelivers them or deletes their endpoint's history by hand, so nothing undelivered vanishes.

An ExpiryNotice (a line announced as REWARDS_EXPIRING) is deleted once its line must have
expired: it was written at most LOYALTY_EXPIRING_NOTICE_DAYS before the line's date, and a line
past its date is never announced again."""

from datetime import timedelta

from django.conf import settings

from core.clock import db_now
from webhooks.models import ExpiryNotice, WebhookDelivery

PURGE_BATCH = 5000  # deliveries deleted per run (the periodic task runs every minute)


def deliveries_purge(*, batch: int = PURGE_BATCH) -> int:
    """Delete up to `batch` deliveries delivered before the retention window. Returns how many."""
    cutoff = db_now() - timedelta(days=settings.LOYALTY_WEBHOOK_RETENTION_DAYS)
    ids = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED, delivered_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:batch]
    )
    if ids:
        WebhookDelivery.objects.filter(pk__in=ids).delete()
    return len(ids)


def notices_purge(*, batch: int = PURGE_BATCH) -> int:
    """Delete up to `batch` expiry notices old enough that their lines' dates have passed."""
    cutoff = db_now() - timedelta(days=settings.LOYALTY_EXPIRING_NOTICE_DAYS + 1)
    ids = list(ExpiryNotice.objects.filter(announced_at__lt=cutoff).values_list("pk", flat=True)[:batch])
    if ids:
        ExpiryNotice.objects.filter(pk__in=ids).delete()
    return len(ids)
