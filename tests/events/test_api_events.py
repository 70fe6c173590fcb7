"""The event lifecycle over HTTP (SPEC sections 2, 3 and 7): emit, read, list, fulfill, reverse,
the 422 of an event that cannot be honoured, the 409s, and the 404s."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from tests.factories import BrandFactory, CustomerFactory, RewardFactory
from tests.helpers import emit
from wallets.models import Transaction, WalletLine

pytestmark = pytest.mark.django_db

EVENT_KEYS = {
    "id",
    "customer_id",
    "brand_id",
    "type",
    "data",
    "fulfilled",
    "reserve",
    "status",
    "rewarding_campaigns",
    "result",
    "issued_at",
    "created_at",
    "processing_at",
    "resolved_at",
    "failed_at",
    "cancelled_at",
    "expired_at",
    "reversed_at",
    "reservation_expires_at",
}


def purchase(purchase_id="A-1001", value=120, **extra) -> dict:
    return {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "order": {
            "purchase_id": purchase_id,
            "value": value,
            "payment_method": "CREDIT",
            "products": [{"sku": "LATTE", "amount": 2, "value": 60}],
        },
        **extra,
    }


def stars_total(api, reward) -> dict:
    """The reward's wallet total as GET /customers/cust-1 reports it."""
    response = api.get("/customers/cust-1")
    assert response.status_code == 200
    for total in response.json()["data"]["wallet"]["totals"]:
        if total["reward_id"] == str(reward.pk):
            return {k: total[k] for k in ("total", "reserved", "pending")}
    return {"total": 0, "reserved": 0, "pending": 0}


def ledger_size() -> tuple[int, int]:
    return Transaction.objects.count(), WalletLine.objects.count()


@pytest.fixture
def programme(brand, stars, star_campaign, customer):
    return stars


def assert_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error, body
    assert "details" in body and body["details"], body
    return body


# ---- emit -----------------------------------------------------------------------------------------------


def test_emit_answers_201_with_the_event_and_its_result(api, programme, star_campaign):
    response = api.post("/behavior/events", purchase())
    assert response.status_code == 201, response.json()
    event = response.json()["data"]
    assert set(event) >= EVENT_KEYS
    assert uuid.UUID(event["id"])
    assert (event["customer_id"], event["brand_id"], event["type"]) == ("cust-1", "0001", "PURCHASE")
    assert (event["status"], event["fulfilled"], event["reserve"]) == ("RESOLVED", True, 1)
    assert event["data"] == purchase()
    assert event["rewarding_campaigns"] == [{"campaign_id": str(star_campaign.pk), "rule_id": "rule-1"}]
    assert event["issued_at"] and event["created_at"] and event["resolved_at"]
    for name in ("processing_at", "failed_at", "cancelled_at", "expired_at", "reversed_at", "reservation_expires_at"):
        assert event[name] is None, name

    result = event["result"]
    [line] = result["accumulations"]
    assert line["reward_id"] == str(programme.pk) and line["campaign_id"] == str(star_campaign.pk)
    assert (line["amount"], line["remaining"], line["reserved"], line["state"]) == (12, 12, 0, "AVAILABLE")
    assert line["event_id"] == event["id"]
    assert result["redemptions"] == []
    [total] = result["wallet"]["totals"]
    assert total["reward_id"] == str(programme.pk)
    assert (total["total"], total["reserved"], total["pending"]) == (12, 0, 0)
    assert result["customer"]["id"] == "cust-1"
    lifetime = result["customer"]["metrics"]["lifetime"]
    assert (lifetime["number_of_purchases"], lifetime["spend_total"]) == (1, 120)


def test_emit_with_redemption_reports_the_lines_it_consumed(api, programme):
    first = api.post("/behavior/events", purchase("A-1")).json()["data"]
    response = api.post("/behavior/events", purchase("A-2", value=5, redeem=[{"id": str(programme.pk), "amount": 5}]))
    assert response.status_code == 201, response.json()
    result = response.json()["data"]["result"]
    [taken] = result["redemptions"]
    assert taken["amount"] == 5 and taken["reward_id"] == str(programme.pk) and taken["place"] == "redeem[0]"
    assert taken["line_id"] == first["result"]["accumulations"][0]["id"]
    assert result["accumulations"] == []
    assert result["wallet"]["totals"][0]["total"] == 7
    assert stars_total(api, programme) == {"total": 7, "reserved": 0, "pending": 0}


