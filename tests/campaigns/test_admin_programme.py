"""The programme's admin writes through the services, as the API does: the service's refusals
are form errors (or error messages, for deletes), nothing is stored then, and every manual save
or delete is one audit entry. Forms are posted as a browser posts them (`browser_form`: the
change page's own fields, hidden initials included), so that a test can tell "refuses changed
rules" from "refuses every save"."""

import json
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from campaigns.models import Brand, Campaign, EventType, Reward, Tier
from campaigns.services import campaign_update, tier_create
from tests.factories import fixed_rule
from tests.helpers import emit

pytestmark = pytest.mark.django_db


class _Fields(HTMLParser):
    """The fields a browser submits from the form with this id: inputs (checked boxes only),
    textareas, selected options; no submit button."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.data = form_id, False, {}
        self._textarea = self._select = None

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        elif not self.inside or "name" not in a and tag != "option":
            return
        elif tag == "input" and a.get("type", "text") not in ("submit", "button", "image", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self._add(a["name"], a.get("value") or ("on" if a.get("type") == "checkbox" else ""))
        elif tag == "textarea":
            self._textarea = [a["name"], ""]
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self._add(name, text[1:] if text.startswith("\n") else text)  # browsers drop that newline
            self._textarea = None
        elif tag == "select":
            self._select = None


def browser_form(client, url, **changes):
    """GET the admin page at `url` and return what submitting its form posts, with `changes`."""
    response = client.get(url)
    assert response.status_code == 200, response.content
    model = response.context["opts"].model_name
    parser = _Fields(f"{model}_form")
    parser.feed(response.content.decode())
    data = {name: values if len(values) > 1 else values[0] for name, values in parser.data.items()}
    return {**data, **changes}


def errors_of(response) -> dict:
    """The form's errors ({field or "__all__": [text]}), or the page when the save went through."""
    assert response.status_code == 200, f"saved: {response.status_code} {response.get('Location')}"
    form = response.context["adminform"].form
    return {name: [str(e) for e in errs] for name, errs in form.errors.items()}


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# ---- campaigns ------------------------------------------------------------------------------------


def test_admin_refuses_a_rule_the_engine_would_refuse(admin_client, star_campaign):
    Campaign.objects.filter(pk=star_campaign.pk).update(
        status=Campaign.Status.INACTIVE, was_active=False, start_date=timezone.now() + timedelta(days=3)
    )
    bad = '[{"conditions": [[{"field": "order.nope", "operator": "eq", "value": 1}]], "effects": []}]'
    url = change_url(star_campaign)
    errors = errors_of(admin_client.post(url, browser_form(admin_client, url, rules=bad)))
    assert "unknown field" in " ".join(errors["rules"])
    star_campaign.refresh_from_db()
    assert star_campaign.rules[0]["conditions"][0][0]["field"] == "order.value"
    assert not AuditEntry.objects.exists()


def test_admin_refuses_to_change_the_rules_of_a_started_campaign(admin_client, star_campaign, stars):
    url = change_url(star_campaign)
    new_rules = json.dumps([fixed_rule(stars, amount=99)])
    errors = errors_of(admin_client.post(url, browser_form(admin_client, url, rules=new_rules)))
    assert "has started" in " ".join(errors["__all__"])
    star_campaign.refresh_from_db()
    assert star_campaign.rules[0]["effects"][0]["kind"] == "PER_VALUE"
    assert not AuditEntry.objects.exists()


def test_a_started_campaigns_name_status_end_and_budget_are_edited_from_the_admin(admin_client, star_campaign):
    url, old_name = change_url(star_campaign), star_campaign.name
    end = timezone.now() + timedelta(days=30)
    data = browser_form(
        admin_client,
        url,
        name="Stars, summer",
        status="INACTIVE",
        end_date_0=end.strftime("%Y-%m-%d"),
        end_date_1="12:00:00",
        budget="1000",
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    star_campaign.refresh_from_db()
    assert (star_campaign.name, star_campaign.status, star_campaign.budget) == ("Stars, summer", "INACTIVE", 1000)
    assert star_campaign.end_date.date() == end.date()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.source, entry.actor_name, entry.object_id) == (
        "campaign.update",
        "admin",
        "admin",
        str(star_campaign.pk),
    )
    assert (entry.before["name"], entry.after["name"]) == (old_name, "Stars, summer")
    assert entry.after["budget"] == 1000 and entry.before["budget"] is None


