"""Strict query filters: a value the API does not understand is a 400, never ignored or a 500."""

from datetime import UTC, date, datetime, timedelta

import django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from core.clock import day_start


class _NamedFilter(django_filters.CharFilter):
    def __init__(self, *args, param: str, **kwargs):
        self.param = param  # the query parameter's name, for the 400's details
        super().__init__(*args, **kwargs)


class DayFilter(_NamedFilter):
    """One day of the programme's time zone, written DD-MM-YYYY as Masivo writes it: rows whose
    `field_name` falls on that day."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        try:
            day = datetime.strptime(value, "%d-%m-%Y").date()
        except ValueError:
            raise ValidationError({self.param: "a day as DD-MM-YYYY"}) from None
        start, end = day_start(day), day_start(day + timedelta(days=1))
        return qs.filter(**{f"{self.field_name}__gte": start, f"{self.field_name}__lt": end})


class YearFilter(_NamedFilter):
    """One calendar year of the programme's time zone (YYYY): rows whose `field_name` falls in it."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if not (value.isascii() and value.isdigit() and len(value) == 4 and 1 <= int(value) <= 9998):
            raise ValidationError({self.param: "a year as YYYY"})
        start, end = day_start(date(int(value), 1, 1)), day_start(date(int(value) + 1, 1, 1))
        return qs.filter(**{f"{self.field_name}__gte": start, f"{self.field_name}__lt": end})


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC; instants the database cannot hold are a 400."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except (OverflowError, ValueError):
                raise ValidationError({self.field_name: "date out of range"}) from None
            if not 1 <= value.year <= 9998:
                raise ValidationError({self.field_name: "date out of range"})
        return super().filter(qs, value)


@extend_schema_field({"type": "string", "enum": ["true", "false"]})
class StrictBooleanFilter(django_filters.ChoiceFilter):
    """true / false; anything else is a 400."""

    def __init__(self, *args, **kwargs):
        kwargs["choices"] = [(v, v) for v in ("true", "false")]
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return qs.filter(**{self.field_name: value == "true"})
