"""The liability report (issue 14, item 3): per reward and brand, exact money, reconciled with the
wallet totals; the command's formats; the admin page's permission and its CSV."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone

from backoffice.selectors import liability_report
from tests.helpers import run_command
from wallets.models import WalletTotal

pytestmark = pytest.mark.django_db
D = Decimal
URL = "/admin/backoffice/liability/"
FIGURES = ("available", "reserved", "pending", "past_date", "debt", "outstanding")


def by_key(report):
    return {(r["reward"].name, r["brand_id"]): {k: r[k] for k in FIGURES} for r in report["rows"]}


def figures(available=0, reserved=0, pending=0, past_date=0, debt=0):
    f = {"available": D(available), "reserved": D(reserved), "pending": D(pending), "past_date": D(past_date)}
    return {**f, "debt": D(debt), "outstanding": D(available) + D(reserved) - D(debt)}


def test_the_report_per_reward_and_brand(programme):
    report = liability_report()
    assert by_key(report) == {
        ("Stars", "0001"): figures(available=8, reserved=3, pending=5, debt=10),
        ("Coins", "0001"): figures(available=4),
        ("Coins", "0002"): figures(available=6),
        ("Vouchers", "0002"): figures(available=1),
    }
    stars = next(r for r in report["rows"] if r["reward"].name == "Stars")
    assert (stars["available_value"], stars["reserved_value"], stars["pending_value"]) == (D("0.8"), D("0.3"), D("0.5"))
    assert stars["debt_value"] == D("1.0") and stars["outstanding_value"] == D("0.1")
    assert all(isinstance(stars[f"{k}_value"], Decimal) for k in FIGURES)
    (vouchers,) = [r for r in report["rows"] if r["reward"].name == "Vouchers"]
    assert vouchers["factor"] is None and vouchers["available_value"] is None


def test_totals_add_values_per_brand_and_amounts_per_reward(programme):
    report = liability_report()
    (coins,) = [r for r in report["rewards"] if r["reward"].name == "Coins"]
    assert coins["brands"] == 2 and coins["available"] == 10 and coins["available_value"] == D("2.5")
    brands = {b["brand_id"]: b for b in report["brands"]}
    assert brands["0001"]["available_value"] == D("1.8") and brands["0001"]["outstanding_value"] == D("1.1")
    assert brands["0002"]["available_value"] == D("1.5")
    assert brands["0002"]["unvalued"] == {str(programme["vouchers"].pk)}
    assert report["total"]["available_value"] == D("3.3") and report["total"]["outstanding_value"] == D("2.6")
    assert report["total"]["pending_value"] == D("0.5") and report["total"]["debt_value"] == D("1.0")


def test_the_report_reconciles_with_the_wallet_totals_now_and_after_the_dates_pass(programme):
    later = timezone.now() + timedelta(days=400)  # the stars' 12 months are over; the sweep has not run
    for now in (None, later):
        report = liability_report(now=now)
        for r in report["rewards"]:
            stored = WalletTotal.objects.filter(reward_id=r["reward_id"]).aggregate(
                b=Sum("balance"), r=Sum("reserved"), p=Sum("pending"), d=Sum("debt")
            )
            assert r["available"] + r["past_date"] - r["debt"] == stored["b"] - stored["r"]
            assert (r["reserved"], r["pending"], r["debt"]) == (stored["r"], stored["p"], stored["d"])
    assert by_key(liability_report(now=later))[("Stars", "0001")] == figures(
        reserved=3, pending=5, past_date=8, debt=10
    )


def test_a_brand_filter_keeps_that_brands_rows(programme):
    report = liability_report(brand_id="0002")
    assert set(by_key(report)) == {("Coins", "0002"), ("Vouchers", "0002")}
    assert set(by_key(liability_report(brand_id="0001"))) == {("Stars", "0001"), ("Coins", "0001")}


def test_the_command_prints_json_csv_and_a_table(programme):
    out, _err = run_command("liability_report", format="json")
    body = json.loads(out, parse_float=Decimal)
    rows = {(r["reward"], r["brand_id"]): r for r in body["rows"]}
    assert D(rows[("Stars", "0001")]["outstanding_value"]) == D("0.1")
    assert D(body["total"]["available_value"]) == D("3.3")
    out, _err = run_command("liability_report", "--brand", "0002", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert {(r["reward"], r["brand_id"], D(r["available"])) for r in parsed} == {
        ("Coins", "0002", 6),
        ("Vouchers", "0002", 1),
    }
    assert next(r for r in parsed if r["reward"] == "Vouchers")["available_value"] == ""
    out, _err = run_command("liability_report")
    assert "Stars" in out and "value total" in out and "without a conversion factor" in out


def test_the_command_refuses_an_unknown_brand(programme):
    with pytest.raises(CommandError, match="unknown brand"):
        run_command("liability_report", "--brand", "nope")


# ---- the admin page ------------------------------------------------------------------------------


def staff(client, *groups):
    user = User.objects.create_user("staff-" + str(len(groups)), password="pw", is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    client.force_login(user)
    return user


def test_read_only_support_sees_the_page_and_the_dashboard_link(programme, client):
    staff(client, "Support (read-only)")
    page = client.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Outstanding liability" in text and "Vouchers" in text and "all 2 brands" in text
    assert 'id="liability-link"' in client.get("/admin/").content.decode()


def test_staff_without_the_permission_get_a_403_and_no_link(programme, client):
    staff(client)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "?format=csv").status_code == 403
    assert 'id="liability-link"' not in client.get("/admin/").content.decode()


def test_anonymous_and_non_staff_users_are_sent_to_the_login(programme, client):
    assert client.get(URL).status_code == 302
    client.force_login(User.objects.create_user("clerk", password="pw"))
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_csv_download_is_the_report(programme, admin_client):
    response = admin_client.get(URL, {"format": "csv", "brand": "0001"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    parsed = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["reward"], r["brand_id"]) for r in parsed] == [("Coins", "0001"), ("Stars", "0001")]
    stars = parsed[1]
    assert (D(stars["available"]), D(stars["debt"]), D(stars["outstanding_value"])) == (8, 10, D("0.1"))
    assert admin_client.get(URL, {"brand": "nope"}).status_code == 404
