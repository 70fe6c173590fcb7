"""Amounts render as JSON numbers (SPEC section 7), never as strings; moments in UTC. The output
fields below are what every output serializer (`*Out`, the response shapes) is built from.

Whole amounts render as integers (12, not 12.0000); fractional ones as their exact decimal text
(5.5, 999999999999.9997): a Decimal is never turned into a float on the way out
(core.json.ExactJSONEncoder). A float, with 53 bits, cannot hold every 16-digit amount.
"""

import functools
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from core.json import ExactJSONEncoder


@functools.cache
def output_of(serializer_class: type[serializers.Serializer]) -> Callable[[object], dict]:
    """`serializer_class(obj).data` for one object, without DRF building the serializer's fields
    again for every call (a deep copy of every declared field, nested ones included: most of an
    emit's rendering time, issue 11): one instance per class, its fields built on first use and
    shared by every later call and thread. For output serializers that keep no state while they
    render and read no context (the response shapes: events.serializers, wallets.serializers).
    Its own `to_representation` runs, overrides included."""
    return serializer_class().to_representation


class DecimalJSONRenderer(JSONRenderer):
    """Decimals as exact JSON numbers."""

    encoder_class = ExactJSONEncoder


# ---- output fields: the response shapes are output serializers built from these ----------------


@extend_schema_field({"type": "number"})
class NumberField(serializers.Field):
    """An amount in a response: a JSON number (whole amounts as integers), never a string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value if isinstance(value, Decimal) else Decimal(str(value))


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
