"""One order of checks for an emit, synchronous or `?async=true` (issue 15, item 9):

1. the input and where each redemption is asked: 400 `validation_error`, 422
   `reward_not_redeemable_here` (the event stored FAILED, its id in `event_id`);
2. a live event with the same brand, type and `order.purchase_id`: 409 `duplicate_purchase`
   (nothing stored);
3. the balance: 422 `insufficient_balance` (synchronously; a queued event is judged by the
   worker, so it is accepted, 202, and stored FAILED then).

An event that fails two of them gets the first one's answer, whichever mode it was sent in."""

import pytest

from events.models import Event
from events.tasks import process_event
from tests.factories import RewardFactory

pytestmark = pytest.mark.django_db

MODES = {"sync": "", "async": "?async=true"}


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    """Queued events stay queued: only the answer to the emit is under test."""
    monkeypatch.setattr(process_event, "apply_async", lambda args, task_id: None)


@pytest.fixture
def gift_card(brand):
    """A GIFT_CARD reward: never redeemable inside an event (a placement refusal)."""
    return RewardFactory(brand=brand, name="Gift card", type="GIFT_CARD", decimals=2, attributes={})


def body(purchase_id="D-1", redeem=None) -> dict:
    out = {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "order": {"purchase_id": purchase_id, "value": 20},
    }
    if redeem:
        out["order"]["redeem"] = redeem
    return out


@pytest.fixture
def live_purchase(api, customer, brand):
    """A RESOLVED purchase D-1: every emit below repeats its purchase id."""
    response = api.post("/behavior/events", body())
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def live_events() -> list[str]:
    return [
        str(pk) for pk in Event.objects.filter(purchase_id="D-1", status__in=Event.LIVE).values_list("pk", flat=True)
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_duplicate_with_a_redemption_not_redeemable_there_is_422_in_both_modes(api, live_purchase, gift_card, mode):
    response = api.post(f"/behavior/events{MODES[mode]}", body(redeem=[{"id": str(gift_card.pk), "amount": 5}]))

    assert response.status_code == 422, response.content
    refusal = response.json()
    assert (refusal["error"], refusal["reward_id"], refusal["place"]) == (
        "reward_not_redeemable_here",
        str(gift_card.pk),
        "order.redeem[0]",
    )
    failed = Event.objects.get(pk=refusal["event_id"])  # stored FAILED, as a synchronous refusal is
    assert (failed.status, failed.error_code, failed.queued) == ("FAILED", "reward_not_redeemable_here", False)
    assert live_events() == [live_purchase]


@pytest.mark.parametrize("mode", MODES)
def test_a_duplicate_beyond_the_balance_is_409_duplicate_purchase_in_both_modes(api, live_purchase, stars, mode):
    before = Event.objects.count()

    response = api.post(f"/behavior/events{MODES[mode]}", body(redeem=[{"id": str(stars.pk), "amount": 1000}]))

    assert response.status_code == 409, response.content
    refusal = response.json()
    assert (refusal["error"], refusal["event_id"]) == ("duplicate_purchase", live_purchase)
    assert Event.objects.count() == before  # nothing stored: no FAILED event either
    assert live_events() == [live_purchase]


@pytest.mark.parametrize("mode", MODES)
def test_a_duplicate_with_invalid_input_is_400_in_both_modes(api, live_purchase, mode):
    response = api.post(f"/behavior/events{MODES[mode]}", body(redeem=[{"id": "no-such-reward", "amount": 1}]))

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error"
    assert live_events() == [live_purchase]


def test_beyond_the_balance_without_a_duplicate_is_422_synchronously(api, customer, brand, stars):
    response = api.post("/behavior/events", body(purchase_id="D-2", redeem=[{"id": str(stars.pk), "amount": 1000}]))

    assert response.status_code == 422, response.content
    refusal = response.json()
    assert refusal["error"] == "insufficient_balance"
    assert Event.objects.get(pk=refusal["event_id"]).status == "FAILED"


def test_a_failed_duplicate_leaves_the_purchase_id_free_for_a_good_event(api, live_purchase, gift_card, stars):
    """A refused event is not live: the purchase id stays the first event's, and once that one is
    reversed, a new event with the id is applied."""
    assert api.post("/behavior/events", body(redeem=[{"id": str(gift_card.pk), "amount": 5}])).status_code == 422
    assert api.post(f"/behavior/events/{live_purchase}/reverse", {"reason": "refund"}).status_code == 200

    response = api.post("/behavior/events", body())

    assert response.status_code == 201, response.content
    assert live_events() == [response.json()["data"]["id"]]
