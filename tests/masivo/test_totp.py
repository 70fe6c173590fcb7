"""Customer one-time codes (issue "A drop-in for Masivo integrations", item 2): `POST /auth/totp`
answers a numeric code and its expiry; `GET /auth/totp/verify?code=` answers the customer, the
wallet and the metadata, once; an unknown, used or expired code is a 404 `code_not_found` (not a
401, which Masivo clients answer by re-authorising); wrong guesses are throttled per customer,
or per API key when no customer is named."""

from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test import Client
from django.utils import timezone

from campaigns.services import api_key_create
from events.codes import codes_purge
from events.models import CustomerCode
from events.services import housekeeping_run
from tests.factories import BrandFactory, CampaignFactory, RewardFactory, fixed_rule
from tests.helpers import assert_error, emit
from tests.races import race

pytestmark = pytest.mark.django_db


def _issue(api, customer_id="cust-1", metadata=None, status=201) -> dict:
    response = api.post("/auth/totp", {"customer_id": customer_id, "metadata": metadata or {"device": "kiosk-3"}})
    assert response.status_code == status, response.content
    return response.json()


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def _key_client(**create) -> Client:
    _key, raw = api_key_create(name="another", **create)
    return Client(HTTP_X_API_KEY=raw)


def test_a_code_is_issued_and_verified_once(api, customer, brand, star_campaign):
    emit(customer, brand, value=120)
    before = timezone.now()
    issued = _issue(api)["data"]
    assert set(issued) == {"code", "expired_at"}
    assert issued["code"].isdigit() and len(issued["code"]) == 6
    expires = timezone.datetime.fromisoformat(issued["expired_at"].replace("Z", "+00:00"))
    assert timedelta(seconds=299) <= expires - before <= timedelta(seconds=301)

    verified = api.get(f"/auth/totp/verify?code={issued['code']}").json()["data"]
    assert set(verified) == {"customer", "wallet", "metadata"}
    assert verified["customer"]["id"] == "cust-1" and verified["metadata"] == {"device": "kiosk-3"}
    assert verified["wallet"]["totals"][0]["total"] == 12
    assert_error(api.get(f"/auth/totp/verify?code={issued['code']}"), 404, "code_not_found")


def test_a_code_is_checked_against_the_customer_given(api, customer):
    code = _issue(api)["data"]["code"]
    assert_error(api.get(f"/auth/totp/verify?code={code}&customer_id=someone-else"), 404, "code_not_found")
    assert api.get(f"/auth/totp/verify?code={code}&customer_id=cust-1").status_code == 200


def test_a_code_answers_only_the_key_that_issued_it(api, customer):
    code = _issue(api)["data"]["code"]
    assert_error(_key_client().get(f"/api/v1/auth/totp/verify?code={code}"), 404, "code_not_found")
    assert api.get(f"/auth/totp/verify?code={code}").status_code == 200  # still live for its own key


def test_an_expired_or_unknown_code_is_404(api, customer):
    code = _issue(api)["data"]["code"]
    CustomerCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(api.get(f"/auth/totp/verify?code={code}"), 404, "code_not_found")
    assert_error(api.get("/auth/totp/verify?code=000000x"), 404, "code_not_found")


def test_a_query_that_cannot_hold_a_code_is_a_400(api, customer):
    assert_error(api.get("/auth/totp/verify"), 400, "validation_error", "code")
    assert_error(api.get("/auth/totp/verify?code="), 400, "validation_error", "code")
    assert_error(api.get("/auth/totp/verify?code=12%0034"), 400, "validation_error", "code")
    assert_error(api.get(f"/auth/totp/verify?code={'1' * 65}"), 400, "validation_error", "code")
    assert_error(api.get("/auth/totp/verify?code=123456&customer_id=a%00b"), 400, "validation_error", "customer_id")
    big = {"blob": "x" * 9000}
    assert_error(
        api.post("/auth/totp", {"customer_id": "cust-1", "metadata": big}), 400, "validation_error", "metadata"
    )
    assert not CustomerCode.objects.exists()


def test_the_digits_and_lifetime_are_settings(api, customer, settings):
    settings.LOYALTY_TOTP_DIGITS, settings.LOYALTY_TOTP_TTL = 8, 60
    issued = _issue(api)["data"]
    assert len(issued["code"]) == 8
    expires = timezone.datetime.fromisoformat(issued["expired_at"].replace("Z", "+00:00"))
    assert expires - timezone.now() <= timedelta(seconds=61)


def test_settings_a_code_cannot_hold_are_refused_at_startup(settings):
    settings.LOYALTY_TOTP_DIGITS, settings.LOYALTY_TOTP_TTL = 13, 0
    assert {"events.E001", "events.E002"} <= {message.id for message in run_checks()}


def test_an_unknown_customer_gets_no_code(api, db):
    assert_error(api.post("/auth/totp", {"customer_id": "nobody"}), 404, "customer_not_found")


def test_live_codes_are_unique(api, customer, settings):
    settings.LOYALTY_TOTP_DIGITS = 1  # ten codes in all
    later = timezone.now() + timedelta(minutes=5)
    CustomerCode.objects.bulk_create(
        [CustomerCode(customer=customer, code=str(n), expires_at=later) for n in range(10)]
    )
    assert_error(api.post("/auth/totp", {"customer_id": "cust-1"}), 503, "codes_exhausted")
    assert CustomerCode.objects.count() == 10

    CustomerCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    code = _issue(api)["data"]["code"]  # an expired code's value is free again
    assert CustomerCode.objects.filter(code=code, used_at__isnull=True).count() == 1
    assert CustomerCode.objects.filter(code=code, used_at__isnull=False).count() == 1  # the expired one, spent


