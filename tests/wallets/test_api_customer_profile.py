"""The customer as Masivo has it (issue "A drop-in for Masivo integrations", item 4): the profile
fields at registration and in PATCH, tags upserted and removed, consent read and changed, and what
a brand-restricted key may do with them. The re-key of an anonymous customer is in
test_customer_rekey.py; consent in the engine in tests/events/test_consent.py."""

import pytest
from django.test import Client

from campaigns.services import api_key_create
from tests.helpers import assert_error
from wallets.models import Customer

pytestmark = pytest.mark.django_db

PURPOSES = (
    "behavioral_campaigns",
    "coupon_campaigns",
    "punchcard_campaigns",
    "email_marketing",
    "push_notifications",
    "link_tracking",
)
ALL_ALLOWED = dict.fromkeys(PURPOSES, True)

# Masivo's registration example, every field (`devices` is one this engine does not keep)
MASIVO_REGISTRATION = {
    "id": "masivo-9",
    "platforms": ["WEB", "APP"],
    "is_anonymous": False,
    "name": "John Smith",
    "email": "john@example.com",
    "gender": "MALE",
    "dob": "1990-05-17T05:31:56Z",
    "document_type": "CC",
    "document_number": "1020304050",
    "country": "Colombia",
    "registration_date": "2026-01-07T05:31:56Z",
    "tags": {"vip": True},
    "devices": [{"device_token": "abc", "device_info": {"platform": "ios"}}],
    "consent": {
        "consent_string": "COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA",
        "version": "2.0",
        "consent_timestamp": "2026-01-07T05:31:56Z",
        "customer_id": "masivo-9",
        "purposes": {**ALL_ALLOWED, "push_notifications": False},
        "vendors": {"vendor_123": True, "vendor_456": False},
    },
    "metadata": {"source": "app"},
    "referral_code": "FRIEND-42",
}


def delete(api, path, body=None):
    return api._call("delete", path, body)


def restricted_client(brand) -> Client:
    _key, raw = api_key_create(name="restricted", brand_ids=[brand.pk])
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def json_call(client: Client, method: str, path: str, body=None):
    import json

    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


# ---- registration and reading ---------------------------------------------------------------------------


def test_registration_keeps_every_masivo_field_and_answers_it(api):
    response = api.post("/customers", MASIVO_REGISTRATION)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body["data"]) == {"customer", "wallet"}
    assert body["warnings"] == [{"field": "devices", "message": "unknown field, ignored"}]
    customer = body["data"]["customer"]
    assert {key: customer[key] for key in ("gender", "dob", "document_type", "document_number", "country")} == {
        "gender": "MALE",
        "dob": "1990-05-17",  # the date as written, whatever the time beside it
        "document_type": "CC",
        "document_number": "1020304050",
        "country": "Colombia",
    }
    assert customer["platforms"] == ["WEB", "APP"]
    assert customer["is_anonymous"] is False and customer["referral_code"] == "FRIEND-42"
    assert customer["consent"] == {
        "customer_id": "masivo-9",
        "purposes": {**ALL_ALLOWED, "push_notifications": False},
        "vendors": {"vendor_123": True, "vendor_456": False},
        "consent_string": "COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA",
        "version": "2.0",
        "consent_timestamp": "2026-01-07T05:31:56Z",
    }
    assert api.get("/customers/masivo-9").json()["data"]["customer"] == customer


def test_a_customer_without_a_profile_answers_nulls_and_every_purpose_allowed(api, customer):
    data = api.get(f"/customers/{customer.pk}").json()["data"]["customer"]
    assert {
        key: data[key] for key in ("gender", "dob", "document_type", "document_number", "country")
    } == dict.fromkeys(("gender", "dob", "document_type", "document_number", "country"))
    assert data["platforms"] == [] and data["is_anonymous"] is False and data["referral_code"] is None
    assert data["consent"] == {
        "customer_id": customer.pk,
        "purposes": ALL_ALLOWED,
        "vendors": {},
        "consent_string": None,
        "version": None,
        "consent_timestamp": None,  # nothing recorded
    }


def test_an_anonymous_customer_registers_with_its_id_alone(api):
    response = api.post("/customers", {"id": "anon-1", "is_anonymous": True})
    assert response.status_code == 201, response.content
    data = response.json()["data"]["customer"]
    assert data["is_anonymous"] is True and data["name"] == "" and data["email"] == ""


