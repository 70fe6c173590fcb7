"""POST /behavior/events refuses what SPEC section 3 refuses, names the field, and stores nothing.

Every case starts from a valid PURCHASE body (which would earn 12 stars), changes one thing, and
checks the status, the error shape `{"error", "details"}`, the field path named in `details`, and
that no event, ledger row, wallet line, total or metric was written.
"""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Event, EventTransition
from tests.helpers import emit, totals
from wallets.models import MetricBucket, Transaction, WalletLine, WalletTotal

pytestmark = pytest.mark.django_db

DELETE = object()
STARS = "<stars>"  # replaced by the Stars reward id at run time


def base_body() -> dict:
    return {
        "customer_id": "cust-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "order": {"purchase_id": "P-1", "value": 120, "products": [{"sku": "LATTE", "amount": 2, "value": 60}]},
    }


def _steps(path: str) -> list:
    """ "order.products[0].value" -> ["order", "products", 0, "value"]."""
    steps: list = []
    for part in path.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", part)
        if name:
            steps.append(name)
        steps += [int(i) for i in indexes if i != ""]
    return steps


def changed(path: str, value, body: dict | None = None) -> dict:
    body = body if body is not None else base_body()
    *head, last = _steps(path)
    node = body
    for step in head:
        node = node[step]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return body


def _substitute(value, stars_id: str):
    if value == STARS:
        return stars_id
    if isinstance(value, dict):
        return {k: _substitute(v, stars_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, stars_id) for v in value]
    return value


def raw_with(path: str, literal: str) -> str:
    """The base body as JSON text with `literal` (any JSON text, valid or not) at `path`."""
    return json.dumps(changed(path, "__LITERAL__")).replace('"__LITERAL__"', literal)


def names(details, path: str) -> bool:
    """Does the error's `details` name `path` (a key of the field map, or inside the text)?"""
    if isinstance(details, dict):
        return path in details
    return isinstance(details, str) and path in details


def stored() -> dict:
    return {
        "events": Event.objects.count(),
        "transitions": EventTransition.objects.count(),
        "transactions": Transaction.objects.count(),
        "lines": WalletLine.objects.count(),
        "totals": list(WalletTotal.objects.order_by("pk").values_list("balance", "reserved", "pending", "debt")),
        "metrics": list(MetricBucket.objects.order_by("pk").values_list("number_of_purchases", "spend_total")),
    }


@pytest.fixture
def programme(brand, stars, star_campaign, customer):
    """Cust-1 holds 12 stars from an earlier purchase; a valid base body would earn 12 more."""
    emit(customer, brand, value=120, purchase_id="SEED-1")
    assert totals(customer, stars)["total"] == 12
    return stars


def assert_refused(response, before, *, status=400, error="validation_error", path=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"error", "details"}, body
    assert body["error"] == error, body
    if path is not None:
        assert names(body["details"], path), f"details do not name {path!r}: {body['details']!r}"
    assert stored() == before, "a refused request stored something"
    return body


# ---- the valid body is accepted (so every refusal below is caused by the one change) ----------


def test_the_base_body_is_accepted_and_earns_stars(api, programme):
    response = api.post("/behavior/events", base_body())
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["result"]["accumulations"][0]["amount"] == 12


def test_amounts_given_as_decimal_strings_are_accepted(api, programme):
    body = changed("order.value", "120.50")
    body["order"]["products"][0]["value"] = "60.2500"
    response = api.post("/behavior/events", body)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["data"]["order"]["value"] == 120.5
    assert data["data"]["order"]["products"][0]["value"] == 60.25
    assert data["result"]["accumulations"][0]["amount"] == 12
    assert Event.objects.get(pk=data["id"]).data["order"]["value"] == 120.5


@pytest.mark.parametrize("value", [Decimal("1000000000000"), "1000000000000", "0.0001", 0])
def test_amounts_at_the_limits_are_accepted(api, programme, value):
    body = changed("order.value", value if not isinstance(value, Decimal) else int(value))
    assert api.post("/behavior/events", body).status_code == 201


def test_exactly_500_products_are_accepted(api, programme):
    body = changed("order.products", [{"sku": f"SKU-{i}", "amount": 1, "value": 1} for i in range(500)])
    assert api.post("/behavior/events", body).status_code == 201


def test_ids_of_255_characters_are_accepted(api, programme):
    body = changed("order.purchase_id", "p" * 255)
    body["order"]["products"][0]["sku"] = "s" * 255
    assert api.post("/behavior/events", body).status_code == 201


