"""The permission groups created by backoffice migration 0003: each can do what its name says,
and nothing else."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from campaigns.models import Brand
from events.models import Event
from tests.events.test_admin import CHANGELIST, action, action_choices
from tests.helpers import emit, totals

pytestmark = pytest.mark.django_db

READ_ONLY, FULFIL_REVERSE, MANAGER = "Support (read-only)", "Support (fulfil and reverse)", "Programme manager"


def member(client, *groups):
    user = User.objects.create_user("u-" + "-".join(g[:7] for g in groups), password="pw", is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    client.force_login(user)
    return user


def codenames(name):
    return set(Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename"))


def test_the_three_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {READ_ONLY, FULFIL_REVERSE, MANAGER}


def test_read_only_support_only_views():
    perms = codenames(READ_ONLY)
    assert perms and all(code.startswith("view_") for _app, code in perms)
    assert ("campaigns", "view_apikey") not in perms  # keys are the managers'


def test_fulfil_and_reverse_adds_exactly_those_two():
    assert codenames(FULFIL_REVERSE) - codenames(READ_ONLY) == {
        ("events", "fulfill_event"),
        ("events", "reverse_event"),
    }


def test_the_programme_manager_changes_the_programme_but_does_not_reverse():
    extra = codenames(MANAGER) - codenames(READ_ONLY)
    assert ("campaigns", "change_campaign") in extra and ("events", "adjust_balance") in extra
    assert not {("events", "reverse_event"), ("events", "fulfill_event")} & extra
    assert not any(
        app == "wallets" and code.endswith("_transaction")
        for app, code in codenames(MANAGER) - {("wallets", "view_transaction")}
    )


def test_read_only_support_sees_events_and_customers_and_cannot_act(client, customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120)
    member(client, READ_ONLY)

    page = client.get(CHANGELIST)
    assert page.status_code == 200 and "reverse_events" not in action_choices(page)
    assert client.get(reverse("admin:wallets_customer_change", args=[customer.pk])).status_code == 200
    assert client.get(reverse("admin:wallets_customer_add")).status_code == 403
    assert client.get(reverse("admin:events_event_adjust")).status_code == 403

    action(client, "reverse_events", [event], apply="1", reason="forged")  # a forged POST
    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED
    assert totals(customer, stars)["total"] == 12


def test_fulfil_and_reverse_support_reverses(client, customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120)
    member(client, FULFIL_REVERSE)

    assert {"reverse_events", "fulfill_events"} <= action_choices(client.get(CHANGELIST))
    action(client, "reverse_events", [event], apply="1", reason="refund")
    assert Event.objects.get(pk=event.pk).status == Event.Status.REVERSED


def test_the_programme_manager_adds_a_brand_and_cannot_reverse(client, customer, brand, star_campaign):
    event = emit(customer, brand, value=120)
    member(client, MANAGER)

    response = client.post(reverse("admin:campaigns_brand_add"), {"id": "b-new", "name": "New"})
    assert response.status_code == 302 and Brand.objects.filter(pk="b-new").exists()
    assert "reverse_events" not in action_choices(client.get(CHANGELIST))
    action(client, "reverse_events", [event], apply="1", reason="forged")
    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED


def test_every_group_sees_the_programme_mechanics_and_only_the_manager_adds_codes(client):
    """backoffice migration 0004: coupons, gift cards, referrals, import jobs and history."""
    seen = {
        ("coupons", "view_couponcode"),
        ("giftcards", "view_giftcardcode"),
        ("referrals", "view_referral"),
        ("importing", "view_importjob"),
        ("importing", "view_historicaltransaction"),
    }
    adds = {("coupons", "add_couponcode"), ("giftcards", "add_giftcardcode")}
    for name in (READ_ONLY, FULFIL_REVERSE, MANAGER):
        assert seen <= codenames(name), name
    assert adds <= codenames(MANAGER) and not adds & codenames(READ_ONLY)

    member(client, READ_ONLY)
    assert client.get(reverse("admin:importing_importjob_changelist")).status_code == 200
    assert client.get(reverse("admin:coupons_couponcode_changelist")).status_code == 200