def test_held_emit_is_pending_with_reservation_deadline(api, programme):
    api.post("/behavior/events", purchase("A-1"))
    response = api.post(
        "/behavior/events",
        purchase("A-2", value=30, fulfilled=False, reserve=2, redeem=[{"id": str(programme.pk), "amount": 5}]),
    )
    assert response.status_code == 201, response.json()
    event = response.json()["data"]
    assert (event["status"], event["fulfilled"], event["reserve"]) == ("PENDING", False, 2)
    assert event["resolved_at"] is None
    stored = Event.objects.get(pk=event["id"])
    assert stored.reservation_expires_at == stored.issued_at + timedelta(days=2)
    [line] = event["result"]["accumulations"]
    assert (line["amount"], line["state"]) == (3, "PENDING")
    assert stars_total(api, programme) == {"total": 7, "reserved": 5, "pending": 3}


def test_get_event_answers_what_emit_answered(api, programme):
    created = api.post("/behavior/events", purchase()).json()["data"]
    response = api.get(f"/behavior/events/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {"data": created}


# ---- list, filters, paging --------------------------------------------------------------------------------


@pytest.fixture
def history(brand, stars, star_campaign):
    """Five events of two customers and two brands, issued an hour apart (newest first: e5..e1).
    The customers are registered as imported ones are, without their own REGISTRATION events, so
    that the history is exactly these five."""
    other_brand = BrandFactory(id="0002", name="Bakery")
    customer = CustomerFactory(id="cust-1", record_event=False)
    other = CustomerFactory(id="cust-2", record_event=False)
    now = timezone.now().replace(microsecond=0)
    at = [now - timedelta(hours=h) for h in (50, 40, 30, 20, 10)]
    e1 = emit(customer, brand, value=120, purchase_id="A-1", issued_at=at[0])
    e2 = emit(other, brand, value=50, purchase_id="A-2", issued_at=at[1])
    e3 = emit(customer, other_brand, value=20, purchase_id="A-1", issued_at=at[2])
    e4 = emit(customer, brand, type="REGISTRATION", issued_at=at[3])
    e5 = emit(customer, brand, value=30, purchase_id="A-5", fulfilled=False, issued_at=at[4])
    return {"events": [e1, e2, e3, e4, e5], "at": at}


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [e["id"] for e in response.json()["data"]]


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_list_answers_every_event_newest_first_with_range(api, history):
    e1, e2, e3, e4, e5 = history["events"]
    response = api.get("/behavior/events")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "from", "to", "count"}
    assert [e["id"] for e in body["data"]] == [str(e.pk) for e in (e5, e4, e3, e2, e1)]
    assert (body["from"], body["to"], body["count"]) == (0, 4, 5)
    assert set(body["data"][0]) >= EVENT_KEYS


@pytest.mark.parametrize(
    "query, expected",
    [
        ("customer_id=cust-2", [2]),
        ("customer_id=cust-1", [5, 4, 3, 1]),
        ("brand_id=0002", [3]),
        ("type=REGISTRATION", [4]),
        ("status=PENDING", [5]),
        ("status=RESOLVED", [4, 3, 2, 1]),
        ("purchase_id=A-1", [3, 1]),
        ("purchase_id=A-1&brand_id=0001", [1]),
        ("customer_id=cust-1&type=PURCHASE&status=RESOLVED", [3, 1]),
        ("customer_id=nobody", []),
    ],
)
def test_list_filters(api, history, query, expected):
    events = history["events"]
    assert _ids(api.get(f"/behavior/events?{query}")) == [str(events[n - 1].pk) for n in expected]


