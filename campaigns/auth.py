"""API authentication: `Authorization: Bearer <key or token>` or `x-api-key: <key>`.

`GET /api/v1/auth/authorize` with the key answers a token valid for one hour
(LOYALTY_API_TOKEN_MAX_AGE), accepted as a Bearer credential like the key itself: a JWT (HS256)
with the key's id (`sub`), `iat`, `exp` and a random `jti`, signed with a secret of the key's
own, so it cannot be minted from a key id, and it dies with its key (the key behind a token is
looked up on every request). Keys themselves are resolved from the shared cache for a few seconds
(campaigns.key_cache), and a revocation drops the entry when it commits.
"""

import secrets
import time

import jwt
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from campaigns.key_cache import cache_key, cached_key, remember_key
from campaigns.models import ApiKey
from core.throttling import AUTH_FAILURES, client_address

TOKEN_ALGORITHM = "HS256"
TOKEN_CLAIMS = ["sub", "iat", "exp", "jti"]


def issue_token(key: ApiKey) -> str:
    """A JWT for `key`: its id, issued-at, expiry (LOYALTY_API_TOKEN_MAX_AGE on) and a random id,
    signed with the key's own secret (ApiKey.token_secret), which never leaves the database."""
    now = int(time.time())
    claims = {
        "sub": str(key.pk),
        "iat": now,
        "exp": now + settings.LOYALTY_API_TOKEN_MAX_AGE,
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, key.token_secret, algorithm=TOKEN_ALGORITHM)


def key_from_token(token: str) -> ApiKey | None:
    """The active key whose secret signed this unexpired token, else None. The key id is read
    unverified only to find which secret to verify with."""
    try:
        key_id = int(jwt.decode(token, options={"verify_signature": False})["sub"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return None
    key = ApiKey.objects.filter(pk=key_id, is_active=True).first()
    if key is None:
        return None
    try:
        claims = jwt.decode(token, key.token_secret, algorithms=[TOKEN_ALGORITHM], options={"require": TOKEN_CLAIMS})
    except jwt.InvalidTokenError:
        return None
    if claims["iat"] + settings.LOYALTY_API_TOKEN_MAX_AGE < time.time():  # the max age was lowered since
        return None
    return key


def _credential(meta) -> str | None:
    raw = meta.get("HTTP_X_API_KEY")
    if raw:
        return raw
    scheme, _, value = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _authenticate(request) -> ApiKey | None:
    raw = _credential(request.META)
    if raw is None:
        return None
    address = client_address(request)
    by_token = raw.count(".") == 2  # a JWT (header.claims.signature); keys are UUIDs (or lk_<id>.<secret>)
    canonical = None if by_token else ApiKey.canonical(raw)
    key_hash = None if canonical is None else ApiKey.hash(canonical[1])
    # the address's failure counter and the key's cache entry in one round trip to the cache
    names = [n for n in (AUTH_FAILURES.counter_key(address), key_hash and cache_key(key_hash)) if n]
    read = cache.get_many(names) if names else {}
    wait = AUTH_FAILURES.exceeded(address, read=read)
    if wait is not None:  # refused before the credential is looked at
        raise exceptions.Throttled(wait, detail="too many failed authentications from this address")
    if by_token:
        key, key_hash = key_from_token(raw), None
    else:
        key, key_hash = _key_from_credential(raw, key_hash, read)
    if key is None:
        AUTH_FAILURES.hit(address)
        raise exceptions.AuthenticationFailed("invalid API key or token")
    key.by_token = by_token
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    if key_hash is not None:
        remember_key(key, key_hash)  # a no-op when the entry exists (cache.add)
    return key


def _key_from_credential(raw: str, key_hash: str | None, read: dict) -> tuple[ApiKey | None, str | None]:
    """The active key `raw` is, from the shared cache (its entry among `read`) or else the
    database (campaigns.key_cache), and the hash to cache it under when it came from the
    database (None when it came from the cache, or is no key). `key_hash`: the hash of the
    canonical credential, None when `raw` is not one."""
    if key_hash is None:
        return None, None
    name = cache_key(key_hash)
    key = cached_key(key_hash, read.get(name)) if name is not None else None
    if key is not None:
        return key, None
    key = ApiKey.find(raw)
    return key, (key_hash if key is not None else None)


def request_key(request) -> ApiKey | None:
    """The API key of a Django request's credential (`Authorization: Bearer <key or token>` or
    `x-api-key: <key>`), None when it carries none. Raises AuthenticationFailed for a bad one
    and Throttled past LOYALTY_AUTH_FAILURE_RATE. Worked out once per request and kept on it:
    the idempotency middleware asks first (its records belong to the key), then DRF."""
    if not hasattr(request, "_api_key"):
        try:
            request._api_key = _authenticate(request)
        except exceptions.APIException as exc:
            request._api_key = exc
    if isinstance(request._api_key, exceptions.APIException):
        raise request._api_key
    return request._api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = request_key(request._request)
        return None if key is None else (key, key)

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
                "description": "`Authorization: Bearer <API key>` (keys are UUIDs), or a one-hour token "
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
