"""The back office (SPEC section 6): finding and inspecting events, the Fulfill and Reverse
actions (Reverse behind a confirmation page and the `reverse_event` permission), and every
other model's changelist."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from campaigns.services import api_key_create
from events.models import Event
from tests.factories import BrandFactory, CustomerFactory
from tests.helpers import emit, totals
from wallets.models import Transaction

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:events_event_changelist")


def change_url(event):
    return reverse("admin:events_event_change", args=[event.pk])


def listed(response):
    return {e.pk for e in response.context["cl"].result_list}


def action(client, name, events, **extra):
    return client.post(CHANGELIST, {"action": name, "_selected_action": [str(e.pk) for e in events], **extra})


def action_choices(response):
    form = response.context["action_form"]  # None when the user may run no action at all
    return {value for value, _label in form.fields["action"].choices} if form else set()


def staff(username, *codenames):
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="events", codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh instance: no cached permissions


@pytest.fixture
def other_customer(db):
    return CustomerFactory(id="cust-2")


# ---- finding and inspecting events -----------------------------------------------------------------------


def test_event_changelist_loads_with_the_events(admin_client, customer, brand, star_campaign):
    event = emit(customer, brand, value=120, purchase_id="A-1001")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed(response) == {event.pk}


@pytest.mark.parametrize(
    "filters",
    [
        {"status__exact": "PENDING"},
        {"type__name__exact": "PURCHASE"},
        {"brand__id__exact": "0001"},
        {"fulfilled__exact": "0"},
    ],
)
def test_event_changelist_filters_find_the_held_purchase(admin_client, customer, brand, star_campaign, filters):
    held = emit(customer, brand, value=50, fulfilled=False)
    emit(customer, brand, type="REGISTRATION")
    emit(customer, BrandFactory(id="0002"), value=30)

    response = admin_client.get(CHANGELIST, filters)

    assert response.status_code == 200
    assert held.pk in listed(response)
    assert len(listed(response)) < Event.objects.count()


def test_event_changelist_search_finds_by_event_id_customer_id_and_purchase_id(
    admin_client, customer, other_customer, brand, star_campaign
):
    mine = emit(customer, brand, value=120, purchase_id="A-1001")
    theirs = emit(other_customer, brand, value=30, purchase_id="B-2002")

    by_id = admin_client.get(CHANGELIST, {"q": str(mine.pk)})
    by_customer = admin_client.get(CHANGELIST, {"q": "cust-2"})
    by_purchase = admin_client.get(CHANGELIST, {"q": "A-1001"})

    assert listed(by_id) == {mine.pk}
    assert listed(by_customer) == {theirs.pk}
    assert listed(by_purchase) == {mine.pk}


def test_event_detail_page_shows_payload_status_and_ledger_rows(admin_client, customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120, purchase_id="A-1001", platform="POS")
    [row] = Transaction.objects.filter(event_id=event.pk)

    response = admin_client.get(change_url(event))

    assert response.status_code == 200
    page = response.content.decode()
    assert "A-1001" in page and "&quot;platform&quot;: &quot;POS&quot;" in page  # the payload, as JSON
    assert "RESOLVED" in page
    assert "Ledger rows" in page and f"<td>{row.id}</td><td>ACCUMULATION</td><td>12" in page
    assert "Stars" in page


def test_event_detail_page_shows_the_status_history(admin_client, customer, brand, star_campaign):
    event = emit(customer, brand, value=50, fulfilled=False)
    action(admin_client, "fulfill_events", [event])

    page = admin_client.get(change_url(event)).content.decode()

    cells = {
        name: [
            re.sub(r"<[^>]+>", "", v).strip() for v in re.findall(rf'<td class="field-{name}">(.*?)</td>', page, re.S)
        ]
        for name in ("from_status", "to_status", "source")
    }
    assert cells == {"from_status": ["-", "PENDING"], "to_status": ["PENDING", "RESOLVED"], "source": ["api", "admin"]}


# ---- Fulfill -----------------------------------------------------------------------------------------------


def test_fulfill_action_resolves_a_held_event(admin_client, customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=50, fulfilled=False)

    response = action(admin_client, "fulfill_events", [event])

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.RESOLVED and event.fulfilled
    assert totals(customer, stars) == {"total": 5, "reserved": 0, "pending": 0, "debt": 0}
    last = event.transitions.last()
    assert (last.source, last.actor.username) == ("admin", "admin")


def test_fulfill_action_reports_an_event_it_cannot_fulfill(admin_client, customer, brand, star_campaign):
    event = emit(customer, brand, value=50)

    response = action(admin_client, "fulfill_events", [event])

    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(str(event.pk) in m and "RESOLVED" in m for m in messages), messages
    assert Event.objects.get(pk=event.pk).transitions.count() == 1


# ---- Reverse -----------------------------------------------------------------------------------------------


def test_reverse_action_first_asks_for_a_reason_and_changes_nothing(
    admin_client, customer, brand, stars, star_campaign
):
    event = emit(customer, brand, value=120)

    response = action(admin_client, "reverse_events", [event])

    assert response.status_code == 200
    assert "admin/events/reverse_confirmation.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert str(event.pk) in page and 'name="reason"' in page and 'name="apply"' in page
    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED
    assert totals(customer, stars)["total"] == 12


def test_reverse_action_without_a_reason_asks_again(admin_client, customer, brand, star_campaign):
    event = emit(customer, brand, value=120)

    response = action(admin_client, "reverse_events", [event], apply="1", reason="   ")

    assert response.status_code == 200
    assert response.context["form"].errors
    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED


def test_reverse_action_with_a_reason_reverses_and_stores_the_reason(
    admin_client, customer, brand, stars, star_campaign
):
    event = emit(customer, brand, value=120)

    response = action(admin_client, "reverse_events", [event], apply="1", reason="order refunded")

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.REVERSED and event.reason == "order refunded"
    last = event.transitions.last()
    assert (last.source, last.actor.username, last.reason) == ("admin", "admin", "order refunded")
    assert totals(customer, stars)["total"] == 0


def test_reverse_action_cancels_a_held_event(admin_client, customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=50, fulfilled=False)

    action(admin_client, "reverse_events", [event], apply="1", reason="never shipped")

    assert Event.objects.get(pk=event.pk).status == Event.Status.CANCELLED
    assert totals(customer, stars)["pending"] == 0


def test_staff_with_the_reverse_permission_gets_the_reverse_action(client, customer, brand, star_campaign):
    event = emit(customer, brand, value=120)
    client.force_login(staff("operator", "view_event", "reverse_event"))

    assert "reverse_events" in action_choices(client.get(CHANGELIST))
    action(client, "reverse_events", [event], apply="1", reason="refund")
    assert Event.objects.get(pk=event.pk).status == Event.Status.REVERSED


def test_staff_without_the_reverse_permission_cannot_reverse(client, customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120)
    client.force_login(staff("clerk", "view_event", "fulfill_event"))

    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "reverse_events" not in action_choices(response)
    assert "fulfill_events" in action_choices(response)

    action(client, "reverse_events", [event], apply="1", reason="refund")
    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED
    assert totals(customer, stars)["total"] == 12


def test_staff_without_the_fulfill_permission_cannot_fulfill(client, customer, brand, star_campaign):
    event = emit(customer, brand, value=50, fulfilled=False)
    client.force_login(staff("viewer", "view_event"))

    response = client.get(CHANGELIST)
    assert "fulfill_events" not in action_choices(response)
    action(client, "fulfill_events", [event])
    assert Event.objects.get(pk=event.pk).status == Event.Status.PENDING


def test_event_admin_offers_no_add_edit_or_delete(admin_client, customer, brand, star_campaign):
    event = emit(customer, brand, value=120)

    assert admin_client.get(reverse("admin:events_event_add")).status_code == 403
    assert admin_client.get(reverse("admin:events_event_delete", args=[event.pk])).status_code == 403
    assert "delete_selected" not in action_choices(admin_client.get(CHANGELIST))
    admin_client.post(change_url(event), {"status": "REVERSED"})
    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED


# ---- the rest of the back office ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:campaigns_brand_changelist",
        "admin:campaigns_reward_changelist",
        "admin:campaigns_campaign_changelist",
        "admin:campaigns_eventtype_changelist",
        "admin:campaigns_apikey_changelist",
        "admin:wallets_customer_changelist",
        "admin:wallets_wallet_changelist",
        "admin:wallets_walletline_changelist",
        "admin:wallets_transaction_changelist",
        "admin:django_celery_beat_periodictask_changelist",
    ],
)
def test_every_other_changelist_loads(admin_client, customer, brand, stars, star_campaign, url_name):
    api_key_create(name="shop")
    emit(customer, brand, value=120)
    emit(customer, brand, value=50, fulfilled=False, redeem=[(stars, 5)])

    response = admin_client.get(reverse(url_name))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", ["brand", "reward", "campaign", "customer", "wallet"])
def test_change_pages_of_programme_objects_load(admin_client, customer, brand, stars, star_campaign, model):
    emit(customer, brand, value=120)
    obj = {"brand": brand, "reward": stars, "campaign": star_campaign, "customer": customer, "wallet": customer.wallet}[
        model
    ]
    app = "wallets" if model in ("customer", "wallet") else "campaigns"

    response = admin_client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))

    assert response.status_code == 200


def test_housekeeping_task_is_scheduled_every_minute_after_migrate():
    task = PeriodicTask.objects.get(task="events.housekeeping")

    assert task.enabled
    assert task.interval is not None
    assert (task.interval.every, task.interval.period) == (60, IntervalSchedule.SECONDS)


def test_customer_page_shows_wallet_totals_and_lines(admin_client, customer, brand, stars, star_campaign):
    """SPEC section 6: "customers with wallet totals and lines"."""
    emit(customer, brand, value=120, purchase_id="A-1001")
    emit(customer, brand, value=30, fulfilled=False)

    response = admin_client.get(reverse("admin:wallets_customer_change", args=[customer.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Stars" in page
    assert "12.0000" in page  # the total's balance and the first line's amount
    assert "PENDING" in page and "AVAILABLE" in page  # the wallet's lines with their states


# ---- the event page leads with what support needs (issue 10) ---------------------------------------------


def test_event_page_leads_with_status_and_timeline_and_keeps_internal_flags_last_and_collapsed(
    admin_client, customer, brand, star_campaign
):
    event = emit(customer, brand, value=120)

    page = admin_client.get(change_url(event)).content.decode()

    order = [
        "Status",
        "Customer",
        "Amounts",
        "Campaigns and rules that fired",
        "Ledger rows",
        "Payload and result",
        "Internal",
    ]
    positions = [page.index(f">{title}<") for title in order]
    assert positions == sorted(positions), positions
    assert page.index("field-timeline") < page.index("field-customer_link") < page.index("field-payload")
    internal = page[page.index(">Internal<") - 300 :]
    assert "collapse" in internal and "field-queue_message_id" in internal
    assert f'href="{reverse("admin:wallets_customer_change", args=[customer.pk])}"' in page


def test_event_page_shows_the_amounts_per_reward_and_the_campaigns_that_fired(
    admin_client, customer, brand, stars, star_campaign
):
    emit(customer, brand, value=200)  # 20 stars
    event = emit(customer, brand, value=50, fulfilled=False, redeem=[(stars, 7)])  # 5 pending, 7 reserved

    page = admin_client.get(change_url(event)).content.decode()

    amounts = page[page.index("field-amounts") : page.index("field-fired")]
    assert "<th>credited</th><th>debited</th><th>reserved</th><th>pending</th>" in amounts
    assert re.search(r"<td>Stars</td><td>0</td><td>0</td><td>7(\.0+)?</td><td>5(\.0+)?</td>", amounts), amounts
    fired = page[page.index("field-fired") : page.index("field-ledger_rows")]
    campaign_url = reverse("admin:campaigns_campaign_change", args=[star_campaign.pk])
    assert campaign_url in fired and "rule-1" in fired

    action(admin_client, "fulfill_events", [event])
    amounts = admin_client.get(change_url(event)).content.decode()
    amounts = amounts[amounts.index("field-amounts") : amounts.index("field-fired")]
    assert re.search(r"<td>Stars</td><td>5(\.0+)?</td><td>7(\.0+)?</td><td>0(\.0+)?</td><td>0</td>", amounts), amounts


def test_event_page_shows_its_audit_trail(admin_client, customer, brand, star_campaign):
    event = emit(customer, brand, value=120)
    action(admin_client, "reverse_events", [event], apply="1", reason="order refunded")

    page = admin_client.get(change_url(event)).content.decode()

    trail = page[page.index("field-audit_trail") :]
    assert "event.reverse" in trail and "order refunded" in trail and "admin" in trail


def test_event_page_query_count_does_not_grow_with_its_rows(
    admin_client, customer, brand, stars, django_assert_max_num_queries
):
    from tests.factories import CampaignFactory, RewardFactory, fixed_rule

    counts = []
    for n in (1, 8):
        rewards = [RewardFactory(brand=brand) for _ in range(n)]
        for reward in rewards:
            CampaignFactory(brand=brand, rules=[fixed_rule(reward, amount=10)])
        event = emit(customer, brand, value=50)
        admin_client.get(change_url(event))  # the content types, read once per process
        with django_assert_max_num_queries(EVENT_PAGE_QUERIES_MAX) as captured:
            assert admin_client.get(change_url(event)).status_code == 200
        counts.append(len(captured.captured_queries))

    assert counts[0] == counts[1], counts


# Measured: 8 queries on SQLite and PostgreSQL, whatever the rows (the session, the user, the event with
# its brand and type, its transitions, ledger rows, pending lines, campaigns, audit entries). Ceiling = measure + 2.
EVENT_PAGE_QUERIES_MAX = 8 + 2


# ---- actions: one message per event, the audit trail, forged posts ----------------------------------------


def test_actions_give_one_message_per_event_and_audit_each_success(admin_client, customer, brand, star_campaign):
    from audit.models import AuditEntry

    held_one = emit(customer, brand, value=50, fulfilled=False)
    held_two = emit(customer, brand, value=30, fulfilled=False)
    resolved = emit(customer, brand, value=20)

    response = action(admin_client, "fulfill_events", [held_one, held_two, resolved])

    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(messages) == 3, messages
    assert any(str(held_one.pk) in m and "fulfilled, now RESOLVED" in m for m in messages)
    assert any(str(resolved.pk) in m and "not fulfilled" in m for m in messages)
    entries = AuditEntry.objects.filter(action="event.fulfill")
    assert {e.object_id for e in entries} == {str(held_one.pk), str(held_two.pk)}
    entry = entries.get(object_id=str(held_one.pk))
    assert (entry.actor.username, entry.source, entry.object_type) == ("admin", "admin", "events.event")
    assert (entry.before["status"], entry.after["status"]) == ("PENDING", "RESOLVED")


def test_a_reverse_by_the_admin_is_audited_with_its_reason(admin_client, customer, brand, star_campaign):
    from audit.models import AuditEntry

    event = emit(customer, brand, value=120)

    action(admin_client, "reverse_events", [event], apply="1", reason="order refunded")

    entry = AuditEntry.objects.get(action="event.reverse")
    assert (entry.object_id, entry.actor.username, entry.reason) == (str(event.pk), "admin", "order refunded")
    assert (entry.before["status"], entry.after["status"]) == ("RESOLVED", "REVERSED")
    assert not {"data", "result"} & (entry.before.keys() | entry.after.keys())  # the payload stays on the event


def test_staff_with_only_the_reverse_permission_cannot_forge_a_fulfil(client, customer, brand, stars, star_campaign):
    from audit.models import AuditEntry

    event = emit(customer, brand, value=50, fulfilled=False)
    client.force_login(staff("reverser", "view_event", "reverse_event"))

    assert "fulfill_events" not in action_choices(client.get(CHANGELIST))
    action(client, "fulfill_events", [event])

    assert Event.objects.get(pk=event.pk).status == Event.Status.PENDING
    assert totals(customer, stars)["pending"] == 5
    assert not AuditEntry.objects.exists()


# ---- the adjustment page ----------------------------------------------------------------------------------

ADJUST = reverse("admin:events_event_adjust")


def adjust_form(reward, amount, reason="goodwill", customer="cust-1", **extra):
    return {"customer": customer, "reward": str(reward.pk), "amount": str(amount), "reason": reason, **extra}


def test_the_adjust_page_preselects_the_customer(admin_client, customer, stars):
    response = admin_client.get(ADJUST, {"customer": customer.pk})

    assert response.status_code == 200
    assert response.context["form"]["customer"].value() == customer.pk
    assert 'value="cust-1"' in response.content.decode()
    assert ADJUST in admin_client.get(CHANGELIST).content.decode()  # linked from the events' list


def test_an_adjustment_from_the_admin_credits_and_redirects_to_its_event(admin_client, customer, stars):
    from audit.models import AuditEntry

    response = admin_client.post(ADJUST, adjust_form(stars, 15, reason="coffee spilt"))

    event = Event.objects.get(type_id="ADJUSTMENT")
    assert response.status_code == 302 and response["Location"] == change_url(event)
    assert totals(customer, stars)["total"] == 15
    assert any("15" in str(m) and "credited" in str(m) for m in get_messages(response.wsgi_request))
    assert (event.transitions.get().source, event.transitions.get().actor.username) == ("admin", "admin")
    assert AuditEntry.objects.get(action="customer.adjust").reason == "coffee spilt"


@pytest.mark.parametrize(
    "form, field",
    [
        ({"amount": -5}, "amount"),  # more than the balance
        ({"amount": "1.5"}, "amount"),  # Stars have no decimals
        ({"reason": "   "}, "reason"),
        ({"customer": "nobody"}, "customer"),
        ({"expiration_date": "2001-01-01 00:00"}, "expiration_date"),
    ],
)
def test_an_adjustment_the_service_refuses_is_shown_as_a_form_error(admin_client, customer, stars, form, field):
    response = admin_client.post(ADJUST, {**adjust_form(stars, 5), **{k: str(v) for k, v in form.items()}})

    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not Event.objects.filter(type_id="ADJUSTMENT").exists()
    assert totals(customer, stars)["total"] == 0


def test_staff_without_the_adjust_permission_get_403_even_when_forging_a_post(client, customer, stars):
    client.force_login(staff("clerk", "view_event", "reverse_event", "fulfill_event"))

    assert client.get(ADJUST).status_code == 403
    assert client.post(ADJUST, adjust_form(stars, 500)).status_code == 403
    assert ADJUST not in client.get(CHANGELIST).content.decode()
    assert totals(customer, stars)["total"] == 0 and not Event.objects.filter(type_id="ADJUSTMENT").exists()


def test_staff_with_the_adjust_permission_can_adjust(client, customer, stars):
    client.force_login(staff("support", "view_event", "adjust_balance"))

    assert client.get(ADJUST).status_code == 200
    assert client.post(ADJUST, adjust_form(stars, 3)).status_code == 302
    assert totals(customer, stars)["total"] == 3


def test_event_changelist_query_count_does_not_grow_with_the_events(admin_client, customer, brand, star_campaign):
    counts = []
    for n in (1, 6):
        for _ in range(n):
            emit(customer, brand, value=20)
        admin_client.get(CHANGELIST)
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(CHANGELIST).status_code == 200
        counts.append(len(captured.captured_queries))

    assert counts[0] == counts[1], counts
