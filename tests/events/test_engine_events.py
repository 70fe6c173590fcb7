"""The engine's own TIER_ADJUSTMENT events (issue 15, item 8): they record a tier move and are no
customer event. They never count as a visit or in any metric, nobody emits one (400), and nobody
reverses one, through the API, the admin or the command (409 `not_reversible`): reversing the
customer's event that caused the move recomputes the tier, which is the way to undo it. A reversal
leaves `last_visit` at the latest remaining customer event, never at the moment of the reversal
(the time of the engine's adjustment)."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError
from django.urls import reverse
from django.utils import timezone

from campaigns import services as programme
from campaigns.models import Tier
from core.exceptions import Conflict
from events.models import Event
from events.services import event_reverse
from events.status import Source
from tests.factories import cond
from tests.helpers import emit, run_command
from wallets.models import Customer, MetricBucket
from wallets.selectors import customer_metrics
from wallets.services import customer_register

pytestmark = pytest.mark.django_db

SPEND = "customer.metrics.lifetime.spend_total"


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def silver(db):
    return programme.tier_create(name="Silver", level=2, entry_conditions=[[cond(SPEND, "gte", 100)]])


@pytest.fixture
def member(brand, silver):
    """Registered two days ago (its REGISTRATION event then), so that the purchases below are
    its latest events."""
    return customer_register(id="member-1", name="Member", registration_date=timezone.now() - timedelta(days=2))


def tier_level(customer) -> int:
    return Tier.objects.get(pk=Customer.objects.values_list("tier_id", flat=True).get(pk=customer.pk)).level


def adjustments(customer) -> list[Event]:
    return list(Event.objects.filter(customer_id=customer.pk, type_id="TIER_ADJUSTMENT").order_by("created_at"))


def lifetime(customer) -> dict:
    return customer_metrics(customer_id=customer.pk, now=timezone.now())["lifetime"]


@pytest.fixture
def moved_up(member, brand):
    """Two back-dated purchases (5 and 4 hours ago); the second crosses 100 and moves the member
    up to Silver, recorded by the engine as a TIER_ADJUSTMENT issued now."""
    first = emit(member, brand, value=60, purchase_id="P-1", issued_at=timezone.now() - timedelta(hours=5))
    crossing = emit(member, brand, value=50, purchase_id="P-2", issued_at=timezone.now() - timedelta(hours=4))
    assert tier_level(member) == 2
    [adjustment] = adjustments(member)
    return first, crossing, adjustment


# ---- last_visit ----------------------------------------------------------------------------------------


def test_last_visit_after_a_reversal_is_the_latest_remaining_customer_event(member, brand, moved_up):
    first, crossing, _up = moved_up
    assert lifetime(member)["last_visit"] == iso(crossing.issued_at)

    event_reverse(event_id=crossing.pk, reason="refund")  # back to the base tier: a second TIER_ADJUSTMENT, now

    assert tier_level(member) == 1 and len(adjustments(member)) == 2
    metrics = lifetime(member)
    assert metrics["last_visit"] == iso(first.issued_at)  # not the reversal's time, nor the adjustments'
    assert metrics["events"] == {"REGISTRATION": 1, "PURCHASE": 1}
    assert metrics["spend_total"] == 60 and metrics["number_of_purchases"] == 1
    stored = Event.objects.get(pk=crossing.pk).result["customer"]["metrics"]["lifetime"]
    assert stored["last_visit"] == iso(first.issued_at)  # the reversed event's result says the same


def test_a_tier_adjustment_never_counts_as_a_visit_or_an_event_in_any_bucket(member, brand, moved_up):
    _first, crossing, _up = moved_up
    event_reverse(event_id=crossing.pk, reason="refund")
    adjustment_times = {e.issued_at for e in adjustments(member)}

    for bucket in MetricBucket.objects.filter(customer_id=member.pk):
        assert "TIER_ADJUSTMENT" not in bucket.events
        assert bucket.last_visit not in adjustment_times
    for period in customer_metrics(customer_id=member.pk, now=timezone.now()).values():
        assert "TIER_ADJUSTMENT" not in period["events"]


# ---- nobody reverses an engine-made event ---------------------------------------------------------------


def test_reversing_a_tier_adjustment_through_the_api_is_409_not_reversible_and_changes_nothing(
    api, member, brand, moved_up
):
    _first, _crossing, adjustment = moved_up
    transitions = list(adjustment.transitions.values_list("to_status", flat=True))

    response = api.post(f"/behavior/events/{adjustment.pk}/reverse", {"reason": "undo the upgrade"})

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"] == "not_reversible"
    assert "TIER_ADJUSTMENT" in body["details"] and str(_crossing.pk) in body["details"]
    stored = Event.objects.get(pk=adjustment.pk)
    assert (stored.status, stored.reversed_at, stored.reason) == (Event.Status.RESOLVED, None, "")
    assert list(stored.transitions.values_list("to_status", flat=True)) == transitions
    assert tier_level(member) == 2


@pytest.mark.parametrize("source", [Source.API, Source.ADMIN, Source.COMMAND, Source.TASK])
def test_the_service_refuses_to_reverse_a_tier_adjustment_whoever_asks(member, brand, moved_up, source):
    _first, _crossing, adjustment = moved_up

    with pytest.raises(Conflict) as refused:
        event_reverse(event_id=adjustment.pk, reason="undo", source=source)

    assert refused.value.code == "not_reversible"
    assert Event.objects.get(pk=adjustment.pk).status == Event.Status.RESOLVED


def test_the_reverse_event_command_refuses_a_tier_adjustment(member, brand, moved_up):
    _first, _crossing, adjustment = moved_up

    with pytest.raises(CommandError, match="not_reversible"):
        run_command("reverse_event", str(adjustment.pk), reason="undo")

    assert Event.objects.get(pk=adjustment.pk).status == Event.Status.RESOLVED


def test_the_admin_reverse_action_refuses_a_tier_adjustment_and_says_why(admin_client, member, brand, moved_up):
    first, _crossing, adjustment = moved_up
    changelist = reverse("admin:events_event_changelist")

    response = admin_client.post(
        changelist,
        {
            "action": "reverse_events",
            "_selected_action": [str(adjustment.pk), str(first.pk)],
            "apply": "1",
            "reason": "undo",
        },
        follow=True,
    )

    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(str(adjustment.pk) in note and "TIER_ADJUSTMENT" in note for note in notes), notes
    assert Event.objects.get(pk=adjustment.pk).status == Event.Status.RESOLVED
    assert Event.objects.get(pk=first.pk).status == Event.Status.REVERSED  # the customer's own event is


def test_reversing_the_customers_event_is_how_a_tier_move_is_undone(api, member, brand, moved_up):
    _first, crossing, _up = moved_up

    response = api.post(f"/behavior/events/{crossing.pk}/reverse", {"reason": "refund"})

    assert response.status_code == 200 and response.json()["data"]["status"] == "REVERSED"
    assert tier_level(member) == 1
    down = adjustments(member)[-1]
    assert (down.data["cause"], down.data["cause_event_id"], down.data["to_level"]) == ("reversal", str(crossing.pk), 1)


# ---- nobody emits one ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?async=true"])
def test_a_client_cannot_emit_a_tier_adjustment(api, customer, brand, query):
    before = Event.objects.count()

    response = api.post(
        f"/behavior/events{query}", {"customer_id": customer.pk, "brand_id": brand.pk, "type": "TIER_ADJUSTMENT"}
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert "type" in body["details"] and "engine" in str(body["details"]["type"])
    assert Event.objects.count() == before
