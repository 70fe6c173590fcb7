"""The audit trail's recorder: an entry commits with the change it describes, or not at all."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEntry
from audit.services import Source, audited, command_actor
from campaigns.services import campaign_update, reward_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return get_user_model().objects.create_user("olga", password="x", is_staff=True)


def test_an_audited_change_records_who_what_why_before_and_after(operator, stars):
    with audited(actor=operator, source=Source.ADMIN, action="reward.update", obj=stars, reason="typo") as entry:
        entry.obj = reward_update(reward_id=stars.pk, name="Gold stars")

    row = AuditEntry.objects.get()
    assert (row.actor, row.actor_name, row.source, row.action, row.reason) == (
        operator,
        "olga",
        "admin",
        "reward.update",
        "typo",
    )
    assert (row.object_type, row.object_id) == ("campaigns.reward", str(stars.pk))
    assert row.before["name"] == stars.name and row.after["name"] == "Gold stars"


def test_a_failed_action_records_nothing_and_changes_nothing(operator, stars):
    with pytest.raises(RuntimeError):
        with audited(actor=operator, source=Source.ADMIN, action="reward.update", obj=stars):
            reward_update(reward_id=stars.pk, name="Never")
            raise RuntimeError("the service refused")

    assert not AuditEntry.objects.exists()
    stars.refresh_from_db()
    assert stars.name != "Never"


def test_decimals_in_snapshots_stay_exact(operator, star_campaign):
    budget = Decimal("1234.5")
    with audited(actor=operator, source=Source.ADMIN, action="campaign.update", obj=star_campaign) as entry:
        entry.obj = campaign_update(campaign_id=star_campaign.pk, budget=budget)

    row = AuditEntry.objects.get()
    assert row.before["budget"] is None and row.after["budget"] == budget


def test_a_command_is_recorded_under_its_name():
    name = command_actor("reverse_event")
    assert name.startswith("reverse_event (")
