"""API authentication: `Authorization: Bearer <key or token>` or `x-api-key: <key>`.

`GET /api/v1/auth/authorize` with `x-api-key` answers a signed token valid for one hour
(LOYALTY_API_TOKEN_MAX_AGE), accepted as a Bearer credential like the key itself.
"""

from django.conf import settings
from django.core import signing
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from campaigns.models import ApiKey

TOKEN_SALT = "loyalty.api-token"


def issue_token(key: ApiKey) -> str:
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(str(key.pk))


def key_from_token(token: str) -> ApiKey | None:
    try:
        key_id = signing.TimestampSigner(salt=TOKEN_SALT).unsign(token, max_age=settings.LOYALTY_API_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return ApiKey.objects.filter(pk=key_id, is_active=True).first()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get("HTTP_X_API_KEY")
        if not raw:
            header = request.META.get("HTTP_AUTHORIZATION", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return None
            raw = value.strip()
        by_token = not raw.startswith(ApiKey.PREFIX)
        key = key_from_token(raw) if by_token else ApiKey.find(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("invalid API key or token")
        key.by_token = by_token
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return (key, key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def allowed_brands(request) -> set[str] | None:
    """The brand ids the request's key may use (maybe none), or None for an unrestricted key."""
    key = getattr(request, "auth", None)
    if not isinstance(key, ApiKey):
        return None
    if key.is_unrestricted:
        return None
    if not hasattr(key, "_brand_ids"):
        key._brand_ids = set(key.brands.values_list("pk", flat=True))  # empty: no brand at all
    return key._brand_ids


def check_brand(request, brand_id: str | None) -> None:
    """403 unless the key may use this brand (a restricted key may not act on global objects)."""
    allowed = allowed_brands(request)
    if allowed is not None and brand_id not in allowed:
        raise exceptions.PermissionDenied(
            f"this API key may not use brand {brand_id!r}" if brand_id else "this API key is restricted to brands"
        )


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """campaigns.auth.ApiKeyAuthentication: a key (or a one-hour token) as a bearer credential,
    or the key in `x-api-key`. Either one is enough (OR)."""

    target_class = "campaigns.auth.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"apiKeyAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <API key>` (keys start with `lk_`), or a one-hour token "
                "from `GET /api/v1/auth/authorize`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "x-api-key",
                "description": "`x-api-key: <API key>`. Keys are created by an operator (admin or "
                "`manage.py create_api_key`) and shown once.",
            },
        ]
