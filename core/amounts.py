"""Amounts: the one definition of their bounds and of the helpers that read and round them.

An amount is a Decimal >= 0, at most 10^12, with at most 4 decimals (`PLACES`). A reward's own
`decimals` (0..4) round grants down further (`quantum`).

The columns (`amount_field`: 20 digits, 4 decimals) hold less than 10^16, and the bounds below
keep every stored figure well inside them (issue 15, items 4 and 5; README "Bounds"):

- MAX_AMOUNT (10^12): one grant (the engine caps it), one redemption, one order value. Every
  ledger row moves at most one grant's or one redemption's amount, so |row| <= 10^12.
- MAX_EVENT_GRANT (10^13): what one event may grant of one reward, all its grants together
  (ten maximal grants). Past it the event is refused (422 `event_grant_limit`).
- MAX_WALLET_AMOUNT (10^14): what a wallet may hold of one reward (balance plus pending) after
  an event's grants. Past it the event is refused (422 `wallet_limit`). Only grants are
  refused: a reversal returns what was taken from the wallet and is never refused, so a total
  can pass the limit by what reversals return; the column still holds 100 times the limit.
- MAX_CONVERSION_FACTOR (1000, 4 decimals): a reward's money value per unit, so that the cost
  of the largest row (10^12 x 1000 = 10^15) fits the cost column ten times over.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

MAX_AMOUNT = Decimal(10) ** 12
MAX_EVENT_GRANT = Decimal(10) ** 13
MAX_WALLET_AMOUNT = Decimal(10) ** 14
MAX_CONVERSION_FACTOR = Decimal(1000)
PLACES = 4
QUANTUM = Decimal("0.0001")  # Decimal(1).scaleb(-PLACES)
COLUMN_LIMIT = Decimal(10) ** 16  # an amount column holds |x| < 10^16 (20 digits, 4 decimals)


def exact(value: Any) -> Decimal:
    """A database sum of amounts (or any amount), exact to the amounts' 4 places; None -> 0.
    SQLite sums decimals as floats, so its sums carry binary noise below the 4th place."""
    return Decimal(0) if value is None else Decimal(value).quantize(QUANTUM)


def parse_decimal(value: Any) -> Decimal | None:
    """A JSON value as a finite Decimal: ints, Decimals, floats and numeric strings; None for
    anything else (booleans and None included)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, (float, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def quantum(decimals: int) -> Decimal:
    """The smallest step of an amount with this many decimals: 0 -> 1, 2 -> 0.01."""
    return Decimal(1).scaleb(-decimals)


def cost_of(amount: Decimal, factor: Decimal | None) -> Decimal | None:
    """The money value of `amount` at a reward's conversion `factor`, rounded to 4 places, or
    None without a factor. Computed with enough precision for any two Decimals of the API (the
    default context's 28 digits would round 10^12 x 10^12 and then fail to quantize). A cost
    the column could not hold (only from a factor saved before MAX_CONVERSION_FACTOR existed)
    is None: not recorded, like the cost of a reward without a factor, rather than failing the
    event that moves the amount (the amount is the ledger; the cost is derived from it)."""
    if factor is None:
        return None
    with localcontext() as context:
        context.prec = 60
        try:
            cost = (amount * factor).quantize(QUANTUM)
        except InvalidOperation:  # more than 60 digits: far past the column
            return None
    return cost if abs(cost) < COLUMN_LIMIT else None
