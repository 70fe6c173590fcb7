"""The programme's admin validates like the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from tests.factories import fixed_rule

pytestmark = pytest.mark.django_db


def _form(campaign, **changes):
    data = {
        "brand": campaign.brand_id or "",
        "name": campaign.name,
        "type": campaign.type,
        "status": campaign.status,
        "trigger": campaign.trigger_id,
        "start_date_0": campaign.start_date.strftime("%Y-%m-%d"),
        "start_date_1": campaign.start_date.strftime("%H:%M:%S"),
        "end_date_0": "",
        "end_date_1": "",
        "budget": "",
        "limit": "null",
        "rules": __import__("json").dumps(campaign.rules),
    }
    data.update(changes)
    return data


def test_admin_refuses_a_rule_the_engine_would_refuse(admin_client, star_campaign):
    star_campaign.status = Campaign.Status.INACTIVE
    star_campaign.start_date = timezone.now() + timedelta(days=3)
    star_campaign.save()
    bad = '[{"conditions": [[{"field": "order.nope", "operator": "eq", "value": 1}]], "effects": []}]'
    r = admin_client.post(
        reverse("admin:campaigns_campaign_change", args=[star_campaign.pk]), _form(star_campaign, rules=bad)
    )
    assert r.status_code == 200 and "unknown field" in r.content.decode()
    star_campaign.refresh_from_db()
    assert star_campaign.rules[0]["conditions"][0][0]["field"] == "order.value"


def test_admin_refuses_to_change_the_rules_of_a_started_campaign(admin_client, star_campaign, stars):
    new_rules = __import__("json").dumps([fixed_rule(stars, amount=99)])
    r = admin_client.post(
        reverse("admin:campaigns_campaign_change", args=[star_campaign.pk]), _form(star_campaign, rules=new_rules)
    )
    assert r.status_code == 200 and "has started" in r.content.decode()
    star_campaign.refresh_from_db()
    assert star_campaign.rules[0]["effects"][0]["kind"] == "PER_VALUE"
