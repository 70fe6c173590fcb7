"""Every write to webhook endpoints and to the deliveries an operator asks for: the API, the
admin and the commands call these and nothing else. Each endpoint write moves the programme
version in its transaction, so the outbox of every process sees it on the next change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.cache import bump_version
from campaigns.services.common import brand_or_none, get_or_404
from core.exceptions import Conflict, InvalidInput
from webhooks.models import WebhookDelivery, WebhookEndpoint, new_secret
from webhooks.names import NAMES
from webhooks.outbox import dispatch

MAX_ENDPOINTS = 50  # live endpoints in all: each change is written once per subscribed endpoint
MAX_URL = 2000
ROTATION_OVERLAP = timedelta(hours=24)
MAX_REDELIVER = 1000  # failed deliveries sent again by one call


def url_problem(url: str) -> str | None:
    """Why this URL cannot receive webhooks, or None."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url.strip():
        return "a URL is required"
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return "not a valid URL"
    allowed = ("https", "http") if settings.LOYALTY_WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        return (
            "must be an https URL (LOYALTY_WEBHOOKS_ALLOW_HTTP=true allows http, for local work)"
            if parts.scheme == "http"
            else "must be an https URL"
        )
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials (the signature proves who sends)"
    return None


def events_problem(events) -> str | None:
    if not isinstance(events, list) or not events:
        return "a non-empty list of event names"
    unknown = [name for name in events if name not in NAMES]
    if unknown:
        return f"unknown event names: {', '.join(map(str, unknown[:5]))} (known: {', '.join(NAMES)})"
    if len(set(events)) != len(events):
        return "each event name once"
    return None


def _check(fields: dict) -> None:
    problems = {}
    if "url" in fields and (problem := url_problem(fields["url"])):
        problems["url"] = problem
    if "events" in fields and (problem := events_problem(fields["events"])):
        problems["events"] = problem
    if problems:
        raise InvalidInput(problems)
    if fields.get("brand_id"):
        brand_or_none(fields["brand_id"])  # NotFound `brand_not_found`


def live_endpoints():
    return WebhookEndpoint.objects.filter(deleted_at__isnull=True)


def endpoint_get(*, endpoint_id, brands: set[str] | None = None) -> WebhookEndpoint:
    """A live endpoint (of one of `brands`, when given: another brand's answers like an unknown
    one). Raises NotFound."""
    rows = live_endpoints()
    if brands is not None:
        rows = rows.filter(brand_id__in=brands)
    return get_or_404(rows, endpoint_id, "webhook")


def endpoint_create(
    *, url: str, events: list[str], brand_id: str | None = None, description: str = "", is_active: bool = True
) -> WebhookEndpoint:
    """Create an endpoint with a new signing secret (shown once, by the caller). Raises
    InvalidInput (URL, events), NotFound (brand), Conflict `webhook_limit` (MAX_ENDPOINTS)."""
    _check({"url": url, "events": events, "brand_id": brand_id})
    with transaction.atomic():
        bump_version()  # first: its row lock serialises concurrent creates, so the count below holds
        if live_endpoints().count() >= MAX_ENDPOINTS:
            raise Conflict(f"at most {MAX_ENDPOINTS} webhook endpoints; delete one first", code="webhook_limit")
        endpoint = WebhookEndpoint.objects.create(
            url=url, events=events, brand_id=brand_id or "", description=description, is_active=is_active
        )
    return endpoint


def endpoint_update(*, endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    """Change an endpoint's url, events, brand, description or is_active. Re-activating a
    disabled endpoint clears its failure record. Raises as endpoint_create."""
    if "brand_id" in fields:
        fields["brand_id"] = fields["brand_id"] or ""
    _check(fields)
    with transaction.atomic():
        row = live_endpoints().select_for_update().get(pk=endpoint.pk)
        for name, value in fields.items():
            setattr(row, name, value)
        changed = [*fields, "updated_at"]
        if fields.get("is_active") and not endpoint.is_active:
            row.failing_since = row.disabled_at = None
            row.disabled_reason = ""
            changed += ["failing_since", "disabled_at", "disabled_reason"]
        row.save(update_fields=changed)
        bump_version()
    return row


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint: it receives nothing more; its deliveries stay visible to the admin."""
    with transaction.atomic():
        live_endpoints().filter(pk=endpoint.pk).update(deleted_at=timezone.now(), is_active=False)
        bump_version()


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret (shown once, by the caller); the old one keeps signing beside it
    for 24 hours, so receivers can switch without missing a message."""
    with transaction.atomic():
        row = live_endpoints().select_for_update().get(pk=endpoint.pk)
        row.previous_secret = row.secret
        row.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        row.secret = new_secret()
        row.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return row


def deliveries_redeliver(*, deliveries) -> int:
    """Send these deliveries again now (FAILED ones, or PENDING ones waiting for a retry; a
    DELIVERED one is sent again only when asked by id, for a receiver that lost it). Each keeps its
    `webhook-id`; its schedule starts over. Returns how many were queued."""
    with transaction.atomic():
        live = deliveries.filter(endpoint__deleted_at__isnull=True)  # a deleted endpoint gets nothing
        ids = [str(pk) for pk in live.values_list("pk", flat=True)[:MAX_REDELIVER]]
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if ids:
            transaction.on_commit(lambda: dispatch(ids))
    return len(ids)


def endpoint_redeliver_failed(*, endpoint: WebhookEndpoint) -> int:
    """Send again every FAILED delivery of an endpoint (at most MAX_REDELIVER a call)."""
    return deliveries_redeliver(
        deliveries=endpoint.deliveries.filter(status=WebhookDelivery.Status.FAILED).order_by("created_at")
    )


def delivery_get(*, delivery_id, brands: set[str] | None = None) -> WebhookDelivery:
    """A delivery of a live endpoint (of one of `brands`, when given: another brand's answers
    like an unknown one). Raises NotFound."""
    rows = WebhookDelivery.objects.filter(endpoint__deleted_at__isnull=True)
    if brands is not None:
        rows = rows.filter(endpoint__brand_id__in=brands)
    return get_or_404(rows, delivery_id, "webhook delivery")
