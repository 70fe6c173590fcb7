"""The coupons back office: adding codes (audited), the CSV of a campaign's codes, the uses."""

import csv
import io

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from coupons.models import CouponCode
from tests.coupons.helpers import coupon_campaign, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(brand, stars):
    return coupon_campaign(brand, stars)


def test_an_operator_generates_codes_and_the_addition_is_audited(admin_client, campaign):
    url = reverse("admin:coupons_couponcode_add_codes")
    form = {
        "campaign": campaign.pk,
        "quantity": 25,
        "length": 8,
        "prefix": "ad",
        "max_uses": 1,
        "max_uses_per_customer": 1,
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content
    assert CouponCode.objects.filter(campaign=campaign, code__startswith="AD").count() == 25
    entry = AuditEntry.objects.get(action="coupon.codes_add")
    assert entry.after["codes_added"] == 25 and entry.object_id == str(campaign.pk)


def test_supplied_codes_and_refusals_show_on_the_form(admin_client, brand, stars, campaign):
    url = reverse("admin:coupons_couponcode_add_codes")
    base = {"campaign": campaign.pk, "max_uses": 1, "max_uses_per_customer": 1, "length": 10}
    assert admin_client.post(url, {**base, "codes": "code\nFIRST-1\nsecond-2,x"}).status_code == 302
    assert set(CouponCode.objects.values_list("code", flat=True)) == {"FIRST-1", "SECOND-2"}

    taken = admin_client.post(url, {**base, "codes": "FIRST-1"})
    assert taken.status_code == 200 and "FIRST-1" in taken.content.decode()
    neither = admin_client.post(url, base)
    assert "Give a quantity" in neither.content.decode()
    assert AuditEntry.objects.filter(action="coupon.codes_add").count() == 1


def test_the_codes_download_as_csv_and_the_uses_are_shown(admin_client, customer, campaign):
    from coupons.services import coupon_codes_add

    coupon_codes_add(campaign_id=campaign.pk, codes=["CSV-1", "CSV-2"])
    redeem(customer, "CSV-2")

    response = admin_client.get(reverse("admin:coupons_couponcode_export", args=[campaign.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["code", "max_uses", "max_uses_per_customer", "uses_count", "created_at"]
    assert [(r[0], r[3]) for r in rows[1:]] == [("CSV-1", "0"), ("CSV-2", "1")]

    listing = admin_client.get(reverse("admin:coupons_couponcode_changelist") + f"?campaign__id__exact={campaign.pk}")
    assert "1 use(s) of 2 (1 left) over 2 code(s)" in listing.content.decode()
    code = CouponCode.objects.get(code="CSV-2")
    page = admin_client.get(reverse("admin:coupons_couponcode_change", args=[code.pk])).content.decode()
    assert customer.pk in page
    uses = admin_client.get(reverse("admin:coupons_couponuse_changelist")).content.decode()
    assert "CSV-2" in uses
