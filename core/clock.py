"""One clock for deadlines: the database's. Python code that decides what SQL also decides
(is this reservation past due?) asks the database for the time."""
from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime


def db_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        value = cursor.fetchone()[0]
    if isinstance(value, str):  # SQLite answers 'YYYY-MM-DD HH:MM:SS' in UTC
        value = parse_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
