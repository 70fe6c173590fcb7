"""One clock for deadlines: the database's. Python code that decides what SQL also decides
(is this reservation past due?) asks the database for the time. And the one month arithmetic
of the programme's time zone."""

from datetime import UTC, date, datetime

from django.db import connection
from django.utils import timezone
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


# ---- months of the programme's time zone (metric buckets, limit periods) ----------------------------


def month_of(moment: datetime) -> date:
    """The first day of the month holding `moment`, in the programme's time zone."""
    local = timezone.localtime(moment)
    return date(local.year, local.month, 1)


def month_shift(month: date, months: int) -> date:
    """The first day of the month `months` after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    """Midnight of the month's first day, as the programme's time zone has it that day."""
    return day_start(month.replace(day=1))


def day_start(day: date) -> datetime:
    """Midnight of the day, as the programme's time zone has it that day (a day is
    [day_start(day), day_start(next day)))."""
    return timezone.make_aware(datetime(day.year, day.month, day.day))
