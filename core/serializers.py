"""Strict input fields: the API refuses what it would misread instead of guessing.

- an unknown key that is a near-miss spelling of a known one (edit distance 2 or less, case and
  transpositions included: `fulfill`, `purchaseid`, `prodcuts`), or a known alias of a field the
  body lacks (`customer` for `customer_id`), is refused naming the key and suggesting the right
  name; any other unknown key, at any level, is accepted and ignored, and reported in the
  response's top-level `warnings` (Masivo integrations send fields Masivo ignores, such as
  `order.products[].quantity` and `order.timestamp`). Serializers with `keep_unknown = True`
  (the emit body) keep such keys in what they return, so the stored payload holds them as sent;
  the others drop them;
- strings must be JSON strings, booleans JSON booleans, integers whole numbers (not true/false);
- amounts are Decimals >= 0 (or > 0), <= 10^12, with at most 4 decimals;
- datetimes must carry a time zone.
"""

import contextvars
import copy
import difflib
from decimal import Decimal

from rest_framework import serializers

from core.amounts import MAX_AMOUNT
from core.json import exact_dumps, jsonable

ALIASES = {
    "fulfill": "fulfilled",
    "customer": "customer_id",
    "brand": "brand_id",
    "event_type": "type",
    "reward_id": "id",
    "purchaseId": "purchase_id",
}
NEAR_MISS = 2  # edits (insert, delete, substitute, swap two neighbours) from a known field name
MAX_UNKNOWN = 100  # unknown fields one body may carry (each is kept, checked and answered)

# The unknown fields accepted by the request being handled (core.views.EnvelopeMixin resets it
# for each request and answers it as `warnings`).
WARNINGS: contextvars.ContextVar[list | None] = contextvars.ContextVar("unknown_field_warnings", default=None)


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current.append(best)
        previous2, previous = previous, current
    return previous[-1]


def near_miss(name: str, known, data: dict) -> str | None:
    """The refusal of an unknown key that is a misspelling of a known field, else None."""
    if name in ALIASES and ALIASES[name] in known and ALIASES[name] not in data:
        return f"unknown field; did you mean '{ALIASES[name]}'?"
    close = [  # the distance is at least the difference in length: only names of about the same length
        field
        for field in known
        if abs(len(field) - len(name)) <= NEAR_MISS and edit_distance(name.lower(), field.lower()) <= NEAR_MISS
    ]
    if close:
        best = difflib.get_close_matches(name, close, n=1, cutoff=0) or close
        return f"unknown field; did you mean '{best[0]}'?"
    return None


def suggest(name: str, known) -> str:
    return near_miss(name, known, {}) or "unknown field"


def _unknown_paths(field, data, path: str, out: list[str]) -> None:
    if isinstance(field, serializers.ListSerializer):
        if isinstance(data, list):
            for index, item in enumerate(data):
                _unknown_paths(field.child, item, f"{path}[{index}]", out)
    elif isinstance(field, serializers.Serializer) and isinstance(data, dict):
        for key, value in data.items():
            sub = f"{path}.{key}" if path else str(key)
            if key in field.fields:
                _unknown_paths(field.fields[key], value, sub, out)
            elif key in getattr(field, "frozen", {}):
                continue  # refused, never accepted
            else:
                out.append(sub)


def field_clone(field: serializers.Field) -> serializers.Field:
    """A fresh, unbound copy of a field that was never bound nor used (a prototype): a shallow
    copy, with its own copy of any child field (lists, dicts, `many=True`) bound to it. What DRF's
    deep copy gives, without running every field's constructor again: that is what costs."""
    clone = copy.copy(field)
    clone.__dict__.pop("fields", None)  # a nested serializer builds its own bound fields
    child = field.__dict__.get("child")
    if child is not None:  # bound to the prototype: unbound again (bind() fills these in), then bound to the clone
        clone.child = field_clone(child)
        clone.child.source, clone.child.label = child._kwargs.get("source"), child._kwargs.get("label")
        clone.child.bind(field_name="", parent=clone)
    return clone


class StrictSerializer(serializers.Serializer):
    keep_unknown = False  # True: unknown (not near-miss) keys stay in the validated data, as sent
    # Names this body may not hold, with why (the resource has them, but they cannot be set here:
    # an id in a PATCH, a field the engine sets): refused rather than ignored.
    frozen: dict[str, str] = {}

    def get_fields(self):
        """The declared fields, copied for this instance. DRF deep-copies them for every instance,
        building each field (nested serializers' included) again: most of an emit body's
        validation time (issue 11). Here they are deep-copied once per class, into prototypes
        never bound nor used, and each instance gets `field_clone`s of those."""
        prototypes = type(self).__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = copy.deepcopy(self._declared_fields)
            type(self)._field_prototypes = prototypes
        return {name: field_clone(field) for name, field in prototypes.items()}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["must be a JSON object"]})
        unknown = [key for key in data if key not in self.fields]
        refused = {key: [self.frozen[key]] for key in unknown if key in self.frozen}
        refused |= {
            key: [problem] for key in unknown if key not in refused and (problem := near_miss(key, self.fields, data))
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                exc.detail.update(refused)
            raise
        if refused:
            raise serializers.ValidationError(refused)
        if self.keep_unknown:
            value.update({key: data[key] for key in unknown})
        return value

    def is_valid(self, *, raise_exception=False):
        valid = super().is_valid(raise_exception=raise_exception)
        if valid and self.parent is None:
            paths: list[str] = []
            _unknown_paths(self, self.initial_data, "", paths)
            if len(paths) > MAX_UNKNOWN:
                self._validated_data, self._errors = {}, {"body": [f"at most {MAX_UNKNOWN} unknown fields"]}
                if raise_exception:
                    raise serializers.ValidationError(self._errors)
                return False
            warnings = WARNINGS.get()
            if paths and warnings is not None:
                warnings.extend({"field": path, "message": "unknown field, ignored"} for path in paths)
        return valid


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
    """Any JSON value; its numbers (parsed as Decimal) are stored as plain JSON numbers, or, with
    `exact = True` (campaign rules, tier and reward conditions: amounts the engine compares),
    kept as Decimals for a column written with core.json's exact encoder."""

    exact = False

    def to_internal_value(self, data):
        return jsonable(data, exact=self.exact)


class JSONObjectField(JSONValueField):
    """A JSON object; with `max_chars`, at most that many characters as JSON (a code's metadata)."""

    def __init__(self, *, max_chars: int | None = None, **kwargs):
        self.max_chars = max_chars
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be a JSON object")
        if self.max_chars is not None and len(exact_dumps(data)) > self.max_chars:
            raise serializers.ValidationError(f"at most {self.max_chars} characters as JSON")
        return super().to_internal_value(data)


# An id in a URL path: PostgreSQL text cannot hold NUL, and a `/` would end the segment, so an id
# holding either is simply unknown (404) rather than an error.
PATH_ID = "[^/\x00]+"
