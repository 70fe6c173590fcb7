"""Welcome and birthday campaigns work (issue "A drop-in for Masivo integrations", item 5):
registering a customer (API, admin or command) records its REGISTRATION event in the same
transaction, so a REGISTRATION campaign pays the welcome bonus; the housekeeping records one
BIRTHDAY event per customer and year on the customer's birthday, guaranteed by a constraint."""

from datetime import date, datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.lifecycle import birthdays_record
from events.models import BirthdayGreeting, Event
from events.services import housekeeping_run
from tests.factories import CampaignFactory, CustomerFactory, fixed_rule
from tests.helpers import totals
from wallets.models import Customer
from wallets.services import customer_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def welcome(brand, stars):
    return CampaignFactory(brand=brand, trigger_id="REGISTRATION", rules=[fixed_rule(stars, amount=50)])


@pytest.fixture
def birthday_bonus(brand, stars):
    return CampaignFactory(brand=brand, trigger_id="BIRTHDAY", rules=[fixed_rule(stars, amount=25)])


def test_registering_through_the_api_pays_the_welcome_bonus(api, brand, stars, welcome):
    response = api.post("/customers", {"id": "new-1", "name": "Ann"})
    assert response.status_code == 201, response.content
    [event] = Event.objects.filter(customer_id="new-1")
    assert (event.type_id, event.status, event.brand_id) == ("REGISTRATION", "RESOLVED", "0001")
    assert totals(Customer.objects.get(pk="new-1"), stars)["total"] == 50
    assert response.json()["data"]["wallet"]["totals"][0]["total"] == 50  # the answer includes it


def test_registration_names_its_brand_or_takes_the_default(api, brand, stars, welcome, settings):
    from tests.factories import BrandFactory

    BrandFactory(id="0002")
    assert api.post("/customers", {"id": "at-2", "brand_id": "0002"}).status_code == 201
    assert Event.objects.get(customer_id="at-2").brand_id == "0002"
    settings.LOYALTY_DEFAULT_BRAND = "0001"
    assert api.post("/customers", {"id": "default"}).status_code == 201
    assert Event.objects.get(customer_id="default").brand_id == "0001"
    assert api.post("/customers", {"id": "nowhere", "brand_id": "0404"}).status_code == 404
    assert not Customer.objects.filter(pk="nowhere").exists()


def test_registering_by_command_or_service_records_the_event_too(brand, stars, welcome):
    customer_register(id="by-service")
    assert Event.objects.get(customer_id="by-service").type_id == "REGISTRATION"
    assert totals(Customer.objects.get(pk="by-service"), stars)["total"] == 50


def test_the_customer_and_its_event_are_one_transaction(brand, stars, welcome, monkeypatch):
    from events.services import emit as emit_module

    def broken(**kwargs):
        raise RuntimeError("the engine failed")

    monkeypatch.setattr(emit_module, "_apply_or_fail", lambda *a, **k: broken())
    with pytest.raises(RuntimeError):
        customer_register(id="half")
    assert not Customer.objects.filter(pk="half").exists() and not Event.objects.exists()


def test_a_programme_without_brands_registers_without_an_event(db):
    customer_register(id="lonely")
    assert Customer.objects.filter(pk="lonely").exists() and not Event.objects.exists()


def test_the_birthday_bonus_is_paid_once_a_year(brand, stars, birthday_bonus):
    today = timezone.localdate()
    born = CustomerFactory(id="born-today", dob=date(1990, today.month, min(today.day, 28)))
    CustomerFactory(id="other-day", dob=date(1990, 1 if today.month != 1 else 2, 1))
    on = datetime(today.year, today.month, min(today.day, 28), 12, tzinfo=timezone.get_current_timezone())

    assert birthdays_record(now=on) == 1
    assert birthdays_record(now=on) == 0  # a rerun, or a second worker
    assert Event.objects.filter(type_id="BIRTHDAY").count() == 1
    assert totals(born, stars)["total"] == 25
    with pytest.raises(IntegrityError), transaction.atomic():
        BirthdayGreeting.objects.create(customer=born, year=on.year)


def test_february_29_falls_on_february_28_in_other_years(brand, stars, birthday_bonus):
    leapling = CustomerFactory(id="leap", dob=date(2000, 2, 29))
    zone = timezone.get_current_timezone()
    assert birthdays_record(now=datetime(2027, 2, 28, 9, tzinfo=zone)) == 1
    assert birthdays_record(now=datetime(2028, 2, 28, 9, tzinfo=zone)) == 0  # 2028 has its own Feb 29
    assert birthdays_record(now=datetime(2028, 2, 29, 9, tzinfo=zone)) == 1
    assert totals(leapling, stars)["total"] == 50


def test_the_housekeeping_records_birthdays(brand, birthday_bonus):
    today = timezone.localdate()
    if (today.month, today.day) == (2, 29):
        pytest.skip("a Feb 29 birthday is tested above")
    CustomerFactory(id="born-today", dob=date(1990, today.month, today.day))
    assert housekeeping_run()["birthdays"] == 1
