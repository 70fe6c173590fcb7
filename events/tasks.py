"""Celery tasks. Each only calls a service; each is safe to run twice (acks_late may redeliver):
the services re-read state under locks and act only on what is still due."""
from celery import shared_task

from events import services


@shared_task(name="events.expire_due")
def expire_due() -> dict:
    """The periodic sweep (django-celery-beat, every minute): due held events, then due lines."""
    return services.expire_due()


@shared_task(name="events.process_event")
def process_event(event_id: str) -> str | None:
    """Apply an event emitted with ?async=true (a no-op if it was already applied or cancelled)."""
    from core.exceptions import DomainError

    try:
        event = services.event_process_queued(event_id=event_id)
    except DomainError as exc:  # stored FAILED by the service; nothing to retry
        return f"failed: {exc.code}"
    return event.status if event else None