def test_list_filters_by_issued_after_and_before(api, history):
    events, at = history["events"], history["at"]
    assert _ids(api.get(f"/behavior/events?issued_after={_iso(at[2])}")) == [str(e.pk) for e in events[4:1:-1]]
    assert _ids(api.get(f"/behavior/events?issued_before={_iso(at[2])}")) == [str(e.pk) for e in events[1::-1]]
    window = api.get(f"/behavior/events?issued_after={_iso(at[1])}&issued_before={_iso(at[3])}")
    assert _ids(window) == [str(events[2].pk), str(events[1].pk)]


@pytest.mark.parametrize(
    "query, named",
    [
        ("status=DONE", "status"),
        ("issued_after=yesterday", "issued_after"),
        ("from=-1", "from"),
        ("from=a", "from"),
        ("from=3&to=1", "to"),
    ],
)
def test_list_refuses_bad_filters_and_ranges(api, history, query, named):
    body = assert_error(api.get(f"/behavior/events?{query}"), 400, "validation_error")
    assert named in body["details"]


@pytest.mark.parametrize("query", ["customer_id=cust%00-1", "purchase_id=A%001", "brand_id=%00", "type=%00"])
def test_list_filters_with_a_nul_are_400_not_a_server_error(api, history, query):
    body = assert_error(api.get(f"/behavior/events?{query}"), 400, "validation_error")
    assert query.split("=")[0] in body["details"]


def test_list_pages_with_from_and_to(api, history):
    e1, e2, e3, e4, e5 = history["events"]
    page = api.get("/behavior/events?from=1&to=2").json()
    assert [e["id"] for e in page["data"]] == [str(e4.pk), str(e3.pk)]
    assert (page["from"], page["to"], page["count"]) == (1, 2, 5)
    tail = api.get("/behavior/events?from=3&to=49").json()
    assert [e["id"] for e in tail["data"]] == [str(e2.pk), str(e1.pk)]
    assert (tail["from"], tail["to"], tail["count"]) == (3, 4, 5)
    past = api.get("/behavior/events?from=10").json()
    assert past["data"] == [] and past["count"] == 5
    filtered = api.get("/behavior/events?customer_id=cust-1&from=0&to=0").json()
    assert [e["id"] for e in filtered["data"]] == [str(e5.pk)]
    assert (filtered["from"], filtered["to"], filtered["count"]) == (0, 0, 4)


# ---- fulfill -----------------------------------------------------------------------------------------------


def test_fulfill_resolves_a_held_event_and_a_second_fulfill_is_409(api, programme):
    held = api.post("/behavior/events", purchase(fulfilled=False)).json()["data"]
    assert stars_total(api, programme) == {"total": 0, "reserved": 0, "pending": 12}

    response = api.patch(f"/behavior/events/{held['id']}/fulfill")
    assert response.status_code == 200, response.json()
    event = response.json()["data"]
    assert (event["status"], event["fulfilled"]) == ("RESOLVED", True)
    assert event["resolved_at"]
    assert event["result"]["accumulations"][0]["state"] == "AVAILABLE"
    assert stars_total(api, programme) == {"total": 12, "reserved": 0, "pending": 0}

    before = ledger_size()
    again = assert_error(api.patch(f"/behavior/events/{held['id']}/fulfill"), 409, "invalid_transition")
    assert "RESOLVED" in again["details"]
    assert ledger_size() == before
    assert stars_total(api, programme) == {"total": 12, "reserved": 0, "pending": 0}


def test_fulfill_of_an_event_that_was_never_held_is_409(api, programme):
    event = api.post("/behavior/events", purchase()).json()["data"]
    body = assert_error(api.patch(f"/behavior/events/{event['id']}/fulfill"), 409, "invalid_transition")
    assert "RESOLVED" in body["details"]


# ---- reverse -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["", {}, {"reason": ""}, {"reason": "   "}, {"reason": None}],
    ids=["no_body", "no_reason", "empty", "blank", "null"],
)
def test_reverse_without_a_reason_is_400_and_changes_nothing(api, programme, body):
    event = api.post("/behavior/events", purchase()).json()["data"]
    before = ledger_size()
    error = assert_error(api.post(f"/behavior/events/{event['id']}/reverse", body), 400, "validation_error")
    assert "reason" in error["details"]
    assert ledger_size() == before
    assert api.get(f"/behavior/events/{event['id']}").json()["data"]["status"] == "RESOLVED"
    assert stars_total(api, programme)["total"] == 12