def test_a_body_just_under_one_mib_is_accepted(api, programme):
    body = changed("metadata", {"blob": ""})
    filler = 1024 * 1024 - len(json.dumps(body)) - 16
    body["metadata"]["blob"] = "x" * filler
    text = json.dumps(body)
    assert len(text.encode()) < 1024 * 1024
    assert api.post("/behavior/events", text).status_code == 201


@pytest.mark.parametrize("reserve", [1, 365])
def test_reserve_within_1_to_365_is_accepted(api, programme, reserve):
    body = changed("reserve", reserve, changed("fulfilled", False))
    response = api.post("/behavior/events", body)
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["reserve"] == reserve


@pytest.mark.parametrize("hours_ago", [0, 71])
def test_issued_at_within_the_last_72_hours_is_accepted(api, programme, hours_ago):
    issued = (timezone.now() - timedelta(hours=hours_ago)).replace(microsecond=0)
    body = changed("issued_at", issued.isoformat().replace("+00:00", "Z"))
    response = api.post("/behavior/events", body)
    assert response.status_code == 201, response.json()
    assert Event.objects.get(pk=response.json()["data"]["id"]).issued_at == issued


# ---- the validation list of SPEC section 3 --------------------------------------------------------

CASES = [
    # missing required fields
    ("missing_customer_id", "customer_id", DELETE, "customer_id"),
    ("missing_brand_id", "brand_id", DELETE, "brand_id"),
    ("missing_type", "type", DELETE, "type"),
    ("null_customer_id", "customer_id", None, "customer_id"),
    ("purchase_without_order", "order", DELETE, "order"),
    # wrong types at every level
    ("text_for_order_value", "order.value", "twelve", "order.value"),
    ("text_for_product_value", "order.products[0].value", "12abc", "order.products[0].value"),
    ("text_for_product_amount", "order.products[0].amount", "two", "order.products[0].amount"),
    ("text_nan_for_order_value", "order.value", "NaN", "order.value"),
    ("text_infinity_for_order_value", "order.value", "Infinity", "order.value"),
    ("number_for_customer_id", "customer_id", 123, "customer_id"),
    ("number_for_brand_id", "brand_id", 1, "brand_id"),
    ("number_for_type", "type", 7, "type"),
    ("number_for_purchase_id", "order.purchase_id", 1001, "order.purchase_id"),
    ("number_for_sku", "order.products[0].sku", 5, "order.products[0].sku"),
    ("number_for_platform", "platform", 1, "platform"),
    ("bool_for_order_value", "order.value", True, "order.value"),
    ("object_for_products", "order.products", {"sku": "LATTE"}, "order.products"),
    ("list_for_order", "order", [{"value": 1}], "order"),
    ("text_for_order", "order", "A-1", "order"),
    ("object_for_redeem", "redeem", {"id": STARS, "amount": 1}, "redeem"),
    ("list_for_shipping", "order.shipping", [], "order.shipping"),
    ("text_for_shipping_value", "order.shipping", {"value": "free"}, "order.shipping.value"),
    ("true_for_reserve", "reserve", True, "reserve"),
    ("fraction_for_reserve", "reserve", 1.5, "reserve"),
    ("text_for_reserve", "reserve", "2", "reserve"),
    ("text_true_for_fulfilled", "fulfilled", "true", "fulfilled"),
    ("number_for_fulfilled", "fulfilled", 0, "fulfilled"),
    ("list_for_metadata", "metadata", ["a"], "metadata"),
    ("text_for_tags", "tags", "vip", "tags"),
    ("list_for_product_tags", "order.products[0].tags", [1], "order.products[0].tags"),
    ("number_for_redeem_id", "redeem", [{"id": 5, "amount": 1}], "redeem[0].id"),
    ("text_for_redeem_amount", "redeem", [{"id": STARS, "amount": "lots"}], "redeem[0].amount"),
    ("bad_payment_method", "order.payment_method", "BITCOIN", "order.payment_method"),
    ("number_for_issued_at", "issued_at", 1767225600, "issued_at"),
    ("text_for_issued_at", "issued_at", "yesterday", "issued_at"),
    # negative amounts
    ("negative_order_value", "order.value", -1, "order.value"),
    ("negative_discounted_value", "order.discounted_value", "-0.01", "order.discounted_value"),
    ("negative_product_value", "order.products[0].value", -60, "order.products[0].value"),
    ("negative_product_amount", "order.products[0].amount", -2, "order.products[0].amount"),
    ("negative_shipping_value", "order.shipping", {"value": -5}, "order.shipping.value"),
    ("negative_redeem_amount", "redeem", [{"id": STARS, "amount": -5}], "redeem[0].amount"),
    ("zero_redeem_amount", "redeem", [{"id": STARS, "amount": 0}], "redeem[0].amount"),
    # amounts above 10^12
    ("order_value_over_10_12", "order.value", 1000000000001, "order.value"),
    ("order_value_text_over_10_12", "order.value", "1000000000000.0001", "order.value"),
    ("product_value_over_10_12", "order.products[0].value", 10**13, "order.products[0].value"),
    ("redeem_amount_over_10_12", "redeem", [{"id": STARS, "amount": 10**15}], "redeem[0].amount"),
    # more than 4 decimals
    ("order_value_5_decimals_text", "order.value", "1.00001", "order.value"),
    ("product_value_5_decimals_text", "order.products[0].value", "0.00001", "order.products[0].value"),
    # more than 500 products
    ("501_products", "order.products", [{"sku": f"S{i}", "amount": 1} for i in range(501)], "order.products"),
    # ids longer than 255 characters
    ("long_customer_id", "customer_id", "c" * 256, "customer_id"),
    ("long_brand_id", "brand_id", "b" * 256, "brand_id"),
    ("long_purchase_id", "order.purchase_id", "p" * 256, "order.purchase_id"),
    ("long_sku", "order.products[0].sku", "s" * 256, "order.products[0].sku"),
    ("long_store_id", "order.store_id", "s" * 256, "order.store_id"),
    ("long_referral_code", "referral_code", "r" * 256, "referral_code"),
    # reserve out of 1..365 (on a held event, where reserve applies)
    ("reserve_0", "reserve", 0, "reserve"),
    ("reserve_366", "reserve", 366, "reserve"),
    ("reserve_negative", "reserve", -1, "reserve"),
    # issued_at out of range or without a time zone
    ("issued_at_without_time_zone", "issued_at", "@naive-1h", "issued_at"),
    ("issued_at_in_the_future", "issued_at", "@+1h", "issued_at"),
    ("issued_at_more_than_72_hours_ago", "issued_at", "@-73h", "issued_at"),
    # unknown event type, unknown reward
    ("unknown_event_type", "type", "SURVEY", "type"),
    ("lower_case_event_type", "type", "purchase", "type"),
    (
        "unknown_reward_in_redeem",
        "redeem",
        [{"id": "00000000-0000-4000-8000-000000000000", "amount": 1}],
        "redeem[0].id",
    ),
    (
        "unknown_reward_in_product_redeem",
        "order.products[0].redeem",
        [{"id": "00000000-0000-4000-8000-000000000000", "amount": 1}],
        "order.products[0].redeem[0].id",
    ),
    (
        "unknown_reward_in_order_redeem",
        "order.redeem",
        [{"id": "00000000-0000-4000-8000-000000000000", "amount": 1}],
        "order.redeem[0].id",
    ),
]


