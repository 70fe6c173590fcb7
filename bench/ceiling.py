"""The ceiling of the HTTP benchmark (issue 11, item 1): what the engine's two hot requests cost
when written by hand, served by the same gunicorn, the same middleware and the same database.

Mounted only by config.settings.bench (ROOT_URLCONF = "bench.ceiling"), in front of the
production URLs, which it includes unchanged:

- `POST /bench/ceiling/emit`: the fulfilled purchase of bench/http_bench.py's programme (one
  PER_VALUE campaign, 1 point per 10 of `order.value`), as the engine writes it, in hand-written
  SQL: the API key found by its lookup and checked by its SHA-256, then one transaction of seven
  statements (lock the wallet, insert the event, its wallet line, its ACCUMULATION row, upsert
  the wallet total, upsert the month's metric bucket, insert the transition), answered with the
  event id, the accumulation and the wallet total as JSON. The rows are the engine's own tables
  and agree with each other, so `verify_ledger` stays clean after a ceiling run.
- `GET /bench/ceiling/customers/<id>`: the customer with its wallet (totals with their reward,
  spendable lines) and lifetime metrics, in four SELECTs after the key look-up.

What it leaves out is what the engine adds around the same rows: validation of the payload
(a ceiling trusts its input), rule evaluation, the idempotency and duplicate-purchase checks,
serializers. That difference is what the ratio printed by the bench measures. Plain Django
views (csrf_exempt, as DRF's views are for key authentication), no DRF.
"""

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

_PROGRAMME: dict = {}  # this worker's campaign and reward ids, read once (the programme cache's part)


def _programme(cursor) -> dict:
    if not _PROGRAMME:
        cursor.execute(
            "SELECT c.id, c.brand_id, r.id FROM campaigns_campaign c, campaigns_reward r "
            "WHERE c.name = 'bench points' AND r.brand_id = c.brand_id ORDER BY c.created_at LIMIT 1"
        )
        campaign_id, brand_id, reward_id = cursor.fetchone()
        _PROGRAMME.update(campaign=campaign_id, brand=brand_id, reward=reward_id)
    return _PROGRAMME


def _key_ok(cursor, request) -> bool:
    """The key of `Authorization: Bearer <uuid>`, as campaigns.models.ApiKey.find checks it."""
    raw = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    cursor.execute("SELECT key_hash FROM campaigns_apikey WHERE lookup = %s AND is_active", [raw.replace("-", "")[:12]])
    row = cursor.fetchone()
    return row is not None and secrets.compare_digest(row[0], hashlib.sha256(raw.encode()).hexdigest())


