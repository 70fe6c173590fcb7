"""What each change of an event announces (events.announce): the names written, exactly once per
subscribed endpoint, in the transaction of the change, with the body each name documents."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services as programme
from core.exceptions import InsufficientBalance
from events.models import Event
from events.services import event_enqueue, event_expire_due, event_fulfill, event_process_queued, event_reverse
from tests.factories import CampaignFactory, CustomerFactory, RewardFactory, cond, fixed_rule
from tests.helpers import emit, fresh
from tests.webhooks.announced import body, data, deliveries, dispatches, hook, names, queued, totals_of  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

ACCUMULATED = ["BEHAVIOR_EVENT_FULFILLED", "CUSTOMER_ACCUMULATION"]
SPENT = ["BEHAVIOR_EVENT_FULFILLED", "CUSTOMER_ACCUMULATION", "CUSTOMER_REDEMPTION"]


@pytest.fixture
def member(brand, star_campaign, customer):
    """cust-1 with 12 stars (a purchase of 120), before any endpoint exists."""
    emit(customer, brand, value=120)
    return customer


def stars_of(wallet, stars) -> dict:
    [row] = [t for t in wallet["totals"] if t["reward_id"] == str(stars.pk)]
    return {k: row[k] for k in ("total", "reserved", "pending", "debt")}


# ---- RESOLVED --------------------------------------------------------------------------------------------


def test_a_sync_emit_that_credits_announces_fulfilled_and_accumulation(brand, stars, member):
    endpoint = hook()

    event = emit(member, brand, value=50)

    assert names(endpoint) == ACCUMULATED
    shown = data(endpoint, "BEHAVIOR_EVENT_FULFILLED")["event"]
    assert shown["id"] == str(event.pk) and shown["status"] == "RESOLVED" and shown["type"] == "PURCHASE"
    assert [line["amount"] for line in shown["result"]["accumulations"]] == [5]
    accumulation = data(endpoint, "CUSTOMER_ACCUMULATION")
    assert set(accumulation) == {"customer_id", "event_id", "brand_id", "lines", "wallet"}
    assert (accumulation["customer_id"], accumulation["event_id"], accumulation["brand_id"]) == (
        "cust-1",
        str(event.pk),
        brand.pk,
    )
    assert [(line["amount"], line["state"]) for line in accumulation["lines"]] == [(5, "AVAILABLE")]
    assert stars_of(accumulation["wallet"], stars) == {"total": 17, "reserved": 0, "pending": 0, "debt": 0}
    assert {d.brand_id for d in deliveries()} == {brand.pk}


def test_a_sync_emit_that_redeems_also_announces_the_redemption(brand, stars, member):
    endpoint = hook()

    event = emit(member, brand, value=50, redeem=[(stars, 4)])

    assert names(endpoint) == SPENT
    redemption = data(endpoint, "CUSTOMER_REDEMPTION")
    assert redemption["event_id"] == str(event.pk) and redemption["customer_id"] == "cust-1"
    [taken] = redemption["redemptions"]
    assert (taken["reward_id"], taken["amount"], taken["place"]) == (str(stars.pk), 4, "redeem[0]")
    assert stars_of(redemption["wallet"], stars)["total"] == 12 - 4 + 5


def test_an_event_that_credits_nothing_announces_only_fulfilled(brand, member):
    endpoint = hook()

    event = emit(member, brand, value=5)  # under the campaign's minimum of 10

    assert names(endpoint) == ["BEHAVIOR_EVENT_FULFILLED"]
    assert data(endpoint, "BEHAVIOR_EVENT_FULFILLED")["event"]["id"] == str(event.pk)


# ---- held events -------------------------------------------------------------------------------------------


def test_a_held_emit_announces_its_reservation_only_then_fulfil_announces_the_rest(brand, stars, member):
    endpoint = hook()

    held = emit(member, brand, value=50, redeem=[(stars, 4)], fulfilled=False, reserve=3)

    assert names(endpoint) == ["REWARD_RESERVATION"]
    reservation = data(endpoint, "REWARD_RESERVATION")
    assert set(reservation) == {"customer_id", "event_id", "brand_id", "reservations", "expires_at", "wallet"}
    assert reservation["event_id"] == str(held.pk)
    assert [(r["reward_id"], r["amount"]) for r in reservation["reservations"]] == [(str(stars.pk), 4)]
    assert reservation["expires_at"] == held.reservation_expires_at.isoformat().replace("+00:00", "Z")
    assert stars_of(reservation["wallet"], stars) == {"total": 8, "reserved": 4, "pending": 5, "debt": 0}

    event_fulfill(event_id=held.pk)

    assert names(endpoint) == sorted(["REWARD_RESERVATION", *SPENT])
    assert data(endpoint, "BEHAVIOR_EVENT_FULFILLED")["event"]["status"] == "RESOLVED"
    assert [line["amount"] for line in data(endpoint, "CUSTOMER_ACCUMULATION")["lines"]] == [5]
    assert [r["amount"] for r in data(endpoint, "CUSTOMER_REDEMPTION")["redemptions"]] == [4]
    assert stars_of(data(endpoint, "CUSTOMER_REDEMPTION")["wallet"], stars)["total"] == 13


def test_a_held_emit_that_redeems_nothing_announces_nothing(brand, member):
    endpoint = hook()

    emit(member, brand, value=50, fulfilled=False)  # pending lines only: nothing spendable, nothing reserved

    assert names(endpoint) == []


def test_reversing_a_held_event_announces_reversed_and_its_reservations_cancelled(brand, stars, member):
    held = emit(member, brand, value=50, redeem=[(stars, 4)], fulfilled=False)
    endpoint = hook()

    event_reverse(event_id=held.pk, reason="order cancelled")

    assert names(endpoint) == ["BEHAVIOR_EVENT_REVERSED", "REWARD_RESERVATION_CANCELLED"]
    shown = data(endpoint, "BEHAVIOR_EVENT_REVERSED")["event"]
    assert (shown["status"], shown["reason"]) == ("CANCELLED", "order cancelled")
    cancelled = data(endpoint, "REWARD_RESERVATION_CANCELLED")
    assert set(cancelled) == {"customer_id", "event_id", "brand_id", "status", "lines", "wallet"}
    assert cancelled["status"] == "CANCELLED" and cancelled["event_id"] == str(held.pk)
    assert [(r["reward_id"], r["amount"]) for r in cancelled["lines"]] == [(str(stars.pk), 4)]
    assert stars_of(cancelled["wallet"], stars) == {"total": 12, "reserved": 0, "pending": 0, "debt": 0}


def test_a_held_event_that_expires_announces_expired_and_its_reservations_cancelled(brand, stars, member):
    held = emit(member, brand, value=50, redeem=[(stars, 4)], fulfilled=False, reserve=1)
    endpoint = hook()

    assert event_expire_due(now=timezone.now() + timedelta(days=2)) == [held.pk]

    assert names(endpoint) == ["BEHAVIOR_EVENT_EXPIRED", "REWARD_RESERVATION_CANCELLED"]
    assert data(endpoint, "BEHAVIOR_EVENT_EXPIRED")["event"]["status"] == "EXPIRED"
    cancelled = data(endpoint, "REWARD_RESERVATION_CANCELLED")
    assert cancelled["status"] == "EXPIRED"
    assert [r["amount"] for r in cancelled["lines"]] == [4]
    assert stars_of(cancelled["wallet"], stars)["reserved"] == 0


def test_reversing_a_resolved_event_announces_reversed_only(brand, stars, member):
    event = emit(member, brand, value=50, redeem=[(stars, 4)])
    endpoint = hook()

    event_reverse(event_id=event.pk, reason="refund")

    assert names(endpoint) == ["BEHAVIOR_EVENT_REVERSED"]
    shown = data(endpoint, "BEHAVIOR_EVENT_REVERSED")["event"]
    assert (shown["id"], shown["status"], shown["reason"]) == (str(event.pk), "REVERSED", "refund")
    assert stars_of(shown["result"]["wallet"], stars)["total"] == 12


def test_a_refused_emit_announces_failed_only(brand, stars, member):
    endpoint = hook()

    with pytest.raises(InsufficientBalance):
        emit(member, brand, value=50, redeem=[(stars, 100)])

    assert names(endpoint) == ["BEHAVIOR_EVENT_FAILED"]
    shown = data(endpoint, "BEHAVIOR_EVENT_FAILED")["event"]
    assert (shown["status"], shown["error_code"]) == ("FAILED", "insufficient_balance")
    assert shown["id"] == str(Event.objects.get(status="FAILED").pk)


# ---- the worker --------------------------------------------------------------------------------------------


def queue(customer, brand, **payload):
    return event_enqueue(payload={"customer_id": customer.pk, "brand_id": brand.pk, "type": "PURCHASE", **payload})


def test_an_async_event_announces_when_the_worker_applies_it(brand, stars, member, django_capture_on_commit_callbacks):
    endpoint = hook()

    event = queue(member, brand, order={"value": 50})
    assert names(endpoint) == []  # queued: nothing happened yet

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event_process_queued(event_id=event.pk)

    assert names(endpoint) == ACCUMULATED
    assert data(endpoint, "BEHAVIOR_EVENT_FULFILLED")["event"]["processing_at"] is not None
    assert stars_of(data(endpoint, "CUSTOMER_ACCUMULATION")["wallet"], stars)["total"] == 17
    assert dispatches(callbacks) == 2  # one per name, queued once the worker's transaction commits


def test_an_async_held_event_announces_its_reservation_from_the_worker(brand, stars, member):
    endpoint = hook()
    event = queue(member, brand, order={"value": 50}, fulfilled=False, redeem=[{"id": stars.pk, "amount": 2}])

    event_process_queued(event_id=event.pk)

    assert fresh(event).status == "PENDING"
    assert names(endpoint) == ["REWARD_RESERVATION"]
    assert [r["amount"] for r in data(endpoint, "REWARD_RESERVATION")["reservations"]] == [2]


def test_a_queued_event_reversed_before_the_worker_announces_reversed(brand, member):
    endpoint = hook()
    event = queue(member, brand, order={"value": 50})

    event_reverse(event_id=event.pk, reason="never mind")

    assert names(endpoint) == ["BEHAVIOR_EVENT_REVERSED"]
    assert data(endpoint, "BEHAVIOR_EVENT_REVERSED")["event"]["status"] == "CANCELLED"
    assert event_process_queued(event_id=event.pk) is None
    assert names(endpoint) == ["BEHAVIOR_EVENT_REVERSED"]


# ---- tiers ----------------------------------------------------------------------------------------------


def test_tier_moves_announce_upgrade_then_downgrade(brand, star_campaign):
    silver = programme.tier_create(
        name="Silver", level=2, entry_conditions=[[cond("customer.metrics.lifetime.spend_total", "gte", 100)]]
    )
    member = CustomerFactory()
    endpoint = hook("TIER_UPGRADE", "TIER_DOWNGRADE")

    crossing = emit(member, brand, value=120)

    assert names(endpoint) == ["TIER_UPGRADE"]
    up = data(endpoint, "TIER_UPGRADE")
    assert set(up) == {"customer_id", "from_tier_id", "to_tier_id", "from_level", "to_level", "cause_event_id", "at"}
    assert (up["customer_id"], up["to_tier_id"], up["from_level"], up["to_level"]) == (member.pk, str(silver.pk), 1, 2)
    assert up["cause_event_id"] == str(crossing.pk)

    event_reverse(event_id=crossing.pk, reason="refund")

    assert names(endpoint) == ["TIER_DOWNGRADE", "TIER_UPGRADE"]
    down = data(endpoint, "TIER_DOWNGRADE")
    assert (down["from_tier_id"], down["from_level"], down["to_level"]) == (str(silver.pk), 2, 1)
    assert down["cause_event_id"] == str(crossing.pk)


def test_a_tier_move_announces_no_behaviour_event_of_its_own(brand, star_campaign):
    programme.tier_create(
        name="Silver", level=2, entry_conditions=[[cond("customer.metrics.lifetime.spend_total", "gte", 100)]]
    )
    member = CustomerFactory()
    endpoint = hook()

    emit(member, brand, value=120)

    assert names(endpoint) == sorted([*ACCUMULATED, "TIER_UPGRADE"])  # the TIER_ADJUSTMENT is no FULFILLED


# ---- over HTTP -----------------------------------------------------------------------------------------


def test_the_api_announces_as_the_services_do(api, brand, stars, member):
    endpoint = hook()

    response = api.post(
        "/behavior/events",
        {"customer_id": "cust-1", "brand_id": brand.pk, "type": "PURCHASE", "order": {"value": 50}, "fulfilled": False},
    )
    assert response.status_code == 201, response.content
    event_id = response.json()["data"]["id"]
    assert names(endpoint) == []

    assert api.patch(f"/behavior/events/{event_id}/fulfill").status_code == 200

    assert names(endpoint) == ACCUMULATED
    assert data(endpoint, "CUSTOMER_ACCUMULATION")["event_id"] == event_id

    assert api.post(f"/behavior/events/{event_id}/reverse", {"reason": "refund"}).status_code == 200

    assert names(endpoint) == sorted([*ACCUMULATED, "BEHAVIOR_EVENT_REVERSED"])


# ---- exact amounts -------------------------------------------------------------------------------------


def test_amounts_in_bodies_are_exact_decimals(brand, customer):
    cents = RewardFactory(brand=brand, decimals=2)
    CampaignFactory(brand=brand, rules=[fixed_rule(cents, amount="0.1"), fixed_rule(cents, amount="0.2")])
    endpoint = hook("CUSTOMER_ACCUMULATION")

    emit(customer, brand, type="PURCHASE", value=1)

    [delivery] = deliveries(endpoint)
    text = delivery.body
    assert "0.30000000000000004" not in text and "0.30000000000000002" not in text
    assert '"total":0.3,' in text  # the wallet's total: 0.1 + 0.2, summed exactly
    assert sorted(str(line["amount"]) for line in body(delivery)["data"]["lines"]) == ["0.1", "0.2"]
    assert str(totals_of(body(delivery)["data"]["wallet"])[str(cents.pk)]) == "0.3"
