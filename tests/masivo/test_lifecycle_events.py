"""Welcome and birthday campaigns work (issue "A drop-in for Masivo integrations", item 5):
registering a customer (API, admin or command) records its REGISTRATION event in the same
transaction, so a REGISTRATION campaign pays the welcome bonus; the housekeeping records one
BIRTHDAY event per customer and year on the customer's birthday, guaranteed by a constraint."""

import json
from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from campaigns.services import api_key_create, brand_create, brand_delete
from events.lifecycle import birthdays_record
from events.models import BirthdayGreeting, Event
from events.services import housekeeping_run
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, fixed_rule
from tests.helpers import assert_error, registration_of, totals
from tests.races import kinds, race
from wallets.models import Customer
from wallets.services import customer_register

pytestmark = pytest.mark.django_db


def _key_client(*brands) -> Client:
    """A key restricted to `brands`; none: one that lost its last brand."""
    if not brands:
        brand_create(id="0099", name="Short-lived")
        _key, raw = api_key_create(name="shop", brand_ids=["0099"])
        brand_delete(brand_id="0099")
    else:
        _key, raw = api_key_create(name="shop", brand_ids=list(brands))
    return Client(HTTP_X_API_KEY=raw)


def _register(client: Client, customer_id: str, **body):
    return client.post("/api/v1/customers", json.dumps({"id": customer_id, **body}), content_type="application/json")


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


def test_registering_in_the_admin_records_the_wallet_and_the_event(admin_client, brand, stars, welcome):
    response = admin_client.post(
        "/admin/wallets/customer/add/",
        {
            "id": "walk-in",
            "name": "Walk In",
            "email": "",
            "status": "ACTIVE",
            "registration_date_0": timezone.localdate().isoformat(),
            "registration_date_1": "09:00:00",
            "tags": "{}",
            "metadata": "{}",
        },
    )
    assert response.status_code == 302, response.content
    customer = Customer.objects.get(pk="walk-in")
    assert customer.wallet and registration_of(customer).brand_id == "0001"
    assert totals(customer, stars)["total"] == 50
    refused = admin_client.post("/admin/wallets/customer/add/", {"id": "a/b", "status": "ACTIVE"})
    assert refused.status_code == 200 and not Customer.objects.filter(pk="a/b").exists()  # a form error


def test_a_restricted_key_registers_at_its_own_brand(brand, stars, welcome, settings):
    BrandFactory(id="0002")
    BrandFactory(id="0003")
    only_two = _key_client("0002")
    assert _register(only_two, "at-two").status_code == 201
    assert registration_of(Customer.objects.get(pk="at-two")).brand_id == "0002"
    refused = _register(only_two, "elsewhere", brand_id="0001")
    assert_error(refused, 403, "permission_denied")
    assert not Customer.objects.filter(pk="elsewhere").exists()

    two_and_three = _key_client("0002", "0003")
    _register(two_and_three, "first-of-its-brands")
    assert registration_of(Customer.objects.get(pk="first-of-its-brands")).brand_id == "0002"
    settings.LOYALTY_DEFAULT_BRAND = "0003"
    _register(two_and_three, "at-the-default")
    assert registration_of(Customer.objects.get(pk="at-the-default")).brand_id == "0003"

    no_brand = _key_client()  # restricted, left with no brand: registers, but records nothing
    assert _register(no_brand, "no-event").status_code == 201
    assert not Event.objects.filter(customer_id="no-event").exists()


def test_a_registration_dated_in_the_past_is_issued_then(brand, stars, welcome):
    customer = customer_register(id="imported", registration_date=datetime(2019, 5, 17, 12, tzinfo=UTC))
    event = registration_of(customer)
    assert event.issued_at == datetime(2019, 5, 17, 12, tzinfo=UTC) and event.status == "RESOLVED"
    assert totals(customer, stars)["total"] == 0  # the welcome campaign started in 2020


def test_the_registration_counts_in_the_metrics(api, brand, welcome):
    api.post("/customers", {"id": "new-1"})
    lifetime = api.get("/customers/new-1").json()["data"]["customer"]["metrics"]["lifetime"]
    assert lifetime["events"] == {"REGISTRATION": 1} and lifetime["last_visit"] is not None


def test_inactive_customers_get_no_birthday_event(brand, birthday_bonus):
    on = datetime(2027, 6, 1, 12, tzinfo=timezone.get_current_timezone())
    CustomerFactory(id="gone", dob=date(1990, 6, 1), status="INACTIVE")
    assert birthdays_record(now=on) == 0 and not Event.objects.filter(type_id="BIRTHDAY").exists()


def test_birthdays_are_recorded_in_bounded_batches(brand, birthday_bonus):
    on = datetime(2027, 6, 1, 12, tzinfo=timezone.get_current_timezone())
    for n in range(3):
        CustomerFactory(id=f"june-{n}", dob=date(1990 + n, 6, 1))
    assert birthdays_record(now=on, batch_size=2) == 2
    assert birthdays_record(now=on, batch_size=2) == 1  # the next run takes the rest
    assert birthdays_record(now=on, batch_size=2) == 0
    assert Event.objects.filter(type_id="BIRTHDAY").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="racing workers need PostgreSQL's row locks")
def test_two_workers_recording_birthdays_at_once_pay_each_customer_once(brand, stars, birthday_bonus):
    on = datetime(2027, 6, 1, 12, tzinfo=timezone.get_current_timezone())
    born = [CustomerFactory(id=f"june-{n}", dob=date(1990, 6, 1)) for n in range(10)]
    outcomes = race(*[lambda: birthdays_record(now=on)] * 3)
    assert kinds(outcomes) == {"ok": 3}, outcomes
    assert sum(value for _kind, value in outcomes) == 10  # shared out, none twice
    assert Event.objects.filter(type_id="BIRTHDAY").count() == 10
    assert [totals(customer, stars)["total"] for customer in born] == [25] * 10
