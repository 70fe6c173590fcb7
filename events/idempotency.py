"""`Idempotency-Key` on every POST under /api/ (SPEC section 3, beyond Masivo).

The same key with the same body replays the first response (status and body) with
`Idempotent-Replayed: true`; the same key with another body answers 409 `idempotency_conflict`.

How: the request runs inside one transaction that first inserts the key's record. A concurrent
request with the same key blocks on the unique index until the first commits, then finds the
record and replays it: two in flight never both apply. Responses are kept for 2xx and for 422
(the event was stored FAILED and must not be re-run); for any other error the record is rolled
back with the request, so a corrected retry may reuse the key. Keys are kept 24 hours.

Records belong to the API key (campaigns.auth.request_key), whatever form its credential takes,
and the request authenticates before any record is looked at: a revoked key gets 401 even for
a request it sent before, and a request without a valid key never touches the records.
"""

import hashlib
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework.exceptions import APIException

from campaigns.auth import request_key
from core.api import UNAVAILABLE, UNAVAILABLE_HEADERS
from core.json import canonical
from events.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
KEEP = timedelta(hours=24)
KEPT_STATUSES = range(200, 300)


class _Discard(Exception):
    def __init__(self, response):
        self.response = response


def _body_hash(raw: bytes) -> str:
    """The same JSON document, whatever its spacing or key order, is the same body; numbers are
    compared as exact decimals (a body differing only in the 16th digit is another body)."""
    return hashlib.sha256(canonical(raw)).hexdigest()


def _scope(api_key) -> str:
    """Records belong to the API key, whatever form its credential took (the key as Bearer or
    x-api-key, any of its tokens): a client that refreshes its token and retries is replayed."""
    return f"key:{api_key.pk}"


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.status_code, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def _conflict(details: str) -> JsonResponse:
    return JsonResponse({"error": "idempotency_conflict", "details": details}, status=409)


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get(HEADER)
        if request.method != "POST" or not key or not request.path.startswith("/api/"):
            return self.get_response(request)
        try:  # authentication first: no record is read or written for a request without a valid key
            api_key = request_key(request)
        except APIException:  # a bad credential: the view answers 401 (or 429)
            return self.get_response(request)
        except (OperationalError, InterfaceError):
            return JsonResponse(UNAVAILABLE, status=503, headers=UNAVAILABLE_HEADERS)
        if api_key is None:  # no credential: the view answers 401
            return self.get_response(request)
        if len(key) > 255:
            return JsonResponse(
                {"error": "validation_error", "details": {"Idempotency-Key": "at most 255 characters"}}, status=400
            )
        try:
            raw = request.body
        except RequestDataTooBig:  # the API's parser answers the 400
            return self.get_response(request)
        scope, body_hash = _scope(api_key), _body_hash(raw)
        try:
            return self._once(request, scope, key, body_hash)
        except (OperationalError, InterfaceError):
            return JsonResponse(UNAVAILABLE, status=503, headers=UNAVAILABLE_HEADERS)

    def _once(self, request, scope, key, body_hash):
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    scope=scope, key=key, method=request.method, path=request.path, body_hash=body_hash
                )
                response = self.get_response(request)
                if response.status_code not in KEPT_STATUSES and response.status_code != 422:
                    raise _Discard(response)
                IdempotencyRecord.objects.filter(scope=scope, key=key).update(
                    status_code=response.status_code,
                    response_body=response.content,
                    content_type=response.get("Content-Type", "application/json"),
                )
                return response
        except _Discard as discard:
            return discard.response
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
            if record is None or record.status_code is None:  # pragma: no cover - the first is still running
                return _conflict("a request with this key is in progress")
            if record.body_hash != body_hash or record.path != request.path:
                return _conflict("this Idempotency-Key was used with another request body")
            return _replay(record)


def idempotency_purge(*, now=None) -> int:
    """Delete records older than 24 hours. Returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=(now or timezone.now()) - KEEP).delete()
    return deleted
