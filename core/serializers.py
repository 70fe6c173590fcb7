"""Strict input fields: the API refuses what it does not understand instead of guessing.

- unknown keys are refused, naming the key and suggesting the right name;
- strings must be JSON strings, booleans JSON booleans, integers whole numbers (not true/false);
- amounts are Decimals >= 0 (or > 0), <= 10^12, with at most 4 decimals;
- datetimes must carry a time zone.
"""

import difflib
from decimal import Decimal

from rest_framework import serializers

from core.amounts import MAX_AMOUNT
from core.json import jsonable

ALIASES = {
    "fulfill": "fulfilled",
    "customer": "customer_id",
    "brand": "brand_id",
    "event_type": "type",
    "quantity": "amount",
    "reward_id": "id",
    "purchaseId": "purchase_id",
}


def suggest(name: str, known) -> str:
    if name in ALIASES and ALIASES[name] in known:
        return f"unknown field; did you mean '{ALIASES[name]}'?"
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.7)
    if close:
        return f"unknown field; did you mean '{close[0]}'?"
    return "unknown field"


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["must be a JSON object"]})
        unknown = {key: [suggest(key, self.fields)] for key in data if key not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictCharField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, Decimal)):
            self.fail("invalid")
        if isinstance(data, Decimal) and data != data.to_integral_value():
            self.fail("invalid")
        return super().to_internal_value(data)


class AmountField(serializers.DecimalField):
    """A JSON number or decimal string: >= 0 (or > 0), <= 10^12, at most 4 decimals."""

    def __init__(self, *, positive: bool = False, **kwargs):
        kwargs.setdefault("max_digits", 17)
        kwargs.setdefault("decimal_places", 4)
        kwargs.setdefault("max_value", MAX_AMOUNT)
        kwargs.setdefault("min_value", Decimal(0))
        self.positive = positive
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, Decimal, str)):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if self.positive and value <= 0:
            raise serializers.ValidationError("must be greater than 0")
        return value


class AwareDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        parsed = super().to_internal_value(value)
        if value and not (value.endswith("Z") or "+" in value[10:] or "-" in value[10:]):
            raise serializers.ValidationError("must include a time zone (e.g. 2026-01-01T10:00:00Z)")
        return parsed


class JSONValueField(serializers.JSONField):
    """Any JSON value; its numbers (parsed as Decimal) are stored as plain JSON numbers."""

    def to_internal_value(self, data):
        return jsonable(data)


class JSONObjectField(JSONValueField):
    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be a JSON object")
        return super().to_internal_value(data)


# An id in a URL path: PostgreSQL text cannot hold NUL, and a `/` would end the segment, so an id
# holding either is simply unknown (404) rather than an error.
PATH_ID = "[^/\x00]+"
