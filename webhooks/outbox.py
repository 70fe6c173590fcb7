"""The transactional outbox: `webhook_announce` writes the deliveries of a change in the
transaction that makes it, and queues their sending once that transaction commits.

- A rolled-back change rolls its deliveries back with it: nothing is sent.
- A committed one has its rows, whatever happens next: the task queued after commit sends them
  at once, and if that task is lost (the process died between commit and queueing, the broker
  dropped it, a worker was killed mid-send) the periodic sweep (webhooks.delivery) sends them.
- No HTTP request is made here, nor while any transaction is open: a slow or dead receiver
  never holds a lock or delays the answer of the API call that made the change.

The active endpoints are read once per programme version (campaigns.cache: every endpoint
write moves it), so a change that nobody subscribed to costs no query at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from campaigns import cache as programme_cache
from core.json import exact_dumps, jsonable
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.names import NAMES

logger = logging.getLogger(__name__)

# A body's data, or what builds it for a brand scope: None for an endpoint of every brand, {id}
# for an endpoint restricted to one brand (what it may see of a customer's other brands is left out).
Data = dict | Callable[[set[str] | None], dict]


@dataclass(frozen=True)
class Subscriber:
    id: Any
    brand_id: str
    events: frozenset


_lock = threading.Lock()
_memo: dict[str, Any] = {"version": None, "subscribers": ()}


def subscribers(version: int | None = None) -> tuple[Subscriber, ...]:
    """The active endpoints, read again only when the programme version moved."""
    version = programme_cache.current_version() if version is None else version
    if _memo["version"] != version:
        rows = WebhookEndpoint.objects.filter(is_active=True, deleted_at__isnull=True).values_list(
            "id", "brand_id", "events"
        )
        found = tuple(Subscriber(pk, brand_id, frozenset(events or ())) for pk, brand_id, events in rows)
        with _lock:
            _memo.update(version=version, subscribers=found)
    return _memo["subscribers"]


def webhook_announce(name: str, *, brand_id: str | None, data: Data, version: int | None = None) -> list:
    """Write one delivery of `{"event": name, "data": ...}` for each active endpoint subscribed
    to `name` whose brand is `brand_id` (or that takes every brand), in the caller's transaction,
    and queue their sending after it commits. `version`: the programme version the caller read
    in this transaction, if it did (else it is read: one query). Returns the new deliveries."""
    return webhooks_announce([(name, brand_id, data)], version=version)


def webhooks_announce(announcements: list[tuple[str, str | None, Data]], *, version: int | None = None) -> list:
    """`webhook_announce` of many (name, brand id, data) at once: the same deliveries, written
    in one statement and queued in one task after commit. Returns the new deliveries."""
    targets = subscribers(version)
    now = timezone.now()
    rows = [row for name, brand_id, data in announcements for row in _deliveries(name, brand_id, data, targets, now)]
    if not rows:
        return []
    WebhookDelivery.objects.bulk_create(rows)
    ids = [str(row.pk) for row in rows]
    transaction.on_commit(lambda: dispatch(ids))
    return rows


def _deliveries(name: str, brand_id: str | None, data: Data, subscribed, now) -> list:
    """The unsaved deliveries of one announcement: one per endpoint subscribed to `name` whose
    brand is `brand_id` (or that takes every brand), each body built once per brand scope."""
    if name not in NAMES:
        raise ValueError(f"unknown webhook event {name!r}")
    targets = [
        s
        for s in subscribed
        if name in s.events and (not s.brand_id or (brand_id is not None and s.brand_id == brand_id))
    ]
    bodies: dict[str, str] = {}
    rows = []
    for target in targets:
        if target.brand_id not in bodies:
            value = data({target.brand_id} if target.brand_id else None) if callable(data) else data
            bodies[target.brand_id] = exact_dumps(
                {"event": name, "data": jsonable(value, exact=True)}, separators=(",", ":"), ensure_ascii=False
            )
        rows.append(
            WebhookDelivery(
                endpoint_id=target.id,
                event=name,
                brand_id=brand_id or "",
                body=bodies[target.brand_id],
                next_attempt_at=now,
            )
        )
    return rows


def dispatch(ids: list[str], due_by=None) -> None:
    """After commit: queue the task that sends these deliveries. Never raises (the caller's
    change is committed): whatever is not queued, the sweep sends. With CELERY_TASK_ALWAYS_EAGER
    (no worker) they are sent from a background thread, so the API answer never waits.

    The task claims them as due by `due_by`, this process's clock now (default): their
    `next_attempt_at` was written by this clock, so they are due whatever the database's clock
    says (a claim otherwise asks the database, which may be behind this host's clock, and
    SQLite's CURRENT_TIMESTAMP drops the fraction of a second: the task found them not yet due
    and left them to the sweep)."""
    from webhooks.tasks import deliver

    due_by = due_by or timezone.now()
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_send_in_thread, args=(ids, due_by), daemon=True, name="webhooks").start()
        return
    try:
        deliver.delay(ids, due_by.isoformat())
    except Exception:  # the broker is down: the periodic sweep sends them
        logger.warning("could not queue webhook deliveries %s; the sweep will send them", ids, exc_info=True)


def _send_in_thread(ids: list[str], due_by) -> None:
    from webhooks.delivery import deliveries_send

    try:
        deliveries_send(ids=ids, due_by=due_by)
    except Exception:
        logger.exception("sending webhook deliveries %s failed; the sweep will retry", ids)
    finally:
        connections.close_all()
