"""The gift-card back office: codes left per pool, the CSV upload (audited, through the
service), and the codes with their state."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEntry
from giftcards.models import GiftCardCode
from tests.giftcards.conftest import load
from tests.helpers import emit

pytestmark = pytest.mark.django_db
POOLS = reverse("admin:giftcards_giftcardpool_changelist")


def upload(admin_client, reward, text: str, **fields):
    url = reverse("admin:giftcards_giftcardpool_upload", args=[reward.pk])
    return admin_client.post(url, {"file": SimpleUploadedFile("codes.csv", text.encode()), **fields}, follow=True)


def test_the_pools_page_shows_the_codes_left_per_gift_card_reward(
    admin_client, customer, brand, gift, stars, gift_campaign
):
    load(gift, "G-1", "G-2", "G-3")
    emit(customer, brand)
    page = admin_client.get(POOLS)
    assert page.status_code == 200
    row = next(r for r in page.context["cl"].result_list if r.pk == gift.pk)
    assert (row.codes_left, row.codes_handed_out, row.codes_redeemed, row.codes_total) == (2, 1, 0, 3)
    assert stars.pk not in {r.pk for r in page.context["cl"].result_list}  # GIFT_CARD rewards only
    assert admin_client.get(reverse("admin:giftcards_giftcardpool_change", args=[gift.pk])).status_code == 200


def test_a_csv_upload_loads_the_codes_and_is_audited(admin_client, gift):
    load(gift, "OLD")
    page = upload(
        admin_client,
        gift,
        "code,description,expired_at\nC-1,25 EUR,2099-01-01T00:00:00Z\n C-2 \n\nOLD\n",
        description="10 EUR",
        reason="first batch",
    )
    assert page.status_code == 200
    assert "2 code(s) added" in page.content.decode() and "OLD" in page.content.decode()
    assert dict(GiftCardCode.objects.values_list("code", "description")) == {
        "OLD": "",
        "C-1": "25 EUR",
        "C-2": "10 EUR",
    }
    entry = AuditEntry.objects.get(action="giftcards.load")
    assert entry.object_id == str(gift.pk) and entry.reason == "first batch"
    assert entry.after["codes_added"] == 2 and entry.after["codes_duplicate"] == 1


def test_a_bad_csv_adds_nothing_and_says_why(admin_client, gift):
    page = upload(admin_client, gift, "GOOD\nhas space\n")
    assert "codes[1]" in page.content.decode()
    page = upload(admin_client, gift, "A,,2099-01-01T00:00:00\n")  # no time zone
    assert "time zone" in page.content.decode()
    assert GiftCardCode.objects.count() == 0
    assert not AuditEntry.objects.filter(action="giftcards.load").exists()


def test_the_codes_page_lists_codes_with_their_state(admin_client, customer, brand, gift, gift_campaign):
    load(gift, "G-1", "G-2")
    emit(customer, brand)
    page = admin_client.get(reverse("admin:giftcards_giftcardcode_changelist") + "?status__exact=GRANTED")
    assert page.status_code == 200
    assert [c.code for c in page.context["cl"].result_list] == ["G-1"]
    card = GiftCardCode.objects.get(code="G-1")
    assert admin_client.get(reverse("admin:giftcards_giftcardcode_change", args=[card.pk])).status_code == 200