def test_a_date_of_birth_is_a_day_and_platforms_are_kept_once_each(api):
    response = api.post("/customers", {"id": "c-dob", "dob": "2000-02-29", "platforms": ["POS", "WEB", "POS"]})
    assert response.status_code == 201, response.content
    assert Customer.objects.get(pk="c-dob").dob.isoformat() == "2000-02-29"
    assert response.json()["data"]["customer"]["platforms"] == ["POS", "WEB"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"gender": "male"}, "gender"),
        ({"gender": "OTHER"}, "gender"),
        ({"gender": 1}, "gender"),
        ({"dob": "1990-13-01"}, "dob"),
        ({"dob": "17/05/1990"}, "dob"),
        ({"dob": "19900517"}, "dob"),
        ({"dob": 19900517}, "dob"),
        ({"dob": "2999-01-01"}, "dob"),  # in the future
        ({"dob": "1899-12-31"}, "dob"),
        ({"dob": "1990-05-17T25:00:00Z"}, "dob"),
        ({"document_type": "CC"}, "document_number"),
        ({"document_number": "123"}, "document_type"),
        ({"document_type": "CC", "document_number": "1" * 51}, "document_number"),
        ({"country": "x" * 101}, "country"),
        ({"country": 57}, "country"),
        ({"platforms": "WEB"}, "platforms"),
        ({"platforms": [f"P{n}" for n in range(21)]}, "platforms"),
        ({"platforms": [""]}, "platforms[0]"),
        ({"platforms": [1]}, "platforms[0]"),
        ({"platforms": ["x" * 256]}, "platforms[0]"),
        ({"is_anonymous": "true"}, "is_anonymous"),
        ({"referral_code": "R" * 256}, "referral_code"),
        ({"consent": "yes"}, "consent"),
        ({"consent": None}, "consent"),
        ({"consent": {"purposes": {"email_marketing": "no"}}}, "consent.purposes.email_marketing"),
        ({"consent": {"vendors": {"meta": "yes"}}}, "consent.vendors.meta"),
        ({"consent": {"vendors": {f"v{n}": True for n in range(101)}}}, "consent.vendors"),
        ({"consent": {"vendors": {"v" * 101: True}}}, "consent.vendors"),
        ({"consent": {"consent_timestamp": "2026-01-07T05:31:56"}}, "consent.consent_timestamp"),
        ({"consent": {"consent_string": "c" * 4097}}, "consent.consent_string"),
        ({"consent": {"customer_id": "someone-else"}}, "consent.customer_id"),
        ({"tags": {f"t{n}": n for n in range(501)}}, "tags"),
        ({"tags": {"t" * 256: 1}}, "tags"),
    ],
)
def test_bad_profile_input_is_a_400_naming_the_field_and_stores_nothing(api, extra, named):
    assert_error(api.post("/customers", {"id": "c-bad", "name": "X", **extra}), 400, "validation_error", named)
    assert not Customer.objects.filter(pk="c-bad").exists()


# ---- PATCH ------------------------------------------------------------------------------------------------


def test_patch_changes_the_profile_and_null_clears_it(api, customer):
    body = {
        "gender": "FEMALE",
        "dob": "1985-11-30",
        "document_type": "DNI",
        "document_number": "X-1",
        "country": "MX",
        "platforms": ["APP"],
        "referral_code": "R-1",
    }
    response = api.patch(f"/customers/{customer.pk}", body)
    assert response.status_code == 200, response.content
    data = response.json()["data"]["customer"]
    assert {key: data[key] for key in body} == body
    cleared = {"gender": None, "dob": None, "document_type": None, "document_number": "", "country": None}
    response = api.patch(f"/customers/{customer.pk}", {**cleared, "platforms": [], "referral_code": None})
    assert response.status_code == 200, response.content
    data = response.json()["data"]["customer"]
    assert {key: data[key] for key in cleared} == dict.fromkeys(cleared)
    assert data["platforms"] == [] and data["referral_code"] is None
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.gender, stored.dob, stored.document_type, stored.document_number) == ("", None, "", "")


def test_one_document_field_changes_alone_but_never_leaves_the_other_half(api, customer):
    api.patch(f"/customers/{customer.pk}", {"document_type": "CC", "document_number": "1"})
    assert api.patch(f"/customers/{customer.pk}", {"document_number": "2"}).status_code == 200
    assert_error(
        api.patch(f"/customers/{customer.pk}", {"document_type": None}), 400, "validation_error", "document_type"
    )
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.document_type, stored.document_number) == ("CC", "2")


