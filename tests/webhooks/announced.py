"""Reading what the outbox wrote: the deliveries of each endpoint and their bodies, as sent."""

import json

import pytest

from core.json import DecimalJSONDecoder
from webhooks import outbox
from webhooks.models import WebhookDelivery
from webhooks.names import NAMES
from webhooks.services import endpoint_create

URL = "https://hooks.example.com/loyalty"
ALL = list(NAMES)


@pytest.fixture
def queued(django_capture_on_commit_callbacks):
    """The test's on-commit callbacks captured and never run (nothing is queued or sent), and a
    fresh endpoint memo (a rolled-back test leaves the programme version where an earlier test's
    memo may have been)."""
    outbox._memo.update(version=None, subscribers=())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        yield callbacks


def dispatches(callbacks) -> int:
    """How many of the captured callbacks queue webhook deliveries (webhooks.outbox.dispatch):
    one per announcing webhook_announce or webhooks_announce call (the first is the second for
    one announcement). The list is filled when its capture block ends."""
    return sum(1 for cb in callbacks if cb.__qualname__.startswith("webhooks_announce."))


def hook(*names, brand=None, **fields):
    """An endpoint subscribed to `names` (every name when none is given), of `brand` or every brand."""
    return endpoint_create(url=URL, events=list(names or ALL), brand_id=brand.pk if brand else None, **fields)


def deliveries(endpoint=None, name=None) -> list[WebhookDelivery]:
    rows = WebhookDelivery.objects.order_by("created_at", "id")
    if endpoint is not None:
        rows = rows.filter(endpoint=endpoint)
    if name is not None:
        rows = rows.filter(event=name)
    return list(rows)


def names(endpoint=None) -> list[str]:
    """The event names delivered (to `endpoint`), sorted."""
    return sorted(d.event for d in deliveries(endpoint))


def body(delivery: WebhookDelivery) -> dict:
    """A delivery's body as its receiver reads it, fractions as Decimals; checks its envelope."""
    parsed = json.loads(delivery.body, cls=DecimalJSONDecoder)
    assert set(parsed) == {"event", "data"}, parsed
    assert parsed["event"] == delivery.event
    return parsed


def data(endpoint, name) -> dict:
    """The data of the one delivery of `name` to `endpoint`."""
    [delivery] = deliveries(endpoint, name)
    return body(delivery)["data"]


def totals_of(wallet: dict) -> dict:
    """{reward id: total} of a body's wallet."""
    return {t["reward_id"]: t["total"] for t in wallet["totals"]}
