"""Celery tasks. Each only calls a service and is safe to run twice (the rollup recomputes its
window under a lock, so a repeat or an overlap writes the same rows)."""

from celery import shared_task

from backoffice.services import dashboard_rollup


@shared_task(name="backoffice.rollup_dashboard")
def rollup_dashboard() -> dict:
    """The periodic task (django-celery-beat, every 5 minutes): today's and yesterday's summary rows."""
    return dashboard_rollup()
