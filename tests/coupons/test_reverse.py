"""POST /coupons/reverse, and reversing a coupon's event by POST /behavior/events/{id}/reverse:
what the code granted is taken back (a debt if it was spent), the use is freed, and a second
reversal is a 409. The suite's conftest checks the ledger (verify_ledger) after each test."""

import pytest

from coupons.models import CouponCode, CouponUse
from events.models import Event
from tests.coupons.helpers import redeem
from tests.factories import CustomerFactory
from tests.helpers import T4, emit, rows_of, totals

pytestmark = pytest.mark.django_db


def uses(code: str) -> int:
    return CouponCode.objects.get(code=code).uses_count


def test_a_reversal_takes_back_the_grant_frees_the_use_and_a_second_is_a_409(api, customer, stars, summer):
    event = redeem(customer, "SUMMER-1")

    response = api.post("/coupons/reverse", {"customer_id": customer.pk, "code": "summer-1"})

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["status"] == "REVERSED" and data["event_id"] == str(event.pk)
    assert [(a["amount"], a["state"]) for a in data["accumulations"]] == [(50, "REVERSED")]
    assert totals(customer, stars) == T4(0)
    assert [t for t, _a, _l in rows_of(event)] == ["ACCUMULATION", "REVERSAL"]
    assert uses("SUMMER-1") == 0
    assert CouponUse.objects.get(event=event).reversed_at is not None

    again = api.post("/coupons/reverse", {"customer_id": customer.pk, "code": "SUMMER-1"})
    assert again.status_code == 409
    assert again.json()["error"] == "coupon_already_reversed"

    # the freed use can be taken again, by anyone
    other = CustomerFactory()
    redeem(other, "SUMMER-1")
    assert totals(other, stars) == T4(50) and uses("SUMMER-1") == 1


def test_reversing_spent_coupon_points_leaves_a_debt(customer, brand, stars, summer):
    redeem(customer, "SUMMER-1")
    emit(customer, brand, type="PURCHASE", value=1, redeem=[(stars, 30)])

    from tests.coupons.helpers import reverse

    reverse(customer, "SUMMER-1")

    assert totals(customer, stars) == T4(-30, debt=30)


def test_reversing_the_event_itself_frees_the_use(api, customer, summer):
    event = redeem(customer, "SUMMER-1")

    response = api.post(f"/behavior/events/{event.pk}/reverse", {"reason": "refund"})

    assert response.status_code == 200
    assert uses("SUMMER-1") == 0
    assert api.post("/coupons/reverse", {"customer_id": customer.pk, "code": "SUMMER-1"}).status_code == 409


def test_a_code_the_customer_never_used_cannot_be_reversed(api, customer, summer):
    response = api.post("/coupons/reverse", {"customer_id": customer.pk, "code": "SUMMER-1"})
    assert (response.status_code, response.json()["error"]) == (422, "coupon_not_redeemed")
    assert api.post("/coupons/reverse", {"customer_id": customer.pk, "code": "NOPE"}).json()["error"] == (
        "coupon_not_found"
    )
    assert api.post("/coupons/reverse", {"customer_id": "ghost", "code": "SUMMER-1"}).status_code == 404


def test_a_shared_code_reverses_only_that_customers_use(customer, summer):
    from tests.coupons.helpers import reverse

    other = CustomerFactory()
    mine, theirs = redeem(customer, "SHARED-3"), redeem(other, "SHARED-3")

    reverse(customer, "SHARED-3")

    assert Event.objects.get(pk=mine.pk).status == "REVERSED"
    assert Event.objects.get(pk=theirs.pk).status == "RESOLVED"
    assert uses("SHARED-3") == 1
