"""What members and money announce (wallets.announce): a registration (with its welcome rewards),
an identification (with the id it had), lines expired by the periodic task, lines about to expire
(once per line); an imported customer announces nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.services import housekeeping_run
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, fixed_rule
from tests.helpers import emit, registration_of
from tests.webhooks.announced import body, data, deliveries, hook, names, queued, totals_of  # noqa: F401
from wallets.customers import customer_identify
from wallets.models import WalletLine
from wallets.services import customer_register, wallet_expire_due
from webhooks.models import ExpiryNotice, WebhookDelivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued")]

DAY = timedelta(days=1)


@pytest.fixture
def welcome(brand, stars):
    """A REGISTRATION campaign that pays 50 stars."""
    return CampaignFactory(brand=brand, trigger_id="REGISTRATION", rules=[fixed_rule(stars, amount=50)])


# ---- registration and identification ---------------------------------------------------------------


def test_a_registration_announces_the_customer_with_its_welcome_rewards(brand, stars, welcome):
    endpoint = hook("CUSTOMER_REGISTRATION")

    customer = customer_register(id="new-1", name="Ana", brand_id=brand.pk)

    [delivery] = deliveries(endpoint)
    assert delivery.brand_id == brand.pk
    registered = body(delivery)["data"]
    assert set(registered) == {"customer", "wallet"}
    assert (registered["customer"]["id"], registered["customer"]["name"]) == ("new-1", "Ana")
    assert registered["customer"]["is_anonymous"] is False
    assert totals_of(registered["wallet"]) == {str(stars.pk): 50}  # the welcome bonus is in the wallet
    assert [line["amount"] for line in registered["wallet"]["lines"]] == [50]
    assert registered["wallet"]["lines"][0]["event_id"] == str(registration_of(customer).pk)


def test_a_registration_also_announces_its_registration_event(brand, stars, welcome):
    endpoint = hook()

    customer_register(id="new-1", brand_id=brand.pk)

    assert names(endpoint) == ["BEHAVIOR_EVENT_FULFILLED", "CUSTOMER_ACCUMULATION", "CUSTOMER_REGISTRATION"]
    assert data(endpoint, "BEHAVIOR_EVENT_FULFILLED")["event"]["type"] == "REGISTRATION"


def test_a_registration_goes_to_its_brands_endpoints_only(brand, welcome):
    other = BrandFactory(id="0002")
    of_brand, of_other, of_all = (hook("CUSTOMER_REGISTRATION", brand=b) for b in (brand, other, None))

    customer_register(id="new-1", brand_id=brand.pk)

    assert names(of_brand) == names(of_all) == ["CUSTOMER_REGISTRATION"]
    assert names(of_other) == []


def test_an_imported_customer_announces_nothing(brand, welcome):
    hook()

    customer_register(id="imported-1", brand_id=brand.pk, record_event=False)

    assert WebhookDelivery.objects.count() == 0


def test_identifying_under_a_new_id_announces_it_with_the_previous_id(brand, stars, welcome):
    customer_register(id="anon-1", is_anonymous=True, brand_id=brand.pk)
    endpoint = hook("CUSTOMER_ANONYMOUS_TO_REGISTERED")

    customer_identify(customer_id="anon-1", new_id="ana@shop", name="Ana")

    identified = data(endpoint, "CUSTOMER_ANONYMOUS_TO_REGISTERED")
    assert set(identified) == {"customer", "wallet", "previous_id"}
    assert identified["previous_id"] == "anon-1"
    assert (identified["customer"]["id"], identified["customer"]["name"]) == ("ana@shop", "Ana")
    assert identified["customer"]["is_anonymous"] is False
    assert totals_of(identified["wallet"]) == {str(stars.pk): 50}  # the wallet followed the new id


def test_identifying_in_place_announces_the_same_id_as_previous(brand):
    customer_register(id="anon-1", is_anonymous=True)
    endpoint = hook("CUSTOMER_ANONYMOUS_TO_REGISTERED", "CUSTOMER_REGISTRATION")

    customer_identify(customer_id="anon-1", email="ana@example.com")

    assert names(endpoint) == ["CUSTOMER_ANONYMOUS_TO_REGISTERED"]
    identified = data(endpoint, "CUSTOMER_ANONYMOUS_TO_REGISTERED")
    assert identified["previous_id"] == identified["customer"]["id"] == "anon-1"


# ---- lines expiring and expired -------------------------------------------------------------------


def test_the_sweep_announces_the_lines_it_expired(brand, stars, customer):
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=5, expiration="5/days")])
    emit(customer, brand, value=1)
    [line] = WalletLine.objects.filter(wallet__customer=customer, expiration_date__isnull=False)
    endpoint = hook("REWARDS_EXPIRED")

    assert wallet_expire_due(now=timezone.now() + 4 * DAY) == 0
    assert names(endpoint) == []
    assert wallet_expire_due(now=timezone.now() + 6 * DAY) == 1

    [delivery] = deliveries(endpoint)
    assert delivery.brand_id == brand.pk
    expired = body(delivery)["data"]
    assert set(expired) == {"customer_id", "lines", "wallet"}
    assert expired["customer_id"] == "cust-1"
    assert [(x["id"], x["amount"], x["state"]) for x in expired["lines"]] == [(line.pk, 5, "EXPIRED")]
    assert totals_of(expired["wallet"]) == {str(stars.pk): 0}
    assert wallet_expire_due(now=timezone.now() + 7 * DAY) == 0
    assert len(deliveries(endpoint)) == 1


def test_the_housekeeping_announces_expired_lines_to_their_brand_only(brand, stars, customer):
    other = BrandFactory(id="0002")
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=5, expiration="5/days")])
    emit(customer, brand, value=1)
    of_brand, of_other = hook("REWARDS_EXPIRED", brand=brand), hook("REWARDS_EXPIRED", brand=other)

    assert housekeeping_run(now=timezone.now() + 6 * DAY)["lines_expired"] == 1

    assert names(of_brand) == ["REWARDS_EXPIRED"]
    assert names(of_other) == []


def test_lines_about_to_expire_are_announced_once_each(brand, stars, customer):
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=5, expiration="5/days")])
    emit(customer, brand, value=1)
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=7, expiration="30/days")])
    emit(customer, brand, value=1)  # 5 more expiring in 5 days, and 7 in 30 days
    soon = list(WalletLine.objects.filter(amount=5).order_by("id"))
    [later] = WalletLine.objects.filter(amount=7)
    endpoint = hook("REWARDS_EXPIRING")

    assert housekeeping_run()["expiring_announced"] == 2

    [delivery] = deliveries(endpoint)  # one wallet, one brand: one message for both lines
    expiring = body(delivery)["data"]
    assert [x["id"] for x in expiring["lines"]] == [x.pk for x in soon]
    assert [(x["amount"], x["state"]) for x in expiring["lines"]] == [(5, "AVAILABLE"), (5, "AVAILABLE")]
    assert totals_of(expiring["wallet"]) == {str(stars.pk): 17}
    assert later.pk not in {x["id"] for x in expiring["lines"]}  # 30 days out: past the 7-day notice

    assert housekeeping_run()["expiring_announced"] == 0  # announced already
    assert len(deliveries(endpoint)) == 1

    # 24 days on, the 5-day lines have expired and the 30-day one is within the notice
    assert housekeeping_run(now=timezone.now() + 24 * DAY)["expiring_announced"] == 1
    latest = body(deliveries(endpoint)[-1])["data"]
    assert [x["id"] for x in latest["lines"]] == [later.pk]
    assert ExpiryNotice.objects.count() == 3


def test_the_notice_window_is_the_setting(brand, stars, customer, settings):
    settings.LOYALTY_EXPIRING_NOTICE_DAYS = 3
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=5, expiration="5/days")])
    emit(customer, brand, value=1)
    endpoint = hook("REWARDS_EXPIRING")

    assert housekeeping_run()["expiring_announced"] == 0
    assert housekeeping_run(now=timezone.now() + 2 * DAY + timedelta(hours=1))["expiring_announced"] == 1
    assert names(endpoint) == ["REWARDS_EXPIRING"]


def test_nothing_about_expiring_lines_is_read_or_marked_while_nobody_listens(brand, stars, customer):
    CampaignFactory(brand=brand, rules=[fixed_rule(stars, amount=5, expiration="5/days")])
    emit(customer, brand, value=1)
    hook("REWARDS_EXPIRED")  # another name

    assert housekeeping_run()["expiring_announced"] == 0
    assert ExpiryNotice.objects.count() == 0  # a later subscriber still hears of the line
    endpoint = hook("REWARDS_EXPIRING")
    assert housekeeping_run()["expiring_announced"] == 1
    assert names(endpoint) == ["REWARDS_EXPIRING"]


def test_an_expiring_line_of_a_brand_is_announced_to_its_brand_only(db):
    a, b = BrandFactory(id="A"), BrandFactory(id="B")
    points_a, points_b = RewardFactory(brand=a), RewardFactory(brand=b)
    CampaignFactory(brand=a, rules=[fixed_rule(points_a, amount=5, expiration="5/days")])
    CampaignFactory(brand=b, rules=[fixed_rule(points_b, amount=9)])
    customer = CustomerFactory(record_event=False)
    emit(customer, a, value=1)
    emit(customer, b, value=1)
    of_a, of_b, of_all = (hook("REWARDS_EXPIRING", brand=x) for x in (a, b, None))

    assert housekeeping_run()["expiring_announced"] == 1

    assert names(of_a) == names(of_all) == ["REWARDS_EXPIRING"]
    assert names(of_b) == []
    [delivery] = deliveries(of_a)
    assert str(points_b.pk) not in delivery.body
    assert totals_of(body(delivery)["data"]["wallet"]) == {str(points_a.pk): 5}
    assert totals_of(data(of_all, "REWARDS_EXPIRING")["wallet"]) == {str(points_a.pk): 5, str(points_b.pk): 9}