def test_reversing_an_unknown_event_is_404_whatever_the_body(api, programme):
    for body in ({"reason": "refund"}, {}):
        assert_error(api.post(f"/behavior/events/{uuid.uuid4()}/reverse", body), 404, "event_not_found")


def test_reverse_with_a_reason_reverses_and_a_second_reverse_is_409(api, programme):
    event = api.post("/behavior/events", purchase()).json()["data"]
    response = api.post(f"/behavior/events/{event['id']}/reverse", {"reason": "order refunded"})
    assert response.status_code == 200, response.json()
    reversed_ = response.json()["data"]
    assert reversed_["status"] == "REVERSED" and reversed_["reason"] == "order refunded"
    assert reversed_["reversed_at"]
    assert reversed_["result"]["wallet"]["totals"][0]["total"] == 0
    assert stars_total(api, programme) == {"total": 0, "reserved": 0, "pending": 0}
    lifetime = api.get("/customers/cust-1").json()["data"]["customer"]["metrics"]["lifetime"]
    assert (lifetime["number_of_purchases"], lifetime["spend_total"]) == (0, 0)

    before = ledger_size()
    again = assert_error(
        api.post(f"/behavior/events/{event['id']}/reverse", {"reason": "twice"}), 409, "invalid_transition"
    )
    assert "REVERSED" in again["details"]
    assert ledger_size() == before
    assert api.get(f"/behavior/events/{event['id']}").json()["data"]["reason"] == "order refunded"
    fulfil = assert_error(api.patch(f"/behavior/events/{event['id']}/fulfill"), 409, "invalid_transition")
    assert "REVERSED" in fulfil["details"]


def test_reverse_of_a_held_event_cancels_it_and_releases_the_reservation(api, programme):
    api.post("/behavior/events", purchase("A-1"))
    held = api.post(
        "/behavior/events", purchase("A-2", value=30, fulfilled=False, redeem=[{"id": str(programme.pk), "amount": 5}])
    ).json()["data"]
    assert stars_total(api, programme) == {"total": 7, "reserved": 5, "pending": 3}

    response = api.post(f"/behavior/events/{held['id']}/reverse", {"reason": "customer left"})
    assert response.status_code == 200, response.json()
    event = response.json()["data"]
    assert event["status"] == "CANCELLED" and event["cancelled_at"] and event["reason"] == "customer left"
    assert event["reversed_at"] is None
    assert stars_total(api, programme) == {"total": 12, "reserved": 0, "pending": 0}
    body = assert_error(api.patch(f"/behavior/events/{held['id']}/fulfill"), 409, "invalid_transition")
    assert "CANCELLED" in body["details"]
    body = assert_error(
        api.post(f"/behavior/events/{held['id']}/reverse", {"reason": "again"}), 409, "invalid_transition"
    )
    assert "CANCELLED" in body["details"]


# ---- 422: the event is stored FAILED and nothing moves ------------------------------------------------------------


def test_insufficient_balance_is_422_stored_failed_and_moves_nothing(api, programme):
    api.post("/behavior/events", purchase("A-1"))
    before = ledger_size()
    response = api.post("/behavior/events", purchase("A-2", value=30, redeem=[{"id": str(programme.pk), "amount": 13}]))
    body = assert_error(response, 422, "insufficient_balance")
    assert ledger_size() == before
    assert stars_total(api, programme) == {"total": 12, "reserved": 0, "pending": 0}
    lifetime = api.get("/customers/cust-1").json()["data"]["customer"]["metrics"]["lifetime"]
    assert (lifetime["number_of_purchases"], lifetime["spend_total"]) == (1, 120)

    failed = api.get("/behavior/events?status=FAILED").json()
    assert failed["count"] == 1
    [event] = failed["data"]
    assert body.get("event_id") == event["id"]
    assert event["status"] == "FAILED" and event["failed_at"] and event["resolved_at"] is None
    assert event["error_code"] == "insufficient_balance"
    assert event["reason"]
    assert event["data"]["order"]["purchase_id"] == "A-2"


