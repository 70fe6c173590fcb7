"""Amounts: the one definition of their bounds and of the helpers that read and round them.

An amount is a Decimal >= 0, at most 10^12, with at most 4 decimals (`PLACES`). A reward's own
`decimals` (0..4) round grants down further (`quantum`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MAX_AMOUNT = Decimal(10) ** 12
PLACES = 4
QUANTUM = Decimal("0.0001")  # Decimal(1).scaleb(-PLACES)


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