def _timestamp(code: str) -> str:
    now = timezone.now().replace(microsecond=0)
    if code == "@naive-1h":
        return (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    sign, hours = code[1], int(code[2:-1])
    moment = now + timedelta(hours=hours) if sign == "+" else now - timedelta(hours=hours)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("case, path, value, named", CASES, ids=[c[0] for c in CASES])
def test_emit_refuses_invalid_field_naming_it_and_stores_nothing(api, programme, case, path, value, named):
    if isinstance(value, str) and value.startswith("@"):
        value = _timestamp(value)
    body = changed(path, _substitute(value, str(programme.pk)))
    if path == "reserve":
        body["fulfilled"] = False
    before = stored()
    assert_refused(api.post("/behavior/events", body), before, path=named)


# ---- unknown fields that are misspellings: named, with a suggestion (others: tests/masivo) ---------------

UNKNOWN = [
    ("fulfill_for_fulfilled", "fulfill", False, "fulfill", "'fulfilled'"),
    ("in_order", "order.purchaseId", "A-1", "order.purchaseId", "'purchase_id'"),
    ("in_order_lower_case", "order.purchaseid", "A-1", "order.purchaseid", "'purchase_id'"),
    ("in_order_swapped", "order.prodcuts", [], "order.prodcuts", "'products'"),
    ("in_product", "order.products[0].skus", "X", "order.products[0].skus", "'sku'"),
    ("in_shipping", "order.shipping", {"value": 5, "vlaue": 5}, "order.shipping.vlaue", "'value'"),
    ("in_redeem", "redeem", [{"reward_id": STARS, "amount": 1}], "redeem[0].reward_id", "'id'"),
]


@pytest.mark.parametrize("case, path, value, named, suggestion", UNKNOWN, ids=[c[0] for c in UNKNOWN])
def test_emit_refuses_a_misspelt_field_naming_it(api, programme, case, path, value, named, suggestion):
    body = changed(path, _substitute(value, str(programme.pk)))
    before = stored()
    details = assert_refused(api.post("/behavior/events", body), before, path=named)["details"]
    assert "unknown field" in details[named]
    if suggestion:
        assert suggestion in details[named]


def test_an_alias_sent_instead_of_its_field_is_refused_with_the_suggestion(api, programme):
    body = changed("customer_id", DELETE, changed("customer", "cust-1"))
    before = stored()
    details = assert_refused(api.post("/behavior/events", body), before, path="customer")["details"]
    assert "'customer_id'" in details["customer"]


def test_unknown_field_is_reported_together_with_a_missing_one(api, programme):
    body = changed("brand_id", DELETE, changed("fulfill", False))
    before = stored()
    details = assert_refused(api.post("/behavior/events", body), before)["details"]
    assert set(details) == {"brand_id", "fulfill"}
    assert "'fulfilled'" in details["fulfill"]


@pytest.mark.parametrize("payload", [[], "event", 12, None], ids=["list", "string", "number", "null"])
def test_a_body_that_is_not_an_object_is_refused(api, programme, payload):
    before = stored()
    assert_refused(api.post("/behavior/events", json.dumps(payload)), before)


def test_an_empty_body_is_refused_naming_the_required_fields(api, programme):
    before = stored()
    details = assert_refused(api.post("/behavior/events", ""), before)["details"]
    assert {"customer_id", "brand_id", "type"} <= set(details)


# ---- unknown brand and customer: 404 --------------------------------------------------------------


def test_unknown_brand_is_404_and_stores_nothing(api, programme):
    before = stored()
    body = assert_refused(
        api.post("/behavior/events", changed("brand_id", "9999")), before, status=404, error="brand_not_found"
    )
    assert "9999" in body["details"]


def test_unknown_customer_is_404_and_stores_nothing(api, programme):
    before = stored()
    body = assert_refused(
        api.post("/behavior/events", changed("customer_id", "nobody")), before, status=404, error="customer_not_found"
    )
    assert "nobody" in body["details"]


# ---- refused while parsing: non-finite and huge literals, NUL, lone surrogates, bad JSON, size ------------

LITERALS = [
    ("nan_order_value", "order.value", "NaN"),
    ("infinity_order_value", "order.value", "Infinity"),
    ("minus_infinity_order_value", "order.value", "-Infinity"),
    ("nan_product_value", "order.products[0].value", "NaN"),
    ("infinity_reserve", "reserve", "Infinity"),
    ("nan_in_metadata", "metadata", '{"score": NaN}'),
]


@pytest.mark.parametrize("case, path, literal", LITERALS, ids=[c[0] for c in LITERALS])
def test_non_finite_number_literals_are_refused_naming_the_field(api, programme, case, path, literal):
    before = stored()
    named = "metadata.score" if path == "metadata" else path
    assert_refused(api.post("/behavior/events", raw_with(path, literal)), before, error="parse_error", path=named)


HUGE = [
    ("1e309_order_value", "order.value", "1e309"),
    ("minus_1e309_order_value", "order.value", "-1e309"),
    ("1e309_product_value", "order.products[0].value", "1e309"),
    ("over_10_12_literal", "order.value", "1000000000000.5"),
    ("1e13_product_amount", "order.products[0].amount", "1E13"),
    ("5_decimals_literal", "order.value", "1.00001"),
    ("5_decimals_product_value", "order.products[0].value", "60.12345"),
]


@pytest.mark.parametrize("case, path, literal", HUGE, ids=[c[0] for c in HUGE])
def test_huge_or_over_precise_number_literals_are_refused_naming_the_field(api, programme, case, path, literal):
    before = stored()
    assert_refused(api.post("/behavior/events", raw_with(path, literal)), before, path=path)


BAD_STRINGS = [
    ("nul_in_customer_id", "customer_id", "cust\x00-1", "customer_id"),
    ("nul_in_type", "type", "PURCHASE\x00", "type"),
    ("nul_in_purchase_id", "order.purchase_id", "A\x00", "order.purchase_id"),
    ("nul_in_sku", "order.products[0].sku", "LAT\x00TE", "order.products[0].sku"),
    ("nul_in_metadata_value", "metadata", {"note": "a\x00b"}, "metadata.note"),
    ("nul_in_nested_metadata_value", "order.metadata", {"pos": {"till": ["ok", "\x00"]}}, "order.metadata.pos.till[1]"),
    ("nul_in_metadata_key", "metadata", {"k\x00ey": "v"}, "metadata.k"),
    ("nul_in_nested_metadata_key", "metadata", {"outer": {"in\x00ner": 1}}, "metadata.outer.in"),
    ("nul_in_product_tags_key", "order.products[0].tags", {"\x00": True}, "order.products[0].tags."),
    ("nul_in_top_level_key", "\x00", 1, "\x00"),
]


@pytest.mark.parametrize("case, path, value, named", BAD_STRINGS, ids=[c[0] for c in BAD_STRINGS])
def test_nul_characters_are_refused_anywhere_naming_the_field(api, programme, case, path, value, named):
    body = base_body()
    if path == "\x00":
        body["\x00"] = value
    else:
        body = changed(path, value)
    text = json.dumps(body)
    assert "\\u0000" in text
    before = stored()
    assert_refused(api.post("/behavior/events", text), before, error="parse_error", path=named)


SURROGATES = [
    ("in_customer_id", "customer_id", '"\\ud800"', "customer_id"),
    ("in_sku", "order.products[0].sku", '"LATTE\\udfff"', "order.products[0].sku"),
    ("in_metadata_value", "metadata", '{"note": "\\ud800"}', "metadata.note"),
    ("in_metadata_key", "metadata", '{"\\udc00key": 1}', "metadata."),
    ("in_nested_order_metadata", "order.metadata", '{"a": {"b": ["\\ud83d"]}}', "order.metadata.a.b[0]"),
]


@pytest.mark.parametrize("case, path, literal, named", SURROGATES, ids=[c[0] for c in SURROGATES])
def test_lone_surrogates_are_refused_anywhere_naming_the_field(api, programme, case, path, literal, named):
    before = stored()
    assert_refused(api.post("/behavior/events", raw_with(path, literal)), before, error="parse_error", path=named)


@pytest.mark.parametrize("key", ['"\\ud800"', '"meta\\udfffdata"'], ids=["alone", "inside_a_name"])
def test_a_lone_surrogate_in_a_top_level_key_is_refused_in_the_error_shape(api, programme, key):
    text = json.dumps(base_body()).replace("{", "{" + key + ": 1, ", 1)
    before = stored()
    response = api.post("/behavior/events", text)
    assert response["Content-Type"].startswith("application/json")
    assert_refused(response, before, error="parse_error")


def test_a_proper_surrogate_pair_is_accepted(api, programme):
    response = api.post("/behavior/events", raw_with("metadata", '{"emoji": "\\ud83d\\ude00"}'))
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["data"]["metadata"] == {"emoji": "\U0001f600"}


MALFORMED = [
    ("truncated", '{"customer_id": "cust-1", '),
    ("not_json", "customer_id=cust-1&brand_id=0001"),
    ("trailing_comma", '{"customer_id": "cust-1", "brand_id": "0001", "type": "REGISTRATION",}'),
    ("single_quotes", "{'customer_id': 'cust-1'}"),
    ("unquoted_key", '{customer_id: "cust-1"}'),
    ("two_documents", '{"customer_id": "cust-1"} {}'),
    ("invalid_utf8", b'{"customer_id": "\xff\xfe", "brand_id": "0001", "type": "REGISTRATION"}'),
    ("raw_surrogate_bytes", b'{"customer_id": "\xed\xa0\x80", "brand_id": "0001", "type": "REGISTRATION"}'),
]


@pytest.mark.parametrize("case, text", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_json_is_refused_with_parse_error(api, programme, case, text):
    before = stored()
    body = assert_refused(api.post("/behavior/events", text), before, error="parse_error")
    assert isinstance(body["details"], str) and body["details"]


def test_a_body_over_one_mib_is_refused(api, programme):
    body = changed("metadata", {"blob": "x" * (1024 * 1024)})
    before = stored()
    response = api.post("/behavior/events", json.dumps(body))
    details = assert_refused(response, before, error="parse_error")["details"]
    assert "body" in details
