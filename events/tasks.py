"""Celery tasks. Each only calls a service; each is safe to run twice (acks_late may redeliver):
the services re-read state under locks and act only on what is still due."""

from celery import shared_task

from core.exceptions import DomainError
from events import services
from events.status import Source


@shared_task(name="events.housekeeping")
def housekeeping() -> dict:
    """The periodic task (django-celery-beat, every minute): expire due held events, expire due
    wallet lines, re-send queued events whose task was lost, purge idempotency records."""
    return services.housekeeping_run()


@shared_task(name="events.expire_due")
def expire_due() -> dict:
    """The periodic task's former name, kept so that messages and schedules from before the
    rename still run (migration events.0006 renames the schedule)."""
    return services.housekeeping_run()


@shared_task(name="events.process_event")
def process_event(event_id: str) -> str | None:
    """Apply an event emitted with ?async=true (a no-op if it was already applied or cancelled)."""
    try:
        event = services.event_process_queued(event_id=event_id)
    except DomainError as exc:  # stored FAILED by the service; nothing to retry
        return f"failed: {exc.code}"
    return event.status if event else None


@shared_task(name="events.fulfill_expired")
def fulfill_expired(event_id: str) -> str:
    """Apply late one EXPIRED held event (POST /customers/fulfill_expired_events queues these).
    A refusal (already applied, not EXPIRED, insufficient balance: stored FAILED and linked) is
    the outcome, not an error to retry."""
    try:
        event = services.event_fulfill_expired(event_id=event_id, source=Source.TASK)
    except DomainError as exc:
        return f"not fulfilled: {exc.code}"
    return f"{event.status} as {event.pk}"
