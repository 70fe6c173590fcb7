"""Every coupon answer conforms to the shape the OpenAPI schema documents (tests/test_response_shapes.py's walk)."""

import pytest

from campaigns.services import api_key_create
from tests.test_response_shapes import Walk, conforms, openapi  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_every_coupon_answer_conforms_to_its_documented_shape(openapi, customer, summer):  # noqa: F811
    _key, raw = api_key_create(name="shapes")
    hit = Walk(openapi, raw)
    ids = {"campaign_id": summer.pk, "id": summer.pk}
    hit("post", "/campaigns/{campaign_id}/codes", {"quantity": 3, "prefix": "W"}, 201, **ids)
    hit("post", "/coupons/redeem", {"customer_id": customer.pk, "code": "SUMMER-1"}, 201)
    hit("get", "/campaigns/{campaign_id}/codes", **ids)
    hit("get", "/campaigns/{id}", **ids)
    detail = hit.client.get(f"/api/v1/campaigns/{summer.pk}?includes=CODES_SUMMARY&customer_id={customer.pk}")
    documented = openapi["paths"]["/api/v1/campaigns/{id}"]["get"]["responses"]["200"]
    assert conforms(detail.json(), documented["content"]["application/json"]["schema"], openapi) == []
    assert detail.json()["data"]["codes_summary"]["customer_can_redeem"] is True
    hit("post", "/coupons/reverse", {"customer_id": customer.pk, "code": "SUMMER-1"})
    hit("post", "/coupons/reverse", {"customer_id": customer.pk, "code": "SUMMER-1"}, 409)
    hit("post", "/coupons/redeem", {"customer_id": customer.pk, "code": "NONE-1"}, 422)