@csrf_exempt
def ceiling_emit(request):
    payload = json.loads(request.body)
    order = payload["order"]
    value = Decimal(str(order["value"]))
    amount = (value / 10).quantize(Decimal("0.01"), rounding=ROUND_DOWN)  # PER_VALUE 1 per 10
    now = datetime.now(UTC)
    month = now.date().replace(day=1)
    event_id = uuid.uuid4()
    with connection.cursor() as cursor:
        if not _key_ok(cursor, request):
            return JsonResponse({"error": "authentication_failed"}, status=401)
        prog = _programme(cursor)
        with transaction.atomic():
            cursor.execute("SELECT id FROM wallets_wallet WHERE customer_id = %s FOR UPDATE", [payload["customer_id"]])
            (wallet_id,) = cursor.fetchone()
            accumulation = {"reward_id": str(prog["reward"]), "campaign_id": str(prog["campaign"]), "amount": amount}
            cursor.execute(
                "INSERT INTO events_event (id, customer_id, brand_id, type, status, fulfilled, reserve, queued,"
                " queue_message_id, purchase_id, platform, data, result, rewarding_campaigns, reason, error_code,"
                " issued_at, created_at, resolved_at) VALUES (%s, %s, %s, 'PURCHASE', 'RESOLVED', true, 1, false,"
                " '', %s, '', %s, %s, %s, '', '', %s, %s, %s)",
                [
                    event_id,
                    payload["customer_id"],
                    payload["brand_id"],
                    order["purchase_id"],
                    request.body.decode(),
                    json.dumps({"accumulations": [accumulation]}, default=str),
                    json.dumps([{"campaign_id": str(prog["campaign"]), "rule_id": "r1"}]),
                    now,
                    now,
                    now,
                ],
            )
            cursor.execute(
                "INSERT INTO wallets_walletline (created_at, updated_at, wallet_id, reward_id, campaign_id, rule_id,"
                " budgeted, brand_id, event_id, amount, remaining, reserved, state, issued_at)"
                " VALUES (%s, %s, %s, %s, %s, 'r1', false, %s, %s, %s, %s, 0, 'AVAILABLE', %s) RETURNING id",
                [now, now, wallet_id, prog["reward"], prog["campaign"], prog["brand"], event_id, amount, amount, now],
            )
            (line_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO wallets_transaction (type, amount, wallet_id, reward_id, line_id, event_id, campaign_id,"
                " brand_id, created_at, details) VALUES ('ACCUMULATION', %s, %s, %s, %s, %s, %s, %s, %s, '{}')",
                [amount, wallet_id, prog["reward"], line_id, event_id, prog["campaign"], prog["brand"], now],
            )
            cursor.execute(
                "INSERT INTO wallets_wallettotal (wallet_id, reward_id, balance, reserved, debt, pending)"
                " VALUES (%s, %s, %s, 0, 0, 0) ON CONFLICT (wallet_id, reward_id)"
                " DO UPDATE SET balance = wallets_wallettotal.balance + EXCLUDED.balance RETURNING balance",
                [wallet_id, prog["reward"], amount],
            )
            (total,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO wallets_metricbucket (customer_id, month, brand_id, number_of_purchases, spend_total,"
                " events, last_visit) VALUES (%s, %s, %s, 1, %s, '{\"PURCHASE\": 1}', %s)"
                " ON CONFLICT (customer_id, month, brand_id) WHERE brand_id IS NOT NULL DO UPDATE SET"
                " number_of_purchases = wallets_metricbucket.number_of_purchases + 1,"
                " spend_total = wallets_metricbucket.spend_total + EXCLUDED.spend_total,"
                " events = jsonb_set(wallets_metricbucket.events, '{PURCHASE}',"
                " to_jsonb(COALESCE((wallets_metricbucket.events->>'PURCHASE')::int, 0) + 1)),"
                " last_visit = GREATEST(wallets_metricbucket.last_visit, EXCLUDED.last_visit)",
                [payload["customer_id"], month, payload["brand_id"], value, now],
            )
            cursor.execute(
                "INSERT INTO events_eventtransition (event_id, from_status, to_status, at, source, reason)"
                " VALUES (%s, '', 'RESOLVED', %s, 'api', '')",
                [event_id, now],
            )
    data = {
        "id": str(event_id),
        "status": "RESOLVED",
        "result": {"accumulations": [{"id": line_id, **accumulation}], "wallet": {"total": total}},
    }
    return JsonResponse({"data": data}, status=201, json_dumps_params={"default": str})


def ceiling_customer(request, customer_id: str):
    with connection.cursor() as cursor:
        if not _key_ok(cursor, request):
            return JsonResponse({"error": "authentication_failed"}, status=401)
        cursor.execute(
            "SELECT c.id, c.name, c.email, c.status, c.tags, c.metadata, c.registration_date, c.tier_id, w.id"
            " FROM wallets_customer c JOIN wallets_wallet w ON w.customer_id = c.id WHERE c.id = %s",
            [customer_id],
        )
        row = cursor.fetchone()
        if row is None:
            return JsonResponse({"error": "not_found"}, status=404)
        wallet_id = row[8]
        cursor.execute(
            "SELECT t.reward_id, r.name, r.type, r.decimals, t.balance, t.reserved, t.pending, t.debt"
            " FROM wallets_wallettotal t JOIN campaigns_reward r ON r.id = t.reward_id WHERE t.wallet_id = %s",
            [wallet_id],
        )
        totals = [
            dict(zip(("reward_id", "name", "type", "decimals", "total", "reserved", "pending", "debt"), t, strict=True))
            for t in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT id, reward_id, amount, remaining, reserved, expiration_date FROM wallets_walletline"
            " WHERE wallet_id = %s AND state = 'AVAILABLE' AND remaining > 0"
            " AND (expiration_date IS NULL OR expiration_date > now()) ORDER BY expiration_date, id LIMIT 500",
            [wallet_id],
        )
        lines = [
            dict(zip(("id", "reward_id", "amount", "remaining", "reserved", "expiration_date"), r, strict=True))
            for r in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT COALESCE(SUM(number_of_purchases), 0), COALESCE(SUM(spend_total), 0), MAX(last_visit)"
            " FROM wallets_metricbucket WHERE customer_id = %s",
            [customer_id],
        )
        purchases, spend, last_visit = cursor.fetchone()
    data = {
        **dict(
            zip(
                ("id", "name", "email", "status", "tags", "metadata", "registration_date", "tier_id"),
                row[:8],
                strict=True,
            )
        ),
        "wallet": {"totals": totals, "lines": lines},
        "metrics": {"lifetime": {"number_of_purchases": purchases, "spend_total": spend, "last_visit": last_visit}},
    }
    return JsonResponse({"data": data}, json_dumps_params={"default": str})


urlpatterns = [
    path("bench/ceiling/emit", ceiling_emit),
    path("bench/ceiling/customers/<str:customer_id>", ceiling_customer),
    path("", include("config.urls")),
]
