"""Every write of the event lifecycle (SPEC section 2), one job per module:

- `emit`: emit (sync), enqueue and the worker (`?async=true`), late fulfilment of expired events;
- `transitions`: fulfil, reverse, cancel;
- `housekeeping`: the periodic task (`housekeeping_run`): expiry of held events and of lines,
  re-sending lost tasks, purging idempotency records;
- `outcome`: what an event leaves behind besides ledger rows (its result, its metrics);
- `adjust`: an operator's manual credit or debit of a reward (an ADJUSTMENT event, audited).

Every status change goes through `events.status.event_transition`. Reads are in
events.selectors; budgets, limits and tier moves in events.rewarding. The names below are the
services' public entry points.
"""

from events.services.adjust import event_adjust
from events.services.emit import event_emit, event_enqueue, event_fulfill_expired, event_process_queued
from events.services.housekeeping import (
    event_expire_due,
    event_requeue_stale,
    events_fulfill_expired_queue,
    housekeeping_run,
)
from events.services.transitions import event_fulfill, event_reverse

__all__ = [
    "event_adjust",
    "event_emit",
    "event_enqueue",
    "event_expire_due",
    "event_fulfill",
    "event_fulfill_expired",
    "event_process_queued",
    "event_requeue_stale",
    "event_reverse",
    "housekeeping_run",
    "events_fulfill_expired_queue",
]
