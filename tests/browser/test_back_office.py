"""A support person's day in a real browser (issue 10): find an event by its purchase id and
reverse it with a reason; a read-only colleague cannot; a manager's manual adjustment changes
the balance and shows in the audit list. Screenshots of the dashboard, an event page and a
customer page are saved under var/screenshots/."""

import pytest
from django.contrib.auth.models import Group, User

from audit.models import AuditEntry
from backoffice.services import dashboard_rollup
from events.models import Event
from tests.browser.conftest import log_in
from tests.helpers import emit, totals

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "a-long-test-password-1"


def staff_in(username: str, group: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.set([Group.objects.get(name=group)])
    return user


def find_by_purchase_id(page, purchase_id: str) -> None:
    page.goto("/admin/events/event/")
    page.fill("#searchbar", purchase_id)
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")


def test_support_finds_an_event_by_purchase_id_and_reverses_it_with_a_reason(
    page, screenshot, customer, brand, stars, star_campaign
):
    event = emit(customer, brand, value=120, purchase_id="order-4711")
    emit(customer, brand, value=30, purchase_id="order-4712")
    staff_in("sam", "Support (fulfil and reverse)")
    log_in(page, "sam", PASSWORD)

    find_by_purchase_id(page, "order-4711")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "reverse_events")
    page.click("button[name=index]")

    page.wait_for_selector("textarea[name=reason]")  # the confirmation page asks why
    page.fill("textarea[name=reason]", "parcel lost, refunded")
    page.click("input[type=submit][value=Reverse]")
    page.wait_for_selector(".messagelist")
    assert "reversed" in page.inner_text(".messagelist").lower()

    page.goto(f"/admin/events/event/{event.pk}/change/")
    body = page.inner_text("#content")
    assert "REVERSED" in body and "parcel lost, refunded" in body
    assert "REVERSAL" in body  # the reversal's ledger rows
    screenshot("event-page")
    assert Event.objects.get(pk=event.pk).status == Event.Status.REVERSED
    assert totals(customer, stars)["total"] == 3


def test_read_only_support_cannot_reverse(page, customer, brand, stars, star_campaign):
    event = emit(customer, brand, value=120, purchase_id="order-5000")
    staff_in("rita", "Support (read-only)")
    log_in(page, "rita", PASSWORD)

    find_by_purchase_id(page, "order-5000")
    assert page.locator("#result_list tbody tr").count() == 1
    options = page.locator("select[name=action] option").all_inner_texts()
    assert not any("Reverse" in option for option in options)
    page.goto(f"/admin/events/event/{event.pk}/change/")
    assert "RESOLVED" in page.inner_text("#content")
    assert Event.objects.get(pk=event.pk).status == Event.Status.RESOLVED


def test_a_manual_adjustment_changes_the_balance_and_shows_in_the_audit_list(
    page, screenshot, customer, brand, stars, star_campaign
):
    emit(customer, brand, value=120)  # 12 stars
    staff_in("maya", "Programme manager")
    log_in(page, "maya", PASSWORD)

    dashboard_rollup()  # what the periodic task does every 5 minutes
    page.goto("/admin/")
    page.wait_for_selector("svg")  # the dashboard's charts are drawn by the app
    assert "No ledger rows" not in page.inner_text("#content")
    screenshot("dashboard")

    page.goto(f"/admin/wallets/customer/{customer.pk}/change/")
    page.click("text=Adjust balance…")
    page.wait_for_selector("input[name=amount]")
    assert page.input_value("input[name=customer]") == customer.pk
    page.select_option("select[name=reward]", str(stars.pk))
    page.fill("input[name=amount]", "5")
    page.fill("textarea[name=reason]", "goodwill: late delivery")
    page.click("#content form [type=submit]")
    page.wait_for_selector(".messagelist")
    assert f"5 {stars.name} credited to {customer.pk}" in page.inner_text(".messagelist")
    assert "ADJUSTMENT" in page.inner_text("#content")  # we are on the new event's page
    assert totals(customer, stars)["total"] == 17

    page.goto(f"/admin/wallets/customer/{customer.pk}/change/")
    assert "17" in page.inner_text("#content")
    screenshot("customer-page")

    page.goto("/admin/audit/auditentry/")
    listing = page.inner_text("#result_list")
    assert "customer.adjust" in listing and "goodwill: late delivery" in listing and "maya" in listing
    assert AuditEntry.objects.filter(action="customer.adjust", actor_name="maya").count() == 1
