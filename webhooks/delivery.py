"""Sending deliveries: claim, POST (signed), record; and the sweep that finds what is due.

A delivery is sent by whoever claims it: a conditional UPDATE that moves its `next_attempt_at`
a lease ahead (the timeout and a margin) and commits at once. The POST is then made with no
transaction open and no lock held; its outcome is recorded in a short transaction of its own.
So two workers never send one delivery at the same time, and a worker killed mid-send leaves a
delivery that the sweep claims again once the lease ran out (at least once; the `webhook-id`
is the same every time).

Outcome: a 2xx is DELIVERED. Anything else (another status, a timeout, a connection error) is
retried after the next delay of LOYALTY_WEBHOOK_RETRY_SCHEDULE, and once the schedule is used
up the delivery is FAILED. An endpoint whose every attempt failed for LOYALTY_WEBHOOK_DISABLE_AFTER
(3 days) is disabled, with the reason shown in the admin and the API.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from core.clock import db_now
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.signing import signature_headers

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status
EXCERPT = 500  # characters of a receiver's answer kept with the attempt
USER_AGENT = "loyalty-engine-webhooks/1"


def retry_schedule() -> list[int]:
    """Seconds to wait before each retry (LOYALTY_WEBHOOK_RETRY_SCHEDULE)."""
    return list(settings.LOYALTY_WEBHOOK_RETRY_SCHEDULE)


def lease() -> timedelta:
    """How long a claim keeps others off a delivery: longer than any attempt can take (three
    timeouts, connect, send and read, and a margin: LOYALTY_WEBHOOK_LEASE_MARGIN seconds)."""
    margin = settings.LOYALTY_WEBHOOK_LEASE_MARGIN
    return timedelta(seconds=settings.LOYALTY_WEBHOOK_TIMEOUT * 3 + margin)


@dataclass
class Outcome:
    code: int | None = None
    error: str = ""
    excerpt: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def _sendable() -> Q:
    """PENDING, of a live endpoint. The endpoint is checked by a subquery, not a join: an UPDATE
    filtered across a join is run by Django as `WHERE id IN (SELECT ... JOIN ...)`, and
    PostgreSQL does not re-evaluate that subquery for a row a concurrent claim just changed, so
    two claimers blocked on one row would both win. Filtered on its own columns, the row is
    checked again once the lock is granted."""
    live = WebhookEndpoint.objects.filter(is_active=True, deleted_at__isnull=True).values("pk")
    return Q(status=Status.PENDING, endpoint_id__in=live)


def delivery_claim(*, delivery_id, due_by: datetime | None = None) -> WebhookDelivery | None:
    """Claim a due delivery (its next attempt at or before `due_by`, default the database's
    clock), committed at once. Returns it with its endpoint, or None if it is not due, already
    claimed, delivered, failed, or its endpoint is inactive."""
    now = db_now()
    due_by = now if due_by is None else due_by
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(_sendable(), pk=delivery_id, next_attempt_at__lte=due_by).update(
            next_attempt_at=now + lease()
        )
        if not claimed:
            return None
        return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def delivery_post(delivery: WebhookDelivery, *, client: httpx.Client) -> Outcome:
    """POST the delivery's body, signed, and read at most EXCERPT characters of the answer.
    Never raises for the receiver's faults; holds no transaction."""
    sent_at = datetime.now(dt_timezone.utc)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signature_headers(delivery.endpoint, msg_id=delivery.message_id, at=sent_at, body=delivery.body),
    }
    started = time.monotonic()
    outcome = Outcome()
    try:
        with client.stream("POST", delivery.endpoint.url, content=delivery.body.encode(), headers=headers) as response:
            outcome.code = response.status_code
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= EXCERPT or time.monotonic() - started > settings.LOYALTY_WEBHOOK_TIMEOUT:
                    break
            outcome.excerpt = received[:EXCERPT].decode("utf-8", "replace")
    except httpx.TimeoutException:
        outcome.code, outcome.error = None, f"timed out after {settings.LOYALTY_WEBHOOK_TIMEOUT}s"
    except (httpx.HTTPError, OSError, ValueError) as exc:
        outcome.code, outcome.error = None, f"{type(exc).__name__}: {exc}"[:EXCERPT]
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def delivery_record(delivery: WebhookDelivery, outcome: Outcome) -> WebhookDelivery:
    """Record one attempt's outcome (one short transaction): DELIVERED, rescheduled, or FAILED
    once the schedule is used up; the endpoint's health with it."""
    schedule = retry_schedule()
    with transaction.atomic():
        now = db_now()
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        WebhookAttempt.objects.create(
            delivery=row,
            at=now,
            duration_ms=outcome.duration_ms,
            response_code=outcome.code,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
        )
        row.attempts += 1
        row.last_response_code = outcome.code
        row.last_error = outcome.error
        if outcome.ok:
            row.status, row.delivered_at, row.next_attempt_at = Status.DELIVERED, now, None
        elif row.attempts > len(schedule):
            row.status, row.next_attempt_at = Status.FAILED, None
        else:
            row.next_attempt_at = now + timedelta(seconds=schedule[row.attempts - 1])
        row.save(
            update_fields=[
                "attempts",
                "last_response_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
        _endpoint_health(row.endpoint_id, ok=outcome.ok, now=now)
    return row


def _endpoint_health(endpoint_id, *, ok: bool, now: datetime) -> None:
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint_id)
    if ok:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    cutoff = now - timedelta(days=settings.LOYALTY_WEBHOOK_DISABLE_AFTER_DAYS)
    disabled = endpoints.filter(is_active=True, failing_since__lte=cutoff).update(
        is_active=False,
        disabled_at=now,
        disabled_reason=f"disabled at {now:%Y-%m-%d %H:%M} UTC: every delivery failed for "
        f"{settings.LOYALTY_WEBHOOK_DISABLE_AFTER_DAYS} days",
    )
    if disabled:
        from campaigns.cache import bump_version  # the outbox stops writing for it

        bump_version()
        logger.warning(
            "webhook endpoint %s disabled: failing for %s days",
            endpoint_id,
            settings.LOYALTY_WEBHOOK_DISABLE_AFTER_DAYS,
        )


def http_client() -> httpx.Client:
    """Redirects are not followed (a 3xx is a failed attempt): a receiver moves by its endpoint's URL."""
    return httpx.Client(timeout=settings.LOYALTY_WEBHOOK_TIMEOUT, follow_redirects=False)


def deliveries_send(*, ids: list, due_by: datetime | None = None) -> dict:
    """Claim, send and record each of these deliveries that is due; the others are skipped.
    Returns the counts."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    with http_client() as client:
        for delivery_id in ids:
            delivery = delivery_claim(delivery_id=delivery_id, due_by=due_by)
            if delivery is None:
                counts["skipped"] += 1
                continue
            row = delivery_record(delivery, delivery_post(delivery, client=client))
            key = {Status.DELIVERED: "delivered", Status.FAILED: "failed"}.get(row.status, "retrying")
            counts[key] += 1
    return counts


SWEEP_BATCH = 500  # deliveries the sweep queues per run
TASK_CHUNK = 20  # deliveries one task sends


def deliveries_sweep(*, limit: int = SWEEP_BATCH) -> int:
    """The periodic task: queue the sending of every due delivery (retries whose time came, and
    whatever a lost task or a killed worker left behind). Each batch is claimed for the tasks
    it queues (their `due_by` is the claim), so a sweep repeated before they ran queues nothing
    twice, and a lost task's deliveries come due again once the lease ran out. Returns how many
    were queued."""
    from webhooks.tasks import deliver

    now = db_now()
    with transaction.atomic():
        # Locked as they are read (a claim that got there first is skipped, one that comes later
        # waits and then finds them claimed), so no claim made meanwhile is overwritten.
        ids = list(
            WebhookDelivery.objects.filter(_sendable(), next_attempt_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        token = now + lease()
        WebhookDelivery.objects.filter(pk__in=ids, status=Status.PENDING, next_attempt_at__lte=now).update(
            next_attempt_at=token
        )
    ids = [str(pk) for pk in ids]
    for start in range(0, len(ids), TASK_CHUNK):
        chunk = ids[start : start + TASK_CHUNK]
        try:
            deliver.delay(chunk, token.isoformat())
        except Exception:  # the broker is down: the next sweep, once the lease ran out
            logger.warning("could not queue webhook deliveries; the next sweep retries", exc_info=True)
            break
    return len(ids)
