"""One writer of event status (events.status.event_transition): every path goes through the
transition table, and the recorded history is a walk along it."""

import pytest

from core.exceptions import InvalidTransition
from events.models import Event, EventTransition
from events.services import event_enqueue, event_fulfill, event_process_queued, event_reverse
from events.status import Source, event_transition
from tests.helpers import emit

pytestmark = pytest.mark.django_db
S = Event.Status


def _history(event) -> list[tuple[str, str]]:
    return list(EventTransition.objects.filter(event_id=event.pk).values_list("from_status", "to_status"))


def _queued(customer, brand, **extra):
    """A queued event; its task, sent on commit, is never sent inside the test's transaction."""
    return event_enqueue(
        payload={"customer_id": customer.pk, "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": 40}, **extra}
    )


def test_an_async_held_event_records_pending_processing_pending(customer, brand, star_campaign):
    queued = _queued(customer, brand, fulfilled=False)
    event = event_process_queued(event_id=queued.pk)
    assert event.status == S.PENDING and not event.queued and event.reservation_expires_at
    assert _history(event) == [("", S.PENDING), (S.PENDING, S.PROCESSING), (S.PROCESSING, S.PENDING)]
    event_fulfill(event_id=event.pk)
    assert _history(event)[-1] == (S.PENDING, S.RESOLVED)


def test_fulfilling_a_still_queued_event_is_an_invalid_transition(customer, brand, star_campaign):
    queued = _queued(customer, brand)
    with pytest.raises(InvalidTransition) as refused:
        event_fulfill(event_id=queued.pk)
    assert refused.value.status == S.PENDING and "queued" in str(refused.value.details)


@pytest.mark.parametrize("status", [S.FAILED, S.REVERSED])
def test_reversing_an_event_the_table_does_not_allow_is_refused(customer, brand, stars, status):
    if status == S.FAILED:
        with pytest.raises(Exception):  # noqa: B017 - InsufficientBalance, stored FAILED
            emit(customer, brand, value=10, redeem=[(stars, 5)])
        event = Event.objects.get(status=S.FAILED)
    else:
        event = emit(customer, brand, value=10)
        event_reverse(event_id=event.pk, reason="first")
    with pytest.raises(InvalidTransition) as refused:
        event_reverse(event_id=event.pk, reason="again")
    assert refused.value.status == status
    assert Event.objects.get(pk=event.pk).status == status


def test_the_writer_refuses_a_transition_the_table_does_not_hold(customer, brand):
    event = emit(customer, brand, value=10)
    with pytest.raises(InvalidTransition):
        event_transition(event, S.EXPIRED, at=event.resolved_at, source=Source.API)
    assert Event.objects.get(pk=event.pk).status == S.RESOLVED and len(_history(event)) == 1


def test_every_recorded_transition_is_in_the_table(customer, brand, stars, star_campaign):
    kept = emit(customer, brand, value=200)
    held = emit(customer, brand, value=30, fulfilled=False, redeem=[(stars, 5)])
    event_reverse(event_id=held.pk, reason="cancelled")
    event_reverse(event_id=kept.pk, reason="refund")
    pairs = set(EventTransition.objects.values_list("from_status", "to_status"))
    assert pairs and all(to in Event.TRANSITIONS[src] for src, to in pairs), pairs