def test_patch_records_consent_and_marks_a_customer_anonymous_or_not(api, customer):
    response = api.patch(f"/customers/{customer.pk}", {"consent": {"purposes": {"link_tracking": False}}})
    assert response.status_code == 200, response.content
    assert response.json()["data"]["customer"]["consent"]["purposes"] == {**ALL_ALLOWED, "link_tracking": False}
    assert api.patch(f"/customers/{customer.pk}", {"is_anonymous": True}).json()["data"]["customer"]["is_anonymous"]


# ---- tags -------------------------------------------------------------------------------------------------


def test_tags_are_upserted_and_removed_by_key(api):
    api.post("/customers", {"id": "c-tags", "tags": {"vip": True, "city": "CDMX"}})
    response = api.patch("/customers/c-tags/tags", {"tags": {"city": "GDL", "level": 2}})
    assert response.status_code == 200, response.content
    assert set(response.json()["data"]) == {"customer", "wallet"}
    assert response.json()["data"]["customer"]["tags"] == {"vip": True, "city": "GDL", "level": 2}

    response = delete(api, "/customers/c-tags/tags", {"tags": ["vip", "never-set"]})
    assert response.status_code == 200, response.content
    assert response.json()["data"]["customer"]["tags"] == {"city": "GDL", "level": 2}
    assert Customer.objects.get(pk="c-tags").tags == {"city": "GDL", "level": 2}


@pytest.mark.parametrize(
    ("method", "body", "named"),
    [
        ("patch", {}, "tags"),
        ("patch", {"tags": ["vip"]}, "tags"),
        ("patch", {"tags": {f"t{n}": n for n in range(501)}}, "tags"),
        ("patch", {"tags": {"": 1}}, "tags"),
        ("delete", {}, "tags"),
        ("delete", {"tags": "vip"}, "tags"),
        ("delete", {"tags": [1]}, "tags[0]"),
        ("delete", {"tags": ["t" * 256]}, "tags[0]"),
        ("delete", {"tags": [f"t{n}" for n in range(501)]}, "tags"),
    ],
)
def test_a_bad_tags_body_is_a_400(api, customer, method, body, named):
    call = api.patch if method == "patch" else lambda path, body: delete(api, path, body)
    assert_error(call(f"/customers/{customer.pk}/tags", body), 400, "validation_error", named)


def test_a_customer_holds_at_most_500_tags(api, customer):
    assert api.patch(f"/customers/{customer.pk}/tags", {"tags": {f"t{n}": n for n in range(500)}}).status_code == 200
    assert_error(
        api.patch(f"/customers/{customer.pk}/tags", {"tags": {"one-more": 1}}), 400, "validation_error", "tags"
    )
    assert len(Customer.objects.get(pk=customer.pk).tags) == 500
    assert api.patch(f"/customers/{customer.pk}/tags", {"tags": {"t0": None, "one-more": 1}}).status_code == 200


# ---- consent ---------------------------------------------------------------------------------------------


def test_consent_read_before_any_is_recorded_allows_every_purpose(api, customer):
    response = api.get(f"/customers/{customer.pk}/consent")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "data": {
            "consent": {
                "customer_id": customer.pk,
                "purposes": ALL_ALLOWED,
                "vendors": {},
                "consent_string": None,
                "version": None,
                "consent_timestamp": None,
            }
        }
    }


def test_consent_changes_only_what_it_names(api, customer):
    path = f"/customers/{customer.pk}/consent"
    response = api.patch(path, {"consent": {"purposes": {"email_marketing": False}, "vendors": {"meta": True}}})
    assert response.status_code == 200, response.content
    consent = response.json()["data"]["consent"]
    assert consent["purposes"] == {**ALL_ALLOWED, "email_marketing": False}
    assert consent["vendors"] == {"meta": True} and consent["consent_timestamp"] is not None

    body = {"purposes": {"behavioral_campaigns": False}, "vendors": {"meta": None, "braze": False}, "version": "2.2"}
    consent = api.patch(path, {"consent": body}).json()["data"]["consent"]
    assert consent["purposes"] == {**ALL_ALLOWED, "email_marketing": False, "behavioral_campaigns": False}
    assert consent["vendors"] == {"braze": False} and consent["version"] == "2.2"
    assert api.get(path).json()["data"]["consent"] == consent
    assert api.get(f"/customers/{customer.pk}").json()["data"]["customer"]["consent"] == consent


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "consent"),
        ({"consent": None}, "consent"),
        ({"purposes": {"email_marketing": False}}, "consent"),  # Masivo's body wraps it in `consent`
        ({"consent": {"purposes": {"email_marketing": "false"}}}, "consent.purposes.email_marketing"),
        ({"consent": {"purposes": []}}, "consent.purposes"),
        ({"consent": {"vendors": ["meta"]}}, "consent.vendors"),
        ({"consent": {"customer_id": "cust-2"}}, "consent.customer_id"),
    ],
)
def test_a_bad_consent_body_is_a_400_and_changes_nothing(api, customer, body, named):
    assert_error(api.patch(f"/customers/{customer.pk}/consent", body), 400, "validation_error", named)
    assert Customer.objects.get(pk=customer.pk).consent is None


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "/customers/nobody/tags", {"tags": {"a": 1}}),
        ("delete", "/customers/nobody/tags", {"tags": ["a"]}),
        ("get", "/customers/nobody/consent", None),
        ("patch", "/customers/nobody/consent", {"consent": {"purposes": {"link_tracking": False}}}),
        ("patch", "/customers/nobody/identify/anonymous", {"name": "Ana"}),
    ],
)
def test_an_unknown_customer_is_a_404(api, method, path, body):
    assert_error(api._call(method, path, body), 404, "customer_not_found")


