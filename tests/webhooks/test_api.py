"""The webhooks API: endpoints (the secret shown once, rotation), bad input refused with a 400,
brand isolation (another brand's endpoints and deliveries answer like unknown ones), the
deliveries list with its attempts, redelivery; and the schema's documentation of every body."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from campaigns.services import api_key_create
from events.services import event_reverse
from tests.factories import BrandFactory, CampaignFactory, CustomerFactory, RewardFactory, per_value_rule
from tests.helpers import assert_error, emit
from tests.test_response_shapes import conforms
from webhooks import signing
from webhooks.delivery import deliveries_send
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.names import NAMES
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/loyalty"
OUT = {"id", "url", "events", "brand_id", "description", "is_active", "disabled_at", "disabled_reason"}
OUT |= {"failing_since", "previous_secret_expires_at", "created_at", "updated_at"}

_ACTIONS = [("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate-secret"), ("get", "/deliveries")]
ON_AN_ENDPOINT = [(method, "/webhooks/{}" + path) for method, path in [*_ACTIONS, ("post", "/redeliver-failed")]]


class Http:
    """A JSON client for one key, under /api/v1."""

    def __init__(self, raw: str):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def __call__(self, method: str, path: str, body=None, **extra):
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs, **extra)


@pytest.fixture
def http(db) -> Http:
    return Http(api_key_create(name="unrestricted")[1])


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()["data"]


def failed_delivery(receiver, settings, endpoint, customer, brand) -> WebhookDelivery:
    """A delivery to `endpoint` that failed every attempt of a one-retry schedule (real receiver)."""
    settings.LOYALTY_WEBHOOK_RETRY_SCHEDULE = [1]
    receiver.statuses = [500, 502]
    emit(customer, brand, value=10)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    later = timezone.now()
    for _ in range(2):
        deliveries_send(ids=[delivery.pk], due_by=later)
        later += timedelta(hours=1)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    return delivery


# ---- endpoints ------------------------------------------------------------------------------------------


def test_create_answers_the_secret_once_and_no_read_shows_it(http, brand):
    body = {"url": URL, "events": ["CUSTOMER_ACCUMULATION", "TIER_UPGRADE"], "brand_id": brand.pk}
    created = ok(http("post", "/webhooks", {**body, "description": "emails"}), 201)
    assert set(created) == OUT | {"secret"}
    assert created["secret"].startswith("whsec_")
    assert created["secret"] == WebhookEndpoint.objects.get().secret
    assert created["brand_id"] == "0001" and created["is_active"] is True and created["description"] == "emails"
    assert created["disabled_at"] is None and created["disabled_reason"] is None and created["failing_since"] is None

    path = f"/webhooks/{created['id']}"
    read = ok(http("get", path))
    assert set(read) == OUT and read == {k: v for k, v in created.items() if k != "secret"}
    listed = http("get", "/webhooks").json()
    assert listed["count"] == 1 and set(listed["data"][0]) == OUT
    changed = ok(http("patch", path, {"events": ["TIER_DOWNGRADE"], "is_active": False, "brand_id": None}))
    assert set(changed) == OUT
    assert changed["events"] == ["TIER_DOWNGRADE"] and changed["is_active"] is False and changed["brand_id"] is None
    assert created["secret"] not in json.dumps([read, listed, changed])


def test_rotate_gives_a_new_secret_and_the_old_one_signs_beside_it_for_24_hours(http):
    created = ok(http("post", "/webhooks", {"url": URL, "events": ["TIER_UPGRADE"]}), 201)
    rotated = ok(http("post", f"/webhooks/{created['id']}/rotate-secret"))
    old, new = created["secret"], rotated["secret"]
    assert new.startswith("whsec_") and new != old
    assert set(rotated) == OUT | {"secret"} and rotated["previous_secret_expires_at"] is not None
    assert "secret" not in ok(http("get", f"/webhooks/{created['id']}"))

    endpoint = WebhookEndpoint.objects.get()
    body, now = '{"event":"TIER_UPGRADE","data":{}}', timezone.now()
    headers = signing.signature_headers(endpoint, msg_id="msg_" + "0" * 32, at=now, body=body)
    assert len(headers["webhook-signature"].split()) == 2
    assert Webhook(new).verify(body, headers) == json.loads(body)
    assert Webhook(old).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)

    later = now + timedelta(hours=24, minutes=1)
    headers = signing.signature_headers(endpoint, msg_id="msg_" + "0" * 32, at=later, body=body)
    assert headers["webhook-signature"] == Webhook(new).sign("msg_" + "0" * 32, later, body)  # the new one only


def test_delete_hides_the_endpoint_and_keeps_its_row(http):
    created = ok(http("post", "/webhooks", {"url": URL, "events": ["TIER_UPGRADE"]}), 201)
    assert http("delete", f"/webhooks/{created['id']}").status_code == 204
    assert_error(http("get", f"/webhooks/{created['id']}"), 404, "webhook_not_found")
    assert_error(http("delete", f"/webhooks/{created['id']}"), 404, "webhook_not_found")
    assert http("get", "/webhooks").json()["count"] == 0
    assert WebhookEndpoint.objects.get().deleted_at is not None


@pytest.mark.parametrize("allow", [False, True])
def test_an_http_url_is_refused_unless_the_setting_allows_it(http, settings, allow):
    settings.LOYALTY_WEBHOOKS_ALLOW_HTTP = allow
    response = http("post", "/webhooks", {"url": "http://localhost:9000/hooks", "events": ["TIER_UPGRADE"]})
    if allow:
        assert response.status_code == 201, response.content
    else:
        assert (
            "LOYALTY_WEBHOOKS_ALLOW_HTTP"
            in assert_error(response, 400, "validation_error", named="url")["details"]["url"]
        )
        assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://hooks.example.com:99999/x"}, "url"),
        ({"url": "https://hooks.example.com/" + "x" * 2000}, "url"),
        ({"url": 42}, "url"),
        ({"url": ["https://hooks.example.com"]}, "url"),
        ({"events": ["NOT_AN_EVENT"]}, "events[0]"),
        ({"events": []}, "events"),
        ({"events": "TIER_UPGRADE"}, "events"),
        ({"events": ["TIER_UPGRADE", "TIER_UPGRADE"]}, "events"),
        ({"events": [1]}, "events[0]"),
        ({"events": list(NAMES) * 2}, "events"),
        ({"is_active": "yes"}, "is_active"),
        ({"description": "x" * 256}, "description"),
        ({"brand_id": "x" * 65}, "brand_id"),
        ({"brand_id": 1}, "brand_id"),
        ({"event": ["TIER_UPGRADE"]}, "event"),  # a near-miss of `events`
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(http, body, named):
    response = http("post", "/webhooks", {"url": URL, "events": ["TIER_UPGRADE"], **body})
    assert_error(response, 400, "validation_error", named=named)
    assert WebhookEndpoint.objects.count() == 0


def test_an_unknown_brand_is_a_404_and_a_body_that_is_not_an_object_a_400(http):
    assert_error(
        http("post", "/webhooks", {"url": URL, "events": ["TIER_UPGRADE"], "brand_id": "9999"}), 404, "brand_not_found"
    )
    assert_error(http("post", "/webhooks", ["x"]), 400, "validation_error")
    created = ok(http("post", "/webhooks", {"url": URL, "events": ["TIER_UPGRADE"]}), 201)
    assert_error(http("patch", f"/webhooks/{created['id']}", {"events": []}), 400, "validation_error", named="events")
    assert_error(
        http("patch", f"/webhooks/{created['id']}", {"url": "http://x.example"}), 400, "validation_error", named="url"
    )
    assert WebhookEndpoint.objects.get().events == ["TIER_UPGRADE"]


@pytest.mark.parametrize(
    "bad", ["nope", "00000000-0000-0000-0000-000000000000", "%00", "12345678123456781234567812345678x"]
)
def test_an_unknown_or_malformed_id_in_the_path_is_a_404(http, bad):
    for method, path in [*ON_AN_ENDPOINT, ("post", "/webhook-deliveries/{}/redeliver")]:
        response = http(method, path.format(bad), {} if method == "patch" else None)
        assert response.status_code == 404, (method, path, response.content)
        assert http("options", path.format(bad)).status_code in (200, 404), path  # never a 500


# ---- brand isolation ----------------------------------------------------------------------------------------


def test_a_restricted_key_sees_and_manages_only_its_brands_endpoints(http, receiver, settings, customer, brand):
    other = BrandFactory(id="0002", name="Other")
    mine = endpoint_create(url=URL, events=["TIER_UPGRADE"], brand_id=brand.pk)
    theirs = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=other.pk)
    everyone = endpoint_create(url=URL, events=["TIER_UPGRADE"])
    their_delivery = failed_delivery(receiver, settings, theirs, customer, other)
    restricted = Http(api_key_create(name="restricted", brand_ids=[brand.pk])[1])

    listed = restricted("get", "/webhooks").json()
    assert [row["id"] for row in listed["data"]] == [str(mine.pk)] and listed["count"] == 1
    for hidden in (theirs, everyone):
        for method, path in ON_AN_ENDPOINT:
            response = restricted(method, path.format(hidden.pk), {"is_active": False} if method == "patch" else None)
            assert_error(response, 404, "webhook_not_found")
    assert_error(
        restricted("post", f"/webhook-deliveries/{their_delivery.pk}/redeliver"), 404, "webhook_delivery_not_found"
    )
    unchanged = WebhookEndpoint.objects.get(pk=theirs.pk)
    assert (unchanged.is_active, unchanged.deleted_at, unchanged.secret) == (True, None, theirs.secret)
    assert WebhookDelivery.objects.get(pk=their_delivery.pk).status == WebhookDelivery.Status.FAILED

    assert_error(restricted("post", "/webhooks", {"url": URL, "events": ["TIER_UPGRADE"]}), 403, "permission_denied")
    body = {"url": URL, "events": ["TIER_UPGRADE"], "brand_id": other.pk}
    assert_error(restricted("post", "/webhooks", body), 403, "permission_denied")
    for brand_id in (None, other.pk):
        assert_error(restricted("patch", f"/webhooks/{mine.pk}", {"brand_id": brand_id}), 403, "permission_denied")
    assert WebhookEndpoint.objects.get(pk=mine.pk).brand_id == brand.pk
    assert WebhookEndpoint.objects.count() == 3

    created = ok(restricted("post", "/webhooks", {**body, "brand_id": brand.pk}), 201)
    assert created["brand_id"] == brand.pk and created["secret"]
    assert ok(restricted("patch", f"/webhooks/{mine.pk}", {"description": "mine"}))["description"] == "mine"
    assert restricted("delete", f"/webhooks/{mine.pk}").status_code == 204


def test_a_key_that_lost_its_brands_sees_no_endpoint(brand):
    endpoint_create(url=URL, events=["TIER_UPGRADE"])
    endpoint_create(url=URL, events=["TIER_UPGRADE"], brand_id=brand.pk)
    key, raw = api_key_create(name="restricted", brand_ids=[brand.pk])
    key.brands.clear()  # restricted for good: it may use no brand now
    assert Http(raw)("get", "/webhooks").json()["count"] == 0


# ---- deliveries ---------------------------------------------------------------------------------------------


@pytest.fixture
def earning(brand, customer):
    reward = RewardFactory(brand=brand)
    CampaignFactory(brand=brand, rules=[per_value_rule(reward, amount=1, per=10)])
    return reward


def test_the_deliveries_list_shows_each_attempt(http, receiver, customer, brand, earning):
    receiver.statuses = [500]
    endpoint = endpoint_create(url=receiver.url, events=["CUSTOMER_ACCUMULATION"], brand_id=brand.pk)
    emit(customer, brand, value=120)
    delivery = WebhookDelivery.objects.get()
    deliveries_send(ids=[delivery.pk], due_by=timezone.now())  # (the database's clock may lag in a test)
    deliveries_send(ids=[delivery.pk], due_by=timezone.now() + timedelta(days=1))

    page = http("get", f"/webhooks/{endpoint.pk}/deliveries").json()
    assert set(page) == {"data", "from", "to", "count"} and page["count"] == 1
    row = page["data"][0]
    assert row["id"] == str(delivery.pk) and row["webhook_id"] == f"msg_{delivery.pk.hex}"
    assert row["endpoint_id"] == str(endpoint.pk) and row["event"] == "CUSTOMER_ACCUMULATION"
    assert (row["status"], row["attempts"], row["last_response_code"]) == ("DELIVERED", 2, 200)
    assert row["delivered_at"] is not None and row["next_attempt_at"] is None
    assert [(a["response_code"], a["error"]) for a in row["attempt_log"]] == [(500, None), (200, None)]
    assert all(a["duration_ms"] >= 0 and a["at"].endswith("Z") for a in row["attempt_log"])
    assert {r.headers["webhook-id"] for r in receiver.received} == {row["webhook_id"]}

    assert http("get", f"/webhooks/{endpoint.pk}/deliveries?status=FAILED").json()["count"] == 0
    assert (
        http("get", f"/webhooks/{endpoint.pk}/deliveries?status=DELIVERED&event=CUSTOMER_ACCUMULATION").json()["count"]
        == 1
    )
    assert_error(
        http("get", f"/webhooks/{endpoint.pk}/deliveries?status=LOST"), 400, "validation_error", named="status"
    )
    assert_error(http("get", f"/webhooks/{endpoint.pk}/deliveries?event=NOPE"), 400, "validation_error", named="event")


def test_redeliver_puts_a_failed_delivery_back_to_pending(
    http, receiver, settings, customer, brand, django_capture_on_commit_callbacks
):
    endpoint = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=brand.pk)
    delivery = failed_delivery(receiver, settings, endpoint, customer, brand)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answered = ok(http("post", f"/webhook-deliveries/{delivery.pk}/redeliver"), 202)
    assert len(queued) == 1  # the send is queued after commit (not run here)
    assert (answered["status"], answered["attempts"], answered["webhook_id"]) == ("PENDING", 0, delivery.message_id)
    assert len(answered["attempt_log"]) == 2  # the history stays
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.next_attempt_at is not None

    deliveries_send(ids=[delivery.pk], due_by=timezone.now())  # the receiver accepts now: same webhook-id as before
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.DELIVERED
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


def test_redeliver_failed_resends_every_failed_delivery_of_the_endpoint(
    http, receiver, settings, customer, brand, django_capture_on_commit_callbacks
):
    endpoint = endpoint_create(url=receiver.url, events=["BEHAVIOR_EVENT_FULFILLED"], brand_id=brand.pk)
    failed = failed_delivery(receiver, settings, endpoint, customer, brand)
    emit(customer, brand, value=5)  # a second, still PENDING: not failed, left alone
    waiting = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert ok(http("post", f"/webhooks/{endpoint.pk}/redeliver-failed"), 202) == {"queued": 1}
    assert len(queued) == 1
    assert WebhookDelivery.objects.get(pk=failed.pk).status == WebhookDelivery.Status.PENDING
    assert WebhookDelivery.objects.get(pk=waiting.pk).attempts == waiting.attempts
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert ok(http("post", f"/webhooks/{endpoint.pk}/redeliver-failed"), 202) == {"queued": 0}
    assert queued == []


# ---- the schema -----------------------------------------------------------------------------------------------


@pytest.fixture
def openapi(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _resolves(node, schemas) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        missing = [ref] if ref and ref.rsplit("/", 1)[1] not in schemas else []
        return missing + [m for value in node.values() for m in _resolves(value, schemas)]
    if isinstance(node, list):
        return [m for value in node for m in _resolves(value, schemas)]
    return []


def _callback_body(openapi, name) -> dict:
    callback = openapi["paths"]["/api/v1/webhooks"]["post"]["callbacks"][name]["{$request.body#/url}"]["post"]
    return callback["requestBody"]["content"]["application/json"]["schema"]


def test_the_schema_documents_every_event_body_and_the_signature_headers(openapi):
    callbacks = openapi["paths"]["/api/v1/webhooks"]["post"]["callbacks"]
    assert set(callbacks) == set(NAMES)
    schemas = openapi["components"]["schemas"]
    for name, callback in callbacks.items():
        operation = callback["{$request.body#/url}"]["post"]
        assert [p["name"] for p in operation["parameters"]] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
        assert set(operation["responses"]) == {"200"}  # the receiver's answer, not our API's errors
        message = schemas[_callback_body(openapi, name)["$ref"].rsplit("/", 1)[1]]
        assert set(message["properties"]) == {"event", "data"}
        event_enum = schemas[message["properties"]["event"]["$ref"].rsplit("/", 1)[1]]
        assert event_enum["enum"] == [name]
    assert _resolves(callbacks, schemas) == []
    assert "secret" in schemas["WebhookSecretOut"]["properties"]
    assert "secret" not in schemas["WebhookOut"]["properties"]


def test_the_bodies_sent_match_their_documented_shapes(openapi, customer, brand, earning):
    endpoint_create(url=URL, events=list(NAMES))
    CustomerFactory(id="cust-2")  # CUSTOMER_REGISTRATION
    emit(customer, brand, value=120)  # BEHAVIOR_EVENT_FULFILLED, CUSTOMER_ACCUMULATION
    emit(customer, brand, value=0, redeem=[(earning, 5)])  # ... CUSTOMER_REDEMPTION
    held = emit(customer, brand, value=0, redeem=[(earning, 2)], fulfilled=False)  # REWARD_RESERVATION
    event_reverse(event_id=held.pk, reason="cancelled order")  # BEHAVIOR_EVENT_REVERSED, ..._CANCELLED
    sent = {}
    for delivery in WebhookDelivery.objects.order_by("created_at"):
        sent.setdefault(delivery.event, json.loads(delivery.body))
    assert {
        "CUSTOMER_REGISTRATION",
        "CUSTOMER_ACCUMULATION",
        "CUSTOMER_REDEMPTION",
        "REWARD_RESERVATION",
        "REWARD_RESERVATION_CANCELLED",
        "BEHAVIOR_EVENT_FULFILLED",
        "BEHAVIOR_EVENT_REVERSED",
    } <= set(sent)
    for name, body in sent.items():
        assert body["event"] == name
        assert conforms(body, _callback_body(openapi, name), openapi, name) == []


def test_every_webhook_answer_conforms_to_its_documented_shape(openapi, http, receiver, customer, brand, earning):
    def check(method, template, status, body=None, **ids):
        response = http(method, template.format(**ids), body)
        assert response.status_code == status, response.content
        operation = openapi["paths"]["/api/v1" + template][method]
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        assert conforms(response.json(), schema, openapi) == []
        return response.json()

    created = check("post", "/webhooks", 201, {"url": receiver.url, "events": ["CUSTOMER_ACCUMULATION"]})["data"]
    check("get", "/webhooks", 200)
    check("get", "/webhooks/{id}", 200, id=created["id"])
    check("patch", "/webhooks/{id}", 200, {"description": "d"}, id=created["id"])
    check("post", "/webhooks/{id}/rotate-secret", 200, id=created["id"])
    emit(customer, brand, value=120)
    delivery = WebhookDelivery.objects.get()
    deliveries_send(ids=[delivery.pk], due_by=timezone.now())
    check("get", "/webhooks/{id}/deliveries", 200, id=created["id"])
    check("post", "/webhook-deliveries/{id}/redeliver", 202, id=delivery.pk)
    check("post", "/webhooks/{id}/redeliver-failed", 202, id=created["id"])
    check("get", "/webhooks/{id}", 404, id="nope")
