"""Customer one-time codes (Masivo's `/auth/totp`): a front end proves a customer's identity with a
short numeric code that the integrator delivers (the API returns it; sending it by SMS or e-mail
is the integrator's job, as in Masivo).

- A code has LOYALTY_TOTP_DIGITS digits (6) and lives LOYALTY_TOTP_TTL seconds (300) by the
  database's clock; it is spent by its first successful verify (one conditional UPDATE: of two
  racing verifies, exactly one wins). Live codes are unique (a partial unique index over unspent
  codes; an expired one gives its value back when it is drawn again).
- A code answers only the API key that issued it (the key itself or any of its tokens): another
  key gets 404 `code_not_found`, as for an unknown code. The metadata is the issuer's, and the
  per-key guess limit then bounds guesses against that key's own codes.
- Codes are kept as they are, not hashed: a hash of one of 10^6 values is no secret without a
  key, a code works only with the issuing API key (stored hashed), and whoever can read the
  database can read the keys' token secrets too (and so issue codes); a code is worth something
  for five minutes only. Spent and expired codes are purged by the periodic housekeeping.
- Wrong guesses are limited per customer (LOYALTY_TOTP_GUESS_RATE, 10/min: at most 60 guesses in
  a code's five minutes, fixed windows included, about one chance in 16,000 for six digits), or per
  API key when the verify names no customer (then every customer of the key shares the budget:
  send `customer_id`). A guess is counted before the code is looked at (one atomic increment, so
  parallel guesses cannot overrun the limit) and given back when it was right; past the limit
  even the right code answers 429 until the window ends, so a 429 tells a guesser nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.checks import Error, register
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from rest_framework.exceptions import Throttled

from campaigns.models import ApiKey
from core.clock import db_now
from core.exceptions import DomainError, NotFound
from core.throttling import Window
from events.models import CustomerCode
from wallets.models import Customer

GUESSES = Window("totp-guess", "LOYALTY_TOTP_GUESS_RATE")
DRAWS = 20  # random draws before giving up on finding a free code (only near exhaustion)


@register()
def check_code_settings(app_configs, **kwargs):
    """LOYALTY_TOTP_DIGITS fits CustomerCode.code (1-12 digits); LOYALTY_TOTP_TTL is positive."""
    errors = []
    if not 1 <= settings.LOYALTY_TOTP_DIGITS <= 12:
        errors.append(Error("LOYALTY_TOTP_DIGITS: from 1 to 12 digits", id="events.E001"))
    if settings.LOYALTY_TOTP_TTL < 1:
        errors.append(Error("LOYALTY_TOTP_TTL: at least 1 second", id="events.E002"))
    return errors


class CodesExhausted(DomainError):
    """No free code: too many live codes for LOYALTY_TOTP_DIGITS."""

    status_code = 503
    code = "codes_exhausted"


def code_issue(*, customer_id: str, api_key: ApiKey, metadata: dict | None = None) -> CustomerCode:
    """A new live code for the customer, verifiable by `api_key` only. Raises NotFound
    (customer), CodesExhausted when no free code turns up (far too many live codes for the
    digits)."""
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
    digits = settings.LOYALTY_TOTP_DIGITS
    expires_at = db_now() + timedelta(seconds=settings.LOYALTY_TOTP_TTL)
    for _ in range(DRAWS):
        code = "".join(secrets.choice("0123456789") for _ in range(digits))
        try:
            with transaction.atomic():
                # an expired, unspent code holding this value gives it back
                CustomerCode.objects.filter(code=code, used_at__isnull=True, expires_at__lte=Now()).update(
                    used_at=Now()
                )
                return CustomerCode.objects.create(
                    customer_id=customer_id, code=code, metadata=metadata or {}, expires_at=expires_at, api_key=api_key
                )
        except IntegrityError:
            continue  # a live code has it: draw again
    raise CodesExhausted("no free code: too many live codes for LOYALTY_TOTP_DIGITS")


def code_verify(*, code: str, api_key: ApiKey, customer_id: str | None = None) -> CustomerCode:
    """Spend a live code that `api_key` issued (to `customer_id`, if given). Raises Throttled
    past the wrong-guess limit (before looking at the code), NotFound `code_not_found` for an
    unknown, spent or expired one."""
    # a customer id may hold any character: the cache key carries its digest
    who = f"customer:{hashlib.sha256(customer_id.encode()).hexdigest()}" if customer_id else f"key:{api_key.pk}"
    wait = GUESSES.hit(who)
    if wait is not None:
        raise Throttled(wait, detail="too many wrong codes; wait for the window to end")
    live = CustomerCode.objects.filter(code=code, api_key=api_key, used_at__isnull=True, expires_at__gt=Now())
    if customer_id:
        live = live.filter(customer_id=customer_id)
    found = live.first()
    # the conditional UPDATE decides between racing verifies: only one sees the code unspent
    if found is None or not CustomerCode.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=Now()):
        raise NotFound("unknown, used or expired code", code="code_not_found")
    GUESSES.refund(who)  # a right code is no wrong guess
    found.used_at = timezone.now()
    return found


def codes_purge() -> int:
    """Delete spent and expired codes (by the database's clock). Returns how many."""
    deleted, _ = CustomerCode.objects.filter(Q(used_at__isnull=False) | Q(expires_at__lte=Now())).delete()
    return deleted
