"""Making coupon codes, set-based: a million in one call (bench/coupon_codes_bench.py).

Generated codes are `prefix + length` characters of ALPHABET, drawn from the operating system's
random source (`secrets`): a code is a bearer token, so it must not be guessable from others.
The alphabet leaves out the characters people misread (0/O, 1/I/L): 31 symbols. A call asks for
a number of *new* codes; collisions (with each other or with any code of the programme) are
dropped by the unique constraint and drawn again until the number is reached:

- PostgreSQL: the candidates are streamed with COPY into a temporary table, then one
  `INSERT ... SELECT ... ON CONFLICT (code) DO NOTHING` moves them; its row count says how many
  are missing, and only those are drawn again (a few rounds at most: the length is refused
  unless the code space is at least SPACE_FACTOR times larger than the codes it would hold).
- SQLite: the same rounds with bulk_create(ignore_conflicts=True) in batches.

Everything happens in the caller's transaction: all the codes of a call, or none.
"""

from __future__ import annotations

import re
import secrets

from django.db import connection
from django.utils import timezone

from core.exceptions import Conflict, InvalidInput

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
MIN_LENGTH, MAX_LENGTH, DEFAULT_LENGTH = 6, 32, 10
MAX_PREFIX = 16
MAX_QUANTITY = 1_000_000
MAX_CUSTOM = 10_000  # supplied codes per call
MAX_USES = 1_000_000_000
SPACE_FACTOR = 1000  # the code space must hold this many times the codes asked for
MAX_ROUNDS = 10
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,63}$")  # a supplied code, once upper-cased
PREFIX_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
# Random bytes below REJECT map evenly onto the alphabet (248 = 8 x 31); the others are dropped.
_REJECT = len(ALPHABET) * (256 // len(ALPHABET))
_TABLE = bytes(ord(ALPHABET[b % len(ALPHABET)]) if b < _REJECT else 0 for b in range(256))
_DROP = bytes(range(_REJECT, 256))


def normalize(code: str) -> str:
    """How a code is stored and matched: trimmed, upper-case."""
    return code.strip().upper()


def generation_problems(*, quantity, length, prefix) -> dict[str, str]:
    errors = {}
    if not PREFIX_RE.match(prefix) and prefix != "":
        errors["prefix"] = f"at most {MAX_PREFIX} characters of A-Z, 0-9, - and _, starting with a letter or digit"
    if len(ALPHABET) ** length < quantity * SPACE_FACTOR:
        errors["length"] = (
            f"too short for {quantity} codes: {len(ALPHABET)}^{length} possible codes must be at least "
            f"{SPACE_FACTOR} times the quantity (take a longer length)"
        )
    return errors


def random_codes(count: int, *, length: int, prefix: str) -> set[str]:
    """`count` distinct random codes (bytes.translate: C speed, unbiased by rejection)."""
    out: set[str] = set()
    while len(out) < count:
        need = count - len(out)
        raw = secrets.token_bytes(int(need * length * 1.05) + length).translate(_TABLE, _DROP).decode("ascii")
        for i in range(0, len(raw) - length + 1, length):
            out.add(prefix + raw[i : i + length])
            if len(out) == count:
                break
    return out


def codes_insert(*, campaign_id, codes: list[str], max_uses: int, max_uses_per_customer: int) -> int:
    """Insert the codes that no code of the programme holds yet; returns how many were new."""
    if not codes:
        return 0
    if connection.vendor == "postgresql":
        return _insert_postgres(campaign_id, codes, max_uses, max_uses_per_customer)
    return _insert_batches(campaign_id, codes, max_uses, max_uses_per_customer)


def codes_generate(*, campaign_id, quantity: int, length: int, prefix: str, max_uses: int, per_customer: int) -> int:
    """`quantity` new random codes for the campaign (module docstring); returns `quantity`.
    Raises Conflict `code_space_exhausted` when rounds keep colliding (a near-full prefix)."""
    errors = generation_problems(quantity=quantity, length=length, prefix=prefix)
    if errors:
        raise InvalidInput(errors)
    missing = quantity
    for _ in range(MAX_ROUNDS):
        missing -= codes_insert(
            campaign_id=campaign_id,
            codes=list(random_codes(missing, length=length, prefix=prefix)),
            max_uses=max_uses,
            max_uses_per_customer=per_customer,
        )
        if missing == 0:
            return quantity
    raise Conflict(
        f"{missing} of {quantity} codes kept colliding with existing ones; use a longer length or another prefix",
        code="code_space_exhausted",
    )


def _insert_postgres(campaign_id, codes, max_uses, per_customer) -> int:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS coupon_codes_in (code text) ON COMMIT DROP")
        cursor.execute("TRUNCATE coupon_codes_in")
        with cursor.copy("COPY coupon_codes_in (code) FROM STDIN") as copy:
            copy.write("\n".join(codes) + "\n")
        cursor.execute(
            "INSERT INTO coupons_couponcode (campaign_id, code, max_uses, max_uses_per_customer, uses_count, created_at) "
            "SELECT %s, code, %s, %s, 0, %s FROM coupon_codes_in ORDER BY code ON CONFLICT (code) DO NOTHING",
            [campaign_id, max_uses, per_customer, timezone.now()],
        )
        return cursor.rowcount


def _insert_batches(campaign_id, codes, max_uses, per_customer, batch: int = 5000) -> int:
    from coupons.models import CouponCode

    now = timezone.now()
    before = CouponCode.objects.filter(campaign_id=campaign_id).count()
    for start in range(0, len(codes), batch):
        CouponCode.objects.bulk_create(
            [
                CouponCode(
                    campaign_id=campaign_id,
                    code=code,
                    max_uses=max_uses,
                    max_uses_per_customer=per_customer,
                    created_at=now,
                )
                for code in codes[start : start + batch]
            ],
            ignore_conflicts=True,
        )
    return CouponCode.objects.filter(campaign_id=campaign_id).count() - before
