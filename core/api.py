"""The API's error shape: `{"error": "<machine_code>", "details": <text or field map>}`.

DRF's own exceptions and the domain errors of core.exceptions both come out in that shape.
No rollback is forced here: services own their transactions (their work is already rolled
back when they raise), and the idempotency middleware must be able to keep a 422 whose event was
stored FAILED. Field errors are flattened into dotted paths (`order.products[1].value`) so a client can see
exactly which field was refused.
"""

import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db.utils import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.exceptions import DomainError

_DRF_CODES = {
    drf.ParseError: "parse_error",
    drf.AuthenticationFailed: "not_authenticated",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ValidationError: "validation_error",
}


def flatten_errors(detail, prefix: str = "") -> dict[str, str]:
    """Turn DRF's nested error detail into {"a.b[0].c": "message"}."""
    out: dict[str, str] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF keys list errors by index
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, name))
    elif isinstance(detail, list):
        if detail and all(isinstance(item, str) for item in detail):
            out[prefix or "body"] = " ".join(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(flatten_errors(item, f"{prefix}[{index}]"))
    else:
        out[prefix or "body"] = str(detail)
    return out


def error_response(code: str, details, status: int, headers: dict | None = None) -> Response:
    return Response({"error": code, "details": details}, status=status, headers=headers)


# What any request answers while the database is away (the API's handler and the idempotency
# middleware, which runs outside DRF).
UNAVAILABLE = {"error": "service_unavailable", "details": "the database is unavailable; retry shortly"}
UNAVAILABLE_HEADERS = {"Retry-After": "5"}


def database_unavailable() -> Response:
    return Response(UNAVAILABLE, status=503, headers=UNAVAILABLE_HEADERS)


def exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database went away (restart, failover, network). Nothing was committed by this
        # request; the next request reconnects (CONN_HEALTH_CHECKS).
        return database_unavailable()
    if isinstance(exc, DomainError):
        body_details = exc.details
        retry_after = getattr(exc, "retry_after", None)
        response = error_response(
            exc.code, body_details, exc.status_code, {"Retry-After": str(retry_after)} if retry_after else None
        )
        for key, value in exc.extra.items():
            response.data[key] = value
        return response
    if isinstance(exc, RequestDataTooBig):  # DRF reads request.body, which checks the size first
        exc = drf.ParseError(f"request body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if not isinstance(exc, drf.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    code = next((name for cls, name in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, drf.ValidationError):
        details = flatten_errors(exc.detail)
    else:
        details = str(exc.detail)
    return error_response(code, details, exc.status_code, headers)


def not_found_view(request, exception=None):
    from django.http import JsonResponse
    from django.shortcuts import render

    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not_found", "details": "no such endpoint"}, status=404)
    return render(request, "404.html", status=404)


def server_error_view(request):
    from django.http import HttpResponseServerError, JsonResponse

    if request.path.startswith("/api/"):
        return JsonResponse({"error": "server_error", "details": "internal error"}, status=500)
    return HttpResponseServerError("<h1>Server error</h1>")