def test_a_budget_below_what_the_campaign_already_granted_is_a_form_error(admin_client, star_campaign, customer, brand):
    emit(customer, brand, value=120)  # 12 stars
    url = change_url(star_campaign)
    errors = errors_of(admin_client.post(url, browser_form(admin_client, url, budget="5")))
    assert "already granted (12" in " ".join(errors["budget"])
    star_campaign.refresh_from_db()
    assert star_campaign.budget is None and not AuditEntry.objects.exists()
    assert admin_client.post(url, browser_form(admin_client, url, budget="12")).status_code == 302
    star_campaign.refresh_from_db()
    assert (star_campaign.budget, star_campaign.budget_used) == (12, 12)


def test_a_campaign_added_in_the_admin_is_made_by_the_service_with_rule_ids(admin_client, brand, stars):
    url = reverse("admin:campaigns_campaign_add")
    start = timezone.now() + timedelta(days=1)
    data = browser_form(
        admin_client,
        url,
        brand=brand.pk,
        name="Welcome",
        trigger="PURCHASE",
        start_date_0=start.strftime("%Y-%m-%d"),
        start_date_1="00:00:00",
        rules=json.dumps([fixed_rule(stars, amount=5)]),
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get(name="Welcome")
    assert campaign.rules[0]["id"] and campaign.was_active
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.before) == ("campaign.create", str(campaign.pk), None)


def test_a_started_campaign_is_not_deleted_from_the_admin(admin_client, star_campaign):
    url = reverse("admin:campaigns_campaign_delete", args=[star_campaign.pk])
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert any("deactivate it instead" in m for m in message_texts(response))
    assert Campaign.objects.filter(pk=star_campaign.pk).exists() and not AuditEntry.objects.exists()


# ---- rewards ---------------------------------------------------------------------------------------


def test_a_rewards_type_and_decimals_are_read_only_once_it_exists(admin_client, stars):
    url = change_url(stars)
    data = browser_form(admin_client, url)
    assert "type" not in data and "decimals" not in data and "brand" not in data
    assert (
        admin_client.post(url, {**data, "name": "Gold stars", "type": "DISCOUNT", "decimals": "3"}).status_code == 302
    )
    stars.refresh_from_db()
    assert (stars.name, stars.type, stars.decimals) == ("Gold stars", "POINTS", 0)
    assert AuditEntry.objects.get().action == "reward.update"


def test_a_conversion_factor_the_service_refuses_is_a_form_error_and_stores_nothing(admin_client, brand):
    url = reverse("admin:campaigns_reward_add")
    data = browser_form(
        admin_client, url, brand=brand.pk, name="Coins", type="POINTS", attributes='{"conversion_factor": "abc"}'
    )
    errors = errors_of(admin_client.post(url, data))
    assert "conversion_factor" in " ".join(errors["attributes"])
    assert not Reward.objects.filter(name="Coins").exists() and not AuditEntry.objects.exists()
    response = admin_client.post(url, {**data, "attributes": '{"conversion_factor": "0.5"}'})
    assert response.status_code == 302, errors_of(response)
    assert Reward.objects.get(name="Coins").attributes == {"conversion_factor": "0.5"}
    assert AuditEntry.objects.get().action == "reward.create"


def test_a_change_of_attributes_is_validated_by_the_service(admin_client, stars):
    url = change_url(stars)
    errors = errors_of(admin_client.post(url, browser_form(admin_client, url, attributes='{"conversion_factor": -1}')))
    assert "conversion_factor" in " ".join(errors["attributes"])


# ---- tiers ------------------------------------------------------------------------------------------


