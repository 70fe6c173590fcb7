"""API keys resolved from the shared cache (Redis in production) for LOYALTY_API_KEY_CACHE_SECONDS,
so that a request does not look its key up in the database every time.

- Keyed by `key_hash`, the SHA-256 of the credential's canonical form (ApiKey.canonical), never
  by the raw key: the cache holds nothing that authenticates.
- The entry holds the key's public fields and, for a restricted key, its brand ids. Its secrets
  (`key_hash`, `token_secret`) stay out of it: a key rebuilt from the cache has them deferred, so
  `GET /auth/authorize`, which signs with `token_secret`, reads that one column when it needs it.
- A revoked or changed key (any save of the row, or of its brands: the post_save and
  m2m_changed signals in campaigns.signals) is refused, or seen changed, on the very next
  request in every process: once the change commits, its entry is overwritten by a tombstone
  that lives as long as an entry does, and entries are only ever written with `cache.add`, which
  never replaces a tombstone. So a request that read the row just before the change committed
  cannot put the old row back. (A `QuerySet.update()` of is_active bypasses the signals: the
  services never do that.) While the tombstone lives, the key is read from the database.
- Deleting a brand removes it from restricted keys without a signal: their cached brand ids may
  name it for one cache period, which grants nothing (the brand no longer exists).
- Tokens (`GET /auth/authorize`) are not cached: verifying one needs the key's `token_secret`,
  which must not leave the database; each token request reads its key by primary key.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from campaigns.models import ApiKey

_PREFIX = "loyalty:apikey:"
_TOMBSTONE = "changed"
_FIELDS = ("id", "created_at", "updated_at", "name", "lookup", "is_unrestricted", "is_active", "last_used_at")


def _ttl() -> int:
    return settings.LOYALTY_API_KEY_CACHE_SECONDS


def cache_key(key_hash: str) -> str | None:
    """The cache key of the entry for this hash (None while keys are not cached): a caller that
    reads other entries anyway reads it with them (`cache.get_many`) and passes it to cached_key."""
    return _PREFIX + key_hash if _ttl() > 0 else None


_UNREAD = object()


def cached_key(key_hash: str, entry=_UNREAD) -> ApiKey | None:
    """The active key cached under this hash, or None (not cached, or changed lately). `entry`:
    what the cache holds under cache_key(key_hash), when the caller read it already."""
    if _ttl() <= 0:
        return None
    if entry is _UNREAD:
        entry = cache.get(_PREFIX + key_hash)
    if not isinstance(entry, dict):
        return None
    key = ApiKey.from_db("default", list(_FIELDS), [entry[f] for f in _FIELDS])
    if entry["brand_ids"] is not None:
        key._brand_ids = set(entry["brand_ids"])
    return key


def remember_key(key: ApiKey, key_hash: str) -> None:
    """Cache an active key just read from the database (never over a tombstone)."""
    if _ttl() <= 0:
        return
    entry = {f: getattr(key, f) for f in _FIELDS}
    entry["brand_ids"] = None if key.is_unrestricted else sorted(key.brands.values_list("pk", flat=True))
    if entry["brand_ids"] is not None:
        key._brand_ids = set(entry["brand_ids"])
    cache.add(_PREFIX + key_hash, entry, timeout=_ttl())


def forget_key(key: ApiKey) -> None:
    """After the current transaction commits, replace the key's entry by a tombstone (module
    docstring). Outside a transaction, at once."""
    key_hash = key.key_hash
    transaction.on_commit(lambda: cache.set(_PREFIX + key_hash, _TOMBSTONE, timeout=max(_ttl(), 1)))