# ---- a brand-restricted key --------------------------------------------------------------------------------


def test_a_restricted_key_registers_and_reads_but_changes_nothing(brand, customer):
    client = restricted_client(brand)
    body = {**MASIVO_REGISTRATION, "id": "by-brand", "consent": {"purposes": {"email_marketing": False}}}
    assert json_call(client, "post", "/customers", body).status_code == 201
    assert json_call(client, "get", "/customers/by-brand/consent").status_code == 200
    refused = [
        ("patch", "/customers/cust-1", {"gender": "FEMALE"}),
        ("patch", "/customers/cust-1/tags", {"tags": {"vip": True}}),
        ("delete", "/customers/cust-1/tags", {"tags": ["vip"]}),
        ("patch", "/customers/cust-1/consent", {"consent": {"purposes": {"behavioral_campaigns": False}}}),
        ("patch", "/customers/cust-1/identify/anonymous", {"name": "Ana", "new_id": "taken-over"}),
    ]
    for method, path, body in refused:
        assert_error(json_call(client, method, path, body), 403, "permission_denied")
    stored = Customer.objects.get(pk="cust-1")
    assert (stored.gender, stored.tags, stored.consent) == ("", {}, None)
    assert not Customer.objects.filter(pk="taken-over").exists()


# ---- identify (without a new id; the re-key is in test_customer_rekey.py) --------------------------------------


def test_identify_turns_an_anonymous_customer_into_an_identified_one(api):
    api.post("/customers", {"id": "anon-2", "is_anonymous": True, "tags": {"seen": "web"}})
    body = {"name": "Ana Diaz", "email": "ana@example.com", "gender": "FEMALE", "dob": "1991-01-02", "tags": {"vip": 1}}
    response = api.patch("/customers/anon-2/identify/anonymous", body)
    assert response.status_code == 200, response.content
    data = response.json()["data"]["customer"]
    assert data["id"] == "anon-2" and data["is_anonymous"] is False
    assert (data["name"], data["email"], data["gender"], data["dob"]) == (
        "Ana Diaz",
        "ana@example.com",
        "FEMALE",
        "1991-01-02",
    )
    assert data["tags"] == {"seen": "web", "vip": 1}


def test_identify_refuses_a_customer_that_is_not_anonymous(api, customer):
    assert_error(
        api.patch(f"/customers/{customer.pk}/identify/anonymous", {"name": "X"}), 409, "customer_not_anonymous"
    )
    assert Customer.objects.get(pk=customer.pk).name != "X"


@pytest.mark.parametrize(
    ("new_id", "status", "error"),
    [
        ("cust-1", 409, "customer_exists"),
        ("a/b", 400, "validation_error"),
        ("..", 400, "validation_error"),
        ("tab\there", 400, "validation_error"),
        ("x" * 256, 400, "validation_error"),
        ("", 400, "validation_error"),
        (7, 400, "validation_error"),
    ],
)
def test_identify_refuses_a_new_id_that_is_taken_or_unreadable(api, customer, new_id, status, error):
    api.post("/customers", {"id": "anon-3", "is_anonymous": True})
    body = {"name": "Ana", "new_id": new_id}
    assert_error(
        api.patch("/customers/anon-3/identify/anonymous", body), status, error, "new_id" if status == 400 else None
    )
    stored = Customer.objects.get(pk="anon-3")
    assert stored.is_anonymous and stored.name == ""
    assert Customer.objects.get(pk="cust-1").name != "Ana"
