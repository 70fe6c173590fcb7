"""The admin dashboard (issue 10, item 6): its rollup equals the ledger, re-running it changes
nothing, its money is exact, and only staff see it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, Sum
from django.utils import timezone

from backoffice.models import EventStatusDay, LedgerDay, RollupRun
from backoffice.selectors import dashboard
from backoffice.services import dashboard_rollup
from campaigns.models import EventType
from events.models import EventTransition
from events.services import event_reverse
from tests.factories import CampaignFactory, RewardFactory, fixed_rule, per_value_rule
from tests.helpers import emit, run_command
from wallets.models import Transaction

pytestmark = pytest.mark.django_db
T = Transaction.Type


@pytest.fixture
def activity(brand, stars, customer):
    """Grants, a redemption, a reversal, a held grant and a grant born expired, all today."""
    CampaignFactory(brand=brand, rules=[per_value_rule(stars, min_value=10)])
    cart = EventType.objects.get(pk="ADD_TO_CART")
    CampaignFactory(brand=brand, trigger=cart, rules=[fixed_rule(stars, amount=7, expiration="1/days")])
    emit(customer, brand, value=30)  # 3 stars
    reversed_ = emit(customer, brand, value=100, purchase_id="p-rev")  # 10 stars, taken back
    emit(customer, brand, value=20, redeem=[(stars, 2)])  # 2 more stars, 2 redeemed
    emit(customer, brand, value=50, fulfilled=False)  # 5 stars pending
    emit(customer, brand, type="ADD_TO_CART", issued_at=timezone.now() - timedelta(hours=30))  # born expired
    event_reverse(event_id=reversed_.pk, reason="refund")
    return customer


def ledger_sum(type_, sign):
    rows = Transaction.objects.filter(type=type_, **({"amount__gt": 0} if sign > 0 else {"amount__lt": 0}))
    return sign * (rows.aggregate(s=Sum("amount"))["s"] or Decimal(0))


def dashboard_total(data, reward, key):
    return sum(data["per_reward"].get(str(reward.pk), {}).get(key, {}).values(), Decimal(0))


def test_the_rollup_figures_equal_the_ledger_sums(activity, stars):
    dashboard_rollup()
    data = dashboard()
    expected = {
        "issued": ledger_sum(T.ACCUMULATION, 1),
        "redeemed": ledger_sum(T.REDEMPTION, -1),
        "expired": ledger_sum(T.EXPIRATION, -1),
        "reversed": ledger_sum(T.REVERSAL, -1),
    }
    assert expected == {"issued": 22, "redeemed": 2, "expired": 7, "reversed": 10}
    assert {key: dashboard_total(data, stars, key) for key in expected} == expected
    transitions = dict(EventTransition.objects.values_list("to_status").annotate(n=Count("id")))
    assert {s: sum(days.values()) for s, days in data["events"].items() if days} == transitions
    for (type_,) in Transaction.objects.values_list("type").distinct():
        rolled = LedgerDay.objects.filter(type=type_).aggregate(c=Sum("credit"), d=Sum("debit"), n=Sum("rows"))
        assert rolled["c"] - ledger_sum(type_, 1) == 0 and rolled["d"] + ledger_sum(type_, -1) == 0
        assert rolled["n"] == Transaction.objects.filter(type=type_).count()


def test_rerunning_the_rollup_changes_nothing(activity):
    def snapshot():
        ledger = LedgerDay.objects.values_list("day", "type", "reward_id", "campaign_id", "credit", "debit", "rows")
        return sorted(ledger, key=str), sorted(EventStatusDay.objects.values_list("day", "status", "count"))

    dashboard_rollup(days=30)
    first = snapshot()
    dashboard_rollup(days=30)
    dashboard_rollup()  # a shorter window recomputes its days only
    assert snapshot() == first
    assert RollupRun.objects.get(pk=1).finished_at is not None


def test_days_outside_the_window_are_left_alone(activity):
    dashboard_rollup()
    tomorrow = timezone.now() + timedelta(days=1)
    dashboard_rollup(now=tomorrow + timedelta(days=1), days=1)  # the day after tomorrow: empty
    assert LedgerDay.objects.filter(day=timezone.localdate()).exists()


def test_liability_money_is_exact(brand, customer):
    tenth = RewardFactory(brand=brand, name="Tenths", attributes={"conversion_factor": 0.1})
    CampaignFactory(brand=brand, rules=[per_value_rule(tenth, min_value=10)])
    emit(customer, brand, value=30)  # 3 points at 0.1
    emit(customer, brand, value=40, fulfilled=False)  # 4 pending
    (row,) = [r for r in dashboard()["liability"] if r["reward_id"] == str(tenth.pk)]
    assert (row["available"], row["pending"], row["reserved"], row["debt"]) == (3, 4, 0, 0)
    assert isinstance(row["available_value"], Decimal)
    assert row["available_value"] == Decimal("0.3") and row["pending_value"] == Decimal("0.4")


def test_the_admin_index_shows_the_dashboard_in_a_bounded_number_of_queries(
    activity, brand, stars, admin_client, django_assert_max_num_queries
):
    RewardFactory(brand=brand, name="<b>bold</b>")
    run_command("rollup_dashboard", days=30)
    with django_assert_max_num_queries(20):
        response = admin_client.get("/admin/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="backoffice-dashboard"' in page and "<svg" in page
    assert "Summary last rolled up" in page and "Status changes of each day" in page
    assert str(stars) in page and "<b>bold</b>" not in page
    assert "http://" not in page.split('id="backoffice-dashboard"')[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_the_dashboard_is_not_shown_to_a_non_staff_user(activity, client):
    user = get_user_model().objects.create_user("clerk", password="pw")
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    followed = client.get("/admin/", follow=True)
    assert b"backoffice-dashboard" not in followed.content


def test_the_dashboard_tag_shows_nothing_without_a_staff_user(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.template import Context, Template

    request = rf.get("/")
    request.user = AnonymousUser()
    html = Template("{% load backoffice %}{% backoffice_dashboard %}").render(Context({"request": request}))
    assert "backoffice-dashboard" not in html
