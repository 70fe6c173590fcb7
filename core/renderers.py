"""Amounts render as JSON numbers (SPEC section 7), never as strings; moments in UTC. The output
fields below are what every output serializer (`*Out`, the response shapes) is built from.

Whole amounts render as integers (12, not 12.0000); fractional ones as the shortest float text,
which is exact for the at most 16 significant digits an amount (<= 10^12, 4 decimals) can have.
"""

from datetime import UTC
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


def as_number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _convert(value):
    if isinstance(value, Decimal):
        return as_number(value)
    if isinstance(value, dict):
        return {key: _convert(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_convert(item) for item in value]
    return value


class DecimalJSONRenderer(JSONRenderer):
    encoder_class = JSONEncoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return super().render(_convert(data), accepted_media_type, renderer_context)


# ---- output fields: the response shapes are output serializers built from these ----------------


@extend_schema_field({"type": "number"})
class NumberField(serializers.Field):
    """An amount in a response: a JSON number (whole amounts as integers), never a string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return as_number(value if isinstance(value, Decimal) else Decimal(str(value)))


class InstantField(serializers.DateTimeField):
    """A moment in a response: ISO 8601 in UTC (`2026-01-01T10:00:00Z`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


class OptionalTextField(serializers.CharField):
    """Text that is null in a response when empty."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return str(value) if value not in (None, "") else None


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectOutField(serializers.Field):
    """A free-form JSON object, answered as stored."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value
