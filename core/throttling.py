"""Rate limits shared by every process and node (issue 8, item 9).

Each limit is a fixed-window counter in the Django cache: the local memory cache when CACHE_URL
is unset (each process then counts on its own; `make run`), Redis in production
(`CACHE_URL=redis://...`), where every worker process on every node counts against the same budget. A counter is one atomic
`incr` per request; DRF's own throttles keep a list of request times per client and rewrite it
on every request (read, then write: two workers racing both pass, and at 6,000 a minute the
list is 6,000 floats pickled per request), which is why these are ours.

A fixed window lets a client spend its budget at the end of one window and again at the start
of the next (up to twice the rate over a short span); that is the price of one counter.

The limits (settings, from the environment, "N/s", "N/min", "N/hour" or "N/day"; empty for none):

- `LOYALTY_API_RATE` (6000/min): writes (POST, PUT, PATCH, DELETE) per API key;
- `LOYALTY_AUTHORIZE_RATE` (60/min): `GET /auth/authorize` per API key;
- `LOYALTY_AUTH_FAILURE_RATE` (30/min): failed authentications per client address. Past it,
  every request from that address that carries a credential answers 429 until the window ends,
  before its credential is even looked at;
- `LOYALTY_TOTP_GUESS_RATE` (10/min): wrong customer one-time codes per customer, or per API key
  when the verify names no customer (events/codes.py).

Each answers 429 `throttled` with `Retry-After` (seconds until the window ends).
The client address is REMOTE_ADDR, or behind `LOYALTY_NUM_PROXIES` trusted proxies the address
that many hops from the right of X-Forwarded-For (DRF's NUM_PROXIES).
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
PERIODS |= {"d": 86400, "day": 86400}
RATE_SETTINGS = ("LOYALTY_API_RATE", "LOYALTY_AUTHORIZE_RATE", "LOYALTY_AUTH_FAILURE_RATE", "LOYALTY_TOTP_GUESS_RATE")


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """ "6000/min" -> (6000, 60); empty or None -> None (no limit)."""
    if not rate:
        return None
    count, _, period = str(rate).partition("/")
    try:
        number, seconds = int(count), PERIODS[period.strip().lower()]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"a rate is 'N/s', 'N/min', 'N/hour' or 'N/day', not {rate!r}") from None
    if number < 1:
        raise ImproperlyConfigured(f"a rate allows at least one request, not {rate!r}")
    return number, seconds


@register()
def check_rates(app_configs, **kwargs):
    errors = []
    for name in RATE_SETTINGS:
        try:
            parse_rate(getattr(settings, name, None))
        except ImproperlyConfigured as exc:
            errors.append(Error(f"{name}: {exc}", id="core.E001"))
    return errors


class Window:
    """A named fixed-window counter whose rate is the setting `setting`."""

    def __init__(self, scope: str, setting: str):
        self.scope, self.setting = scope, setting

    def _current(self, ident) -> tuple[str, int, float] | None:
        rate = parse_rate(getattr(settings, self.setting))
        if rate is None:
            return None
        number, period = rate
        now = time.time()
        window = int(now // period)
        return f"rate:{self.scope}:{ident}:{window}", number, (window + 1) * period - now

    def hit(self, ident) -> float | None:
        """Count one request; None while within the limit, else the seconds until it resets."""
        current = self._current(ident)
        if current is None:
            return None
        key, number, remaining = current
        timeout = math.ceil(remaining) + 1
        # the window's counter exists for all but its first request: counting it first is one
        # round trip to the cache (two when it starts the window)
        try:
            count = cache.incr(key)
        except ValueError:  # no counter yet: start it (or count on one another request just started)
            if cache.add(key, 1, timeout=timeout):
                count = 1
            else:
                try:
                    count = cache.incr(key)
                except ValueError:  # it expired between the calls
                    cache.add(key, 1, timeout=timeout)
                    count = 1
        return None if count <= number else remaining

    def exceeded(self, ident, *, read: dict | None = None) -> float | None:
        """Like hit, without counting: whether the limit is already spent. `read`: entries the
        caller fetched with `cache.get_many(...)` including `counter_key(ident)` (no read here)."""
        current = self._current(ident)
        if current is None:
            return None
        key, number, remaining = current
        count = read.get(key) if read is not None else cache.get(key)
        return remaining if (count or 0) >= number else None

    def counter_key(self, ident) -> str | None:
        """The cache key of this window's counter for `ident` now (None: no limit set)."""
        current = self._current(ident)
        return None if current is None else current[0]

    def refund(self, ident) -> None:
        """Take back one `hit` (a request counted first, atomically, that turned out not to
        count: a right one-time code is no wrong guess)."""
        current = self._current(ident)
        if current is None:
            return
        try:
            cache.decr(current[0])
        except ValueError:  # the window ended meanwhile: nothing to take back
            pass


WRITES = Window("write", "LOYALTY_API_RATE")
AUTHORIZE = Window("authorize", "LOYALTY_AUTHORIZE_RATE")
AUTH_FAILURES = Window("auth-failure", "LOYALTY_AUTH_FAILURE_RATE")


def client_address(request) -> str:
    """The client's address as DRF's throttles see it (REMOTE_ADDR, or behind NUM_PROXIES the
    address that many hops from the right of X-Forwarded-For)."""
    return BaseThrottle().get_ident(request)


class _KeyThrottle(BaseThrottle):
    window: Window
    _wait: float | None = None

    def applies(self, request) -> bool:
        return True

    def allow_request(self, request, view):
        key = getattr(request, "auth", None)
        if key is None or not self.applies(request):
            return True
        self._wait = self.window.hit(key.pk)
        return self._wait is None

    def wait(self):
        return self._wait


class WriteRateThrottle(_KeyThrottle):
    """LOYALTY_API_RATE: writes per API key (the default throttle of every API view)."""

    window = WRITES

    def applies(self, request) -> bool:
        return request.method not in SAFE_METHODS


class AuthorizeRateThrottle(_KeyThrottle):
    """LOYALTY_AUTHORIZE_RATE: GET /auth/authorize per API key."""

    window = AUTHORIZE
