"""Celery tasks of the webhooks; each only calls webhooks.delivery and is safe to run twice
(a delivery is sent by whoever claims it)."""

from datetime import datetime

from celery import shared_task

from webhooks.delivery import deliveries_send, deliveries_sweep


@shared_task(name="webhooks.deliver")
def deliver(ids: list[str], due_by: str | None = None) -> dict:
    """Send these deliveries that are due by `due_by` (queued after the commit that wrote them,
    `due_by` the writer's clock then, or by the sweep, whose claim `due_by` is)."""
    return deliveries_send(ids=ids, due_by=datetime.fromisoformat(due_by) if due_by else None)


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    """The periodic task (django-celery-beat, every 30 seconds): queue every due delivery."""
    return deliveries_sweep()
