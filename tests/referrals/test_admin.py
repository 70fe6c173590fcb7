"""The back office: a REFERRALS campaign is created in the campaign admin with its referee
rules and max uses (through the services); codes and referrals are read-only lists."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from tests.campaigns.test_admin_programme import browser_form, errors_of
from tests.factories import CustomerFactory, cond, fixed_rule
from tests.helpers import emit

pytestmark = pytest.mark.django_db


def test_a_referrals_campaign_is_created_in_the_campaign_admin(admin_client, brand, stars):
    url = reverse("admin:campaigns_campaign_add")
    start = timezone.now() + timedelta(days=1)
    data = browser_form(
        admin_client,
        url,
        brand=brand.pk,
        name="Friends",
        type="REFERRALS",
        trigger="PURCHASE",
        start_date_0=start.strftime("%Y-%m-%d"),
        start_date_1="00:00:00",
        rules=json.dumps([fixed_rule(stars, amount=100)]),
        referee_rules=json.dumps([fixed_rule(stars, amount=20)]),
        referral_max_uses="3",
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get(name="Friends")
    assert campaign.type == "REFERRALS" and campaign.referral_max_uses == 3
    assert campaign.referee_rules[0]["id"] and campaign.referee_rules[0]["effects"][0]["amount"] == 20


def test_invalid_referee_rules_are_a_form_error(admin_client, brand, stars):
    url = reverse("admin:campaigns_campaign_add")
    data = browser_form(
        admin_client,
        url,
        brand=brand.pk,
        name="Friends",
        type="REFERRALS",
        trigger="PURCHASE",
        start_date_0=timezone.now().strftime("%Y-%m-%d"),
        start_date_1="00:00:00",
        rules=json.dumps([fixed_rule(stars, amount=100)]),
        referee_rules=json.dumps([{"conditions": [[cond("order.nope", "eq", 1)]], "effects": []}]),
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "referee_rules" in str(errors_of(response))
    assert not Campaign.objects.filter(name="Friends").exists()


def test_codes_and_referrals_are_listed_read_only(admin_client, brand, stars, ana, ana_code):
    ben = CustomerFactory(id="ben", referral_code=ana_code)
    emit(ben, brand, value=30)

    codes = admin_client.get(reverse("admin:referrals_referralcode_changelist"))
    assert codes.status_code == 200 and ana_code in codes.content.decode()
    referrals = admin_client.get(reverse("admin:referrals_referral_changelist"))
    assert referrals.status_code == 200 and "REWARDED" in referrals.content.decode()
    assert admin_client.get(reverse("admin:referrals_referral_add")).status_code == 403