def test_the_base_tier_is_not_deleted_from_the_admin(admin_client):
    base = Tier.objects.get(level=1)
    response = admin_client.post(reverse("admin:campaigns_tier_delete", args=[base.pk]), {"post": "yes"}, follow=True)
    assert any("base tier cannot be deleted" in m for m in message_texts(response))
    assert Tier.objects.filter(pk=base.pk).exists() and not AuditEntry.objects.exists()


def test_delete_selected_deletes_through_the_service_one_by_one(admin_client):
    base, gold = Tier.objects.get(level=1), tier_create(name="Gold", level=3)
    response = admin_client.post(
        reverse("admin:campaigns_tier_changelist"),
        {"action": "delete_selected", "_selected_action": [base.pk, gold.pk], "post": "yes"},
        follow=True,
    )
    texts = message_texts(response)
    assert any("base tier cannot be deleted" in m for m in texts) and any("1 tier" in m for m in texts)
    assert list(Tier.objects.values_list("level", flat=True)) == [1]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.after) == ("tier.delete", str(gold.pk), None)


def test_a_tier_condition_the_engine_refuses_is_a_form_error(admin_client):
    url = reverse("admin:campaigns_tier_add")
    bad = '[[{"field": "customer.tier_level", "operator": "gte", "value": 1}]]'
    errors = errors_of(
        admin_client.post(url, browser_form(admin_client, url, name="Gold", level="2", entry_conditions=bad))
    )
    assert "entry_conditions" in errors and not Tier.objects.filter(level=2).exists()
    base = Tier.objects.get(level=1)
    errors = errors_of(admin_client.post(change_url(base), browser_form(admin_client, change_url(base), level="4")))
    assert "base tier stays at level 1" in " ".join(errors["level"])


# ---- event types and brands ------------------------------------------------------------------------------


def test_purchase_cannot_become_tracking_only_from_the_admin(admin_client, star_campaign):
    url = reverse("admin:campaigns_eventtype_change", args=["PURCHASE"])
    errors = errors_of(admin_client.post(url, browser_form(admin_client, url, tracking_only="on")))
    assert "tracking_only" in errors
    assert EventType.objects.get(pk="PURCHASE").tracking_only is False


def test_a_custom_event_type_in_use_by_a_campaign_stays_a_loyalty_type(admin_client, star_campaign):
    survey = EventType.objects.create(name="SURVEY")
    Campaign.objects.filter(pk=star_campaign.pk).update(trigger=survey)
    url = change_url(survey)
    errors = errors_of(admin_client.post(url, browser_form(admin_client, url, tracking_only="on")))
    assert "cannot become tracking-only" in " ".join(errors["tracking_only"])
    response = admin_client.post(reverse("admin:campaigns_eventtype_delete", args=["PURCHASE"]), {"post": "yes"})
    assert EventType.objects.filter(pk="PURCHASE").exists() and response.status_code == 302


def test_brands_are_saved_and_deleted_through_the_services_and_audited(admin_client):
    url = reverse("admin:campaigns_brand_add")
    assert admin_client.post(url, browser_form(admin_client, url, id="0009", name="Bakery")).status_code == 302
    errors = errors_of(admin_client.post(url, browser_form(admin_client, url, id="0009", name="Again")))
    assert "id" in errors
    brand = Brand.objects.get(pk="0009")
    data = browser_form(admin_client, change_url(brand), name="Bakery & Co")
    assert "id" not in data
    assert admin_client.post(change_url(brand), data).status_code == 302
    admin_client.post(reverse("admin:campaigns_brand_delete", args=["0009"]), {"post": "yes"})
    assert not Brand.objects.filter(pk="0009").exists()
    assert list(AuditEntry.objects.order_by("at", "id").values_list("action", flat=True)) == [
        "brand.create",
        "brand.update",
        "brand.delete",
    ]


def test_the_campaign_list_shows_what_runs_now_and_the_budget_left(admin_client, star_campaign, customer, brand):
    campaign_update(campaign_id=star_campaign.pk, budget=Decimal("100"))
    emit(customer, brand, value=120)  # 12 stars granted

    page = admin_client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()

    assert '<td class="field-running">RUNNING</td>' in page
    assert '<td class="field-budget_used">12.0000</td>' in page and '<td class="field-budget_left">88.0000</td>' in page
