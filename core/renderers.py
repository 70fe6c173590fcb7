"""Amounts render as JSON numbers (SPEC section 7), never as strings.

Whole amounts render as integers (12, not 12.0000); fractional ones as the shortest float text,
which is exact for the at most 16 significant digits an amount (<= 10^12, 4 decimals) can have.
"""
from decimal import Decimal

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
