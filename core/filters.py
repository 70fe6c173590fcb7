"""Strict query filters: a value the API does not understand is a 400, never ignored or a 500."""

from datetime import UTC

import django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError


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
