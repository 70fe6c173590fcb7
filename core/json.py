"""Turning validated payloads (with Decimals and datetimes) into plain JSON values."""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from core.renderers import as_number


def jsonable(value):
    if isinstance(value, Decimal):
        return as_number(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value