def test_held_event_with_insufficient_balance_is_422_and_reserves_nothing(api, programme):
    before = ledger_size()
    response = api.post(
        "/behavior/events", purchase("A-1", fulfilled=False, redeem=[{"id": str(programme.pk), "amount": 1}])
    )
    assert_error(response, 422, "insufficient_balance")
    assert ledger_size() == before
    assert stars_total(api, programme) == {"total": 0, "reserved": 0, "pending": 0}
    assert [e["status"] for e in api.get("/behavior/events?type=PURCHASE").json()["data"]] == ["FAILED"]


def test_a_failed_purchase_does_not_block_its_purchase_id(api, programme):
    api.post("/behavior/events", purchase("A-1"))
    redeem = [{"id": str(programme.pk), "amount": 50}]
    assert api.post("/behavior/events", purchase("A-2", redeem=redeem)).status_code == 422
    response = api.post("/behavior/events", purchase("A-2"))
    assert response.status_code == 201, response.json()


def test_redeeming_a_non_points_reward_inside_the_order_is_422_and_stored_failed(api, programme, brand):
    coupon = RewardFactory(brand=brand, type="DISCOUNT", name="10% off")
    order = purchase("A-1")
    order["order"]["redeem"] = [{"id": str(coupon.pk), "amount": 1}]
    before = ledger_size()
    body = assert_error(api.post("/behavior/events", order), 422, "reward_not_redeemable_here")
    assert ledger_size() == before
    failed = api.get("/behavior/events?status=FAILED").json()["data"]
    assert [(e["status"], e["error_code"]) for e in failed] == [("FAILED", "reward_not_redeemable_here")]
    assert body.get("event_id") == failed[0]["id"]


# ---- duplicate purchase ----------------------------------------------------------------------------------------------


def test_duplicate_purchase_is_409_with_the_first_events_id(api, programme):
    first = api.post("/behavior/events", purchase("A-1")).json()["data"]
    before = (Event.objects.count(), *ledger_size())
    body = assert_error(api.post("/behavior/events", purchase("A-1", value=999)), 409, "duplicate_purchase")
    assert body["event_id"] == first["id"]
    assert (Event.objects.count(), *ledger_size()) == before
    assert stars_total(api, programme)["total"] == 12


def test_duplicate_of_a_held_purchase_is_409(api, programme):
    held = api.post("/behavior/events", purchase("A-1", fulfilled=False)).json()["data"]
    body = assert_error(api.post("/behavior/events", purchase("A-1")), 409, "duplicate_purchase")
    assert body["event_id"] == held["id"]


def test_a_reversed_purchase_id_may_be_sent_again(api, programme):
    first = api.post("/behavior/events", purchase("A-1")).json()["data"]
    api.post(f"/behavior/events/{first['id']}/reverse", {"reason": "refund"})
    response = api.post("/behavior/events", purchase("A-1"))
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["id"] != first["id"]


def test_the_same_purchase_id_in_another_brand_or_type_is_not_a_duplicate(api, programme):
    BrandFactory(id="0002")
    assert api.post("/behavior/events", purchase("A-1")).status_code == 201
    assert api.post("/behavior/events", {**purchase("A-1"), "brand_id": "0002"}).status_code == 201
    assert api.post("/behavior/events", {**purchase("A-1"), "type": "ADD_TO_CART"}).status_code == 201


# ---- unknown event ids -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("event_id", [str(uuid.uuid4()), "not-a-uuid", "12345"])
@pytest.mark.parametrize(
    "method, suffix, body",
    [
        ("get", "", None),
        ("patch", "/fulfill", None),
        ("post", "/reverse", {"reason": "refund"}),
    ],
    ids=["get", "fulfill", "reverse"],
)
def test_unknown_event_id_is_404_in_the_error_shape(api, programme, event_id, method, suffix, body):
    call = getattr(api, method)
    response = (
        call(f"/behavior/events/{event_id}{suffix}", body) if body else call(f"/behavior/events/{event_id}{suffix}")
    )
    body = assert_error(response, 404, "event_not_found")
    assert set(body) == {"error", "details"}
