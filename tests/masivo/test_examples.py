"""Masivo's documented examples, replayed (issue "A drop-in for Masivo integrations", item 9).

A client written against Masivo's storefront API reference, given only a base URL and a key from
`create_api_key`: it authorises, sends every request example the engine supports, and reads
Masivo's shapes back. It speaks Masivo's base path (`/api/storefront/v1`) with a bearer token, as
those clients do. docs/masivo.md lists what is supported, with which differences.
"""

import io
import json
import uuid
from decimal import Decimal

import jwt
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.factories import CampaignFactory, RewardFactory, per_value_rule

pytestmark = pytest.mark.django_db

BASE = "/api/storefront/v1"


class MasivoClient:
    """What a Masivo integration does: authorise with x-api-key, then send the JWT as Bearer."""

    def __init__(self, key: str):
        self.key = key
        self.http = Client()
        self.token = self.authorize()

    def authorize(self) -> str:
        body = self.http.get(f"{BASE}/auth/authorize", HTTP_X_API_KEY=self.key).json()
        claims = jwt.decode(body["data"], options={"verify_signature": False})
        assert claims["exp"] > timezone.now().timestamp()
        return body["data"]

    def call(self, method: str, path: str, body=None, status: int = 200) -> dict:
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.http, method)(f"{BASE}{path}", **kwargs)
        assert response.status_code == status, (method, path, response.content)
        return response.json() if response.content else {}


@pytest.fixture
def masivo(brand):
    out = io.StringIO()
    call_command("create_api_key", "masivo integration", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    uuid.UUID(key)  # the client refuses to start otherwise
    return MasivoClient(key)


@pytest.fixture
def points(brand):
    """Masivo's example programme: 1 point per 10 spent, points redeemable at every level."""
    reward = RewardFactory(brand=brand, name="Points", decimals=0, attributes={"conversion_factor": 1})
    CampaignFactory(brand=brand, rules=[per_value_rule(reward, per=10)])
    return reward


CUSTOMER_KEYS = {"customer", "wallet"}
EVENT_KEYS = {"id", "customer_id", "brand_id", "type", "status", "fulfilled", "result", "issued_at"}


def test_a_masivo_client_end_to_end(masivo, points):
    # register, then read the customer and wallet
    registered = masivo.call("post", "/customers", {"id": "masivo-1", "name": "Ana", "email": "ana@example.com"}, 201)
    assert set(registered["data"]) == CUSTOMER_KEYS
    assert masivo.call("get", "/customers/masivo-1")["data"]["wallet"] == {"lines": [], "totals": []}

    # a purchase as real integrations send it (quantity beside amount, an order timestamp)
    purchase = {
        "customer_id": "masivo-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "platform": "WEB",
        "order": {
            "purchase_id": "M-1001",
            "value": 200,
            "payment_method": "CREDIT",
            "timestamp": timezone.now().isoformat(),
            "products": [{"sku": "LATTE", "amount": 2, "quantity": 2, "value": 200}],
        },
        "metadata": {"channel": "app"},
    }
    earned = masivo.call("post", "/behavior/events", purchase, 201)
    assert EVENT_KEYS <= set(earned["data"]) and earned["data"]["status"] == "RESOLVED"
    assert [a["amount"] for a in earned["data"]["result"]["accumulations"]] == [20]
    assert earned["data"]["result"]["wallet"]["totals"][0]["total"] == 20
    assert {w["field"] for w in earned["warnings"]} == {"order.timestamp", "order.products[0].quantity"}

    # redemptions at all four levels of Masivo's emit body, previewed first
    spend = {
        "customer_id": "masivo-1",
        "brand_id": "0001",
        "type": "PURCHASE",
        "redeem": [{"id": str(points.pk), "amount": 1}],
        "order": {
            "purchase_id": "M-1002",
            "value": 50,
            "redeem": [{"id": str(points.pk), "amount": 2}],
            "products": [{"sku": "MUG", "amount": 1, "value": 40, "redeem": [{"id": str(points.pk), "amount": 3}]}],
            "shipping": {"value": 10, "redeem": [{"id": str(points.pk), "amount": 4}]},
        },
    }
    preview = masivo.call("put", "/events/redeem/preview", spend)["data"]
    assert preview["valid"] is True and len(preview["redemptions"]) == 4
    spent = masivo.call("post", "/behavior/events", spend, 201)["data"]
    assert spent["status"] == "RESOLVED"
    assert sorted(r["place"] for r in spent["result"]["redemptions"]) == [
        "order.products[0].redeem[0]",
        "order.redeem[0]",
        "order.shipping.redeem[0]",
        "redeem[0]",
    ]
    assert sum(Decimal(str(r["amount"])) for r in spent["result"]["redemptions"]) == 10

    # a held purchase, fulfilled; another reversed
    held = {**purchase, "fulfilled": False, "order": {"purchase_id": "M-1003", "value": 30}}
    pending = masivo.call("post", "/behavior/events", held, 201)["data"]
    assert pending["status"] == "PENDING"
    fulfilled = masivo.call("patch", f"/behavior/events/{pending['id']}/fulfill")["data"]
    assert fulfilled["status"] == "RESOLVED"
    reversed_ = masivo.call("post", f"/behavior/events/{earned['data']['id']}/reverse", {"reason": "refund"})["data"]
    assert reversed_["status"] == "REVERSED"
    assert masivo.call("get", f"/behavior/events/{earned['data']['id']}")["data"]["status"] == "REVERSED"

    # the customer's wallet and ledger, then the programme's ledger of the day
    wallet = masivo.call("get", "/customers/masivo-1")["data"]["wallet"]
    # 20 earned and reversed; 5 from the 50 (the spend event earns too), 3 from the held 30; 10 spent
    assert [t["total"] for t in wallet["totals"]] == [-2]
    year = timezone.localdate().year
    mine = masivo.call("get", f"/customers/masivo-1/transactions?year={year}")
    assert {"data", "from", "to", "count"} <= set(mine) and mine["count"] >= 6
    day = masivo.call("get", f"/transactions?date={timezone.localdate():%d-%m-%Y}&limit=1000")
    assert {"data", "cursor"} <= set(day)
    rows = day["data"]
    assert rows and {row["type"] for row in rows} >= {"ACCUMULATION", "REDEMPTION", "REVERSAL"}
    older = masivo.call("get", f"/transactions?date={timezone.localdate():%d-%m-%Y}&cursor={rows[0]['id']}")
    assert [row["id"] for row in older["data"]] == [row["id"] for row in rows[1:]]
