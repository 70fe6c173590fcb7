"""Celery tasks. Each only calls a service; each is safe to run twice (acks_late may redeliver):
the services re-read state under locks and act only on what is still due."""
from celery import shared_task

from events import services


@shared_task(name="events.expire_due")
def expire_due() -> dict:
    """The periodic sweep (django-celery-beat, every minute): due held events, then due lines."""
    return services.expire_due()
