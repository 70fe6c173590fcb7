"""Masivo's migration calls (SPEC section 8, Migration), queued for a Celery worker:

- `POST /customers/migrate` `{"customers": [...]}` (importing.customers),
- `POST /customers/migrate/events` `{"events": [...]}` (importing.events),
- `POST /customers/migrate/transactions` `{"transactions": [...]}` (importing.transactions),

each at most 1,000 records, answered 202 with the job; `GET /migrations/{id}` answers the job's
progress and its per-record outcomes. A record that could never be imported (its shape, a type,
a bound) refuses the whole call with 400 naming it by index, and nothing is stored; what depends
on the programme (an unknown reward, a customer already imported) is the job's per-record answer.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands
from campaigns.models import ApiKey
from core.renderers import InstantField
from core.schema import refusal
from core.serializers import JSONObjectField, StrictSerializer
from core.views import EnvelopeMixin
from importing import services
from importing.models import ImportJob
from importing.records import MAX_BATCH

MAX_BODY = 16 * 1024 * 1024  # 1,000 records with their balance lines or orders


def _key(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class RecordField(JSONObjectField):
    exact = True  # amounts stay Decimals, exactly as sent, to the job and the ledger


def _records(help_text: str):
    return serializers.ListField(child=RecordField(), max_length=MAX_BATCH, allow_empty=False, help_text=help_text)


class CustomersMigrateIn(StrictSerializer):
    customers = _records(
        "Customers with `id` (required), `name`, `email`, `registration_date`, `gender`, `dob`, `document_type`, "
        "`document_number`, `country`, `balance` (lines: `reward_id`, `amount`, `expiration_date`, `brand_id`, "
        "`channel_id`, `store_id`, `issued_at`) and `metrics` (per period: `lifetime` and months `YYYY-MM`, each "
        "`number_of_purchases`, `spend_total`, `events`, `last_visit`). docs/importing.md has the rules.",
    )


class EventsMigrateIn(StrictSerializer):
    events = _records(
        "Historical events: `customer_id`, `brand_id`, `type`, `issued_at` (required), `order` (as an emitted "
        "event's; required for a PURCHASE), `resolved_at`, `fulfilled` (true), `id`, `platform`, `metadata`.",
    )


class TransactionsMigrateIn(StrictSerializer):
    transactions = _records(
        "Historical ledger rows: `customer_id`, `reward_id`, `type`, `amount` (signed), `created_at` (required), "
        "`id`, `brand_id`, `event_id`, `campaign_id`, `details`. Per customer and reward they must sum to the "
        "migrated balance.",
    )


class RecordIssueOut(serializers.Serializer):
    index = serializers.IntegerField(help_text="The record's position in the call (from 0).")
    id = serializers.CharField(help_text="The record's key: a customer's id, an event's or transaction's key.")
    code = serializers.CharField(help_text="`already_imported` (skipped), or why it was refused.")
    message = serializers.CharField()


class ImportJobOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    status = serializers.ChoiceField(choices=ImportJob.Status.choices)
    total = serializers.IntegerField(help_text="Records in the call.")
    processed = serializers.IntegerField(help_text="Records written so far (imported, skipped or refused).")
    imported = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Already imported: nothing written twice.")
    failed = serializers.IntegerField(help_text="Refused records (each in `errors`).")
    errors = RecordIssueOut(many=True, help_text="Every record not imported, skipped ones included.")
    error = serializers.CharField(help_text="Why a FAILED job broke (empty otherwise).")
    created_at = InstantField()
    started_at = InstantField(allow_null=True)
    finished_at = InstantField(allow_null=True)


ACCEPTED = {
    202: OpenApiResponse(ImportJobOut, description="Queued: the job, QUEUED; follow it at `GET /migrations/{id}`."),
}


class _MigrateView(EnvelopeMixin, APIView):
    kind: str
    serializer: type[StrictSerializer]
    max_body_bytes = MAX_BODY  # core.parsers

    def post(self, request):
        data = self.serializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            job = services.import_job_create(
                kind=self.kind,
                records=data.validated_data[self.kind],
                api_key=_key(request),
                brands=allowed_brands(request),
            )
        return Response(ImportJobOut(job).data, status=202)


@extend_schema(
    summary="Migrate customers with their balances and metrics",
    request=CustomersMigrateIn,
    description="Creates each customer with its wallet: one wallet line per balance entry with its own expiry, "
    "written as a MIGRATION ledger row, and the imported metrics. No REGISTRATION event, no campaign, no "
    "webhook. At most 1,000 a call, written by a worker; a customer imported before is answered "
    "`already_imported` in the job, and nothing is created twice. A brand-restricted key imports balances "
    "of its brands' rewards only (another brand's answers as unknown).",
    responses={**ACCEPTED, 400: refusal("A record that can never be imported (named by its index); nothing stored.")},
)
class CustomersMigrateView(_MigrateView):
    kind = ImportJob.Kind.CUSTOMERS
    serializer = CustomersMigrateIn


@extend_schema(
    summary="Migrate historical events",
    request=EventsMigrateIn,
    description="Stores each event RESOLVED at its own `issued_at` and `resolved_at` (any age): no campaign, no "
    "wallet movement, no webhook. Then each customer's metrics are rebuilt from its events and its tier "
    "recomputed. An event is keyed by its `id`, else brand, type and `order.purchase_id`: sent again, it is "
    "`already_imported`.",
    responses={**ACCEPTED, 400: refusal("A record that can never be imported (named by its index); nothing stored.")},
)
class EventsMigrateView(_MigrateView):
    kind = ImportJob.Kind.EVENTS
    serializer = EventsMigrateIn


@extend_schema(
    summary="Migrate historical ledger rows",
    request=TransactionsMigrateIn,
    description="Keeps each customer's history as records (they move no balance). Per customer and reward, "
    "the history (imported before and in this call) must sum to the migrated balance: if a customer already "
    "imported does not reconcile, the call is refused (422 `unreconciled`, naming each customer, reward and "
    "difference, in `details` and `customers`); a customer not imported yet is judged by the job.",
    responses={
        **ACCEPTED,
        400: refusal("A record that can never be imported (named by its index); nothing stored."),
        422: refusal("`unreconciled`: nothing stored."),
    },
)
class TransactionsMigrateView(_MigrateView):
    kind = ImportJob.Kind.TRANSACTIONS
    serializer = TransactionsMigrateIn


class MigrationJobView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="A migration job's progress",
        description="The key that sent it, or an unrestricted key, sees it; to others it is unknown (404).",
        responses={200: ImportJobOut, 404: refusal("No such job (or another key's).")},
    )
    def get(self, request, job_id):
        job = services.import_job_get(job_id=job_id, api_key=_key(request), brands=allowed_brands(request))
        return Response(ImportJobOut(job).data)
