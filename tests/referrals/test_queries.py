"""Referrals add no query to the events that do not concern them: the hooks decide from the
compiled programme and the event itself (tests/events/test_query_count.py pins the totals)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.services import event_fulfill, event_reverse
from tests.factories import CustomerFactory
from tests.helpers import emit
from tests.referrals.helpers import referral_campaign

pytestmark = pytest.mark.django_db


def counted(call, *args, **kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call(*args, **kwargs)
    return len(ctx.captured_queries)


def costs(brand) -> tuple[int, int, int]:
    """(emit, fulfil, reverse) of a purchase of a customer with no referral, programme warm."""
    customer = CustomerFactory()
    emit(customer, brand, value=10)  # the compiled programme is warm
    emitted = counted(emit, customer, brand, value=10)
    held = emit(customer, brand, value=10, fulfilled=False)
    fulfilled = counted(event_fulfill, event_id=held.pk)
    reversed_ = counted(event_reverse, event_id=held.pk, reason="test")
    return emitted, fulfilled, reversed_


def test_a_referrals_campaign_of_another_trigger_adds_no_query(brand, stars):
    before = costs(brand)
    referral_campaign(brand, stars, trigger="REGISTRATION")
    assert costs(brand) == before


def test_a_running_referrals_campaign_adds_no_query_for_a_customer_never_referred_but_one(brand, stars):
    """The one query: looking for the customer's referrals when a REFERRALS campaign runs for
    the event's trigger (fulfil and reverse read the event's own result: none)."""
    emitted, fulfilled, reversed_ = costs(brand)
    referral_campaign(brand, stars)
    assert costs(brand) == (emitted + 1, fulfilled, reversed_)
