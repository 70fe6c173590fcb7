"""GET /campaigns/{id}?includes=CODES_SUMMARY (and `customer_id`), and the COUPON_REDEMPTION /
COUPON_REVERSAL webhooks, written in the change's transaction."""

import pytest

from campaigns.models import Campaign
from tests.coupons.helpers import redeem, reverse
from tests.factories import CustomerFactory
from tests.webhooks.announced import body, deliveries, hook, queued  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def summary(api, campaign, query=""):
    response = api.get(f"/campaigns/{campaign.pk}?includes=CODES_SUMMARY{query}")
    assert response.status_code == 200, response.content
    return response.json()["data"]["codes_summary"]


def test_the_codes_summary_counts_uses(api, customer, summer):
    assert summary(api, summer) == {"used": 0, "total": 4, "left": 4, "codes": 2}
    redeem(customer, "SUMMER-1")
    redeem(customer, "SHARED-3")
    assert summary(api, summer) == {"used": 2, "total": 4, "left": 2, "codes": 2}
    reverse(customer, "SHARED-3")
    assert summary(api, summer)["used"] == 1


def test_with_a_customer_it_says_whether_they_may_still_redeem(api, customer, summer):
    first = summary(api, summer, f"&customer_id={customer.pk}")
    assert (first["customer_can_redeem"], first["customer_uses"]) == (True, 0)
    redeem(customer, "SUMMER-1")
    redeem(customer, "SHARED-3")  # their one use of it: nothing left for them
    after = summary(api, summer, f"&customer_id={customer.pk}")
    assert (after["customer_can_redeem"], after["customer_uses"]) == (False, 2)
    assert summary(api, summer, f"&customer_id={CustomerFactory().pk}")["customer_can_redeem"] is True
    Campaign.objects.filter(pk=summer.pk).update(status=Campaign.Status.INACTIVE)
    assert summary(api, summer, f"&customer_id={CustomerFactory().pk}")["customer_can_redeem"] is False
    assert api.get(f"/campaigns/{summer.pk}?includes=CODES_SUMMARY&customer_id=ghost").status_code == 404


def test_includes_are_asked_for_and_checked(api, summer, star_campaign):
    assert "codes_summary" not in api.get(f"/campaigns/{summer.pk}").json()["data"]
    assert api.get(f"/campaigns/{summer.pk}?includes=NOPE").status_code == 400
    assert api.get(f"/campaigns/{star_campaign.pk}?includes=codes_summary").json()["data"]["codes_summary"] is None


def test_redemption_and_reversal_are_announced(customer, stars, summer, queued):  # noqa: F811
    endpoint = hook("COUPON_REDEMPTION", "COUPON_REVERSAL")
    event = redeem(customer, "SUMMER-1")
    reverse(customer, "SUMMER-1")

    sent = deliveries(endpoint)
    assert [d.event for d in sent] == ["COUPON_REDEMPTION", "COUPON_REVERSAL"]
    redeemed, reversed_ = (body(d)["data"] for d in sent)
    assert (redeemed["code"], redeemed["event_id"], redeemed["campaign_id"]) == (
        "SUMMER-1",
        str(event.pk),
        str(summer.pk),
    )
    assert [(a["amount"], a["state"]) for a in redeemed["accumulations"]] == [(50, "AVAILABLE")]
    assert [t["total"] for t in redeemed["wallet"]["totals"]] == [50]
    assert redeemed["reversed_at"] is None and reversed_["reversed_at"] is not None
    assert [a["state"] for a in reversed_["accumulations"]] == ["REVERSED"]
    assert [t["total"] for t in reversed_["wallet"]["totals"]] == [0]


def test_a_refused_redemption_announces_no_coupon_webhook(customer, summer, queued):  # noqa: F811
    endpoint = hook("COUPON_REDEMPTION")
    redeem(customer, "SUMMER-1")
    from core.exceptions import BusinessRuleError

    with pytest.raises(BusinessRuleError):
        redeem(CustomerFactory(), "SUMMER-1")
    assert len(deliveries(endpoint)) == 1