def test_wrong_guesses_are_throttled_per_customer(api, customer, settings):
    settings.LOYALTY_TOTP_GUESS_RATE = "3/day"
    code = _issue(api)["data"]["code"]
    for _ in range(3):
        assert_error(api.get(f"/auth/totp/verify?code={_wrong(code)}&customer_id=cust-1"), 404, "code_not_found")
    response = api.get(f"/auth/totp/verify?code={code}&customer_id=cust-1")  # the right code
    assert_error(response, 429, "throttled")  # even the right code waits for the window to end
    assert int(response["Retry-After"]) > 0
    assert CustomerCode.objects.get().used_at is None
    # another customer's budget is its own
    api.post("/customers", {"id": "cust-2"})
    other = _issue(api, customer_id="cust-2")["data"]["code"]
    assert api.get(f"/auth/totp/verify?code={other}&customer_id=cust-2").status_code == 200


def test_right_codes_do_not_count_as_wrong_guesses(api, customer, settings):
    settings.LOYALTY_TOTP_GUESS_RATE = "2/day"
    for _ in range(5):
        code = _issue(api)["data"]["code"]
        assert api.get(f"/auth/totp/verify?code={code}&customer_id=cust-1").status_code == 200


def test_without_a_customer_wrong_guesses_are_throttled_per_key(api, customer, settings):
    settings.LOYALTY_TOTP_GUESS_RATE = "3/day"
    code = _issue(api)["data"]["code"]
    for _ in range(3):
        assert_error(api.get(f"/auth/totp/verify?code={_wrong(code)}"), 404, "code_not_found")
    assert_error(api.get(f"/auth/totp/verify?code={code}"), 429, "throttled")
    other_key = _key_client()
    own = other_key.post("/api/v1/auth/totp", {"customer_id": "cust-1"}, content_type="application/json")
    assert other_key.get(f"/api/v1/auth/totp/verify?code={own.json()['data']['code']}").status_code == 200


def test_a_restricted_key_sees_its_brands_part_of_the_wallet(customer, brand, star_campaign):
    other = BrandFactory(id="0002")
    theirs = RewardFactory(brand=other, name="Theirs")
    CampaignFactory(brand=other, rules=[fixed_rule(theirs, amount=5)])
    emit(customer, other, value=10)
    emit(customer, brand, value=120)
    shop = _key_client(brand_ids=["0001"])
    code = shop.post("/api/v1/auth/totp", {"customer_id": "cust-1"}, content_type="application/json").json()
    verified = shop.get(f"/api/v1/auth/totp/verify?code={code['data']['code']}").json()["data"]
    assert [t["total"] for t in verified["wallet"]["totals"]] == [12]
    assert set(verified["customer"]["metrics"]["lifetime"]["events"]) <= {"PURCHASE", "REGISTRATION"}
    assert verified["customer"]["metrics"]["lifetime"]["events"]["PURCHASE"] == 1  # not the other brand's


def test_used_and_expired_codes_are_purged_by_the_housekeeping(api, customer):
    used = _issue(api)["data"]["code"]
    api.get(f"/auth/totp/verify?code={used}")
    _issue(api)
    live = _issue(api)["data"]["code"]
    CustomerCode.objects.exclude(code__in=[used, live]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert housekeeping_run()["codes_purged"] == 2
    assert list(CustomerCode.objects.values_list("code", flat=True)) == [live]
    assert codes_purge() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as tests/events/test_concurrency.py
@pytest.mark.skipif(connection.vendor != "postgresql", reason="racing threads need PostgreSQL's row locks")
def test_two_verifies_of_one_code_racing_exactly_one_wins(api, customer, settings):
    settings.LOYALTY_TOTP_GUESS_RATE = ""  # the losers are wrong guesses: no limit in this race
    for _ in range(3):  # several rounds, each a fresh code and eight verifies released together
        code = _issue(api)["data"]["code"]
        verify = f"/api/v1/auth/totp/verify?code={code}"
        outcomes = race(*[lambda path=verify: Client(**api.headers).get(path)] * 8)
        assert sorted(response.status_code for _kind, response in outcomes) == [200] + [404] * 7, outcomes
        assert CustomerCode.objects.filter(code=code, used_at__isnull=False).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="racing threads need PostgreSQL's row locks")
def test_parallel_wrong_guesses_cannot_overrun_the_limit(api, customer, settings):
    settings.LOYALTY_TOTP_GUESS_RATE = "3/day"
    code = _issue(api)["data"]["code"]
    guess = f"/api/v1/auth/totp/verify?code={_wrong(code)}&customer_id=cust-1"
    outcomes = race(*[lambda: Client(**api.headers).get(guess)] * 8)
    assert sorted(response.status_code for _kind, response in outcomes) == [404] * 3 + [429] * 5, outcomes


def test_a_codes_metadata_is_bounded(api, customer):
    response = api.post("/auth/totp", {"customer_id": customer.pk, "metadata": {"note": "x" * 8192}})
    assert_error(response, 400, "validation_error", named="metadata")
    assert not CustomerCode.objects.exists()
