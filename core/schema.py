"""OpenAPI documentation shared by every app (drf-spectacular). Documentation only: nothing here
runs while a request is served; the views attach it with `@extend_schema` / `@extend_schema_view`.

- strict input serializers refuse unknown keys: their request schemas say `additionalProperties: false`;
- the custom input fields: amounts (JSON number or decimal string), JSON objects, any JSON value;
- the error body `{"error": "<code>", "details": <text or {field path: message}>}` per status;
- `Idempotency-Key` (request header of every POST) and `Idempotent-Replayed` (response header);
- the `{"data": ...}` envelope, range-paged lists (`data`, `from`, `to`, `count`) and
  cursor-paged lists (`data`, `cursor`, `previous_cursor`);
- postprocessing hooks: the paths as Masivo writes them, without a trailing slash (the router
  accepts both), and `allowEmptyValue` on query parameters (an empty value is no value).

The credentials scheme is campaigns.schema.ApiKeyScheme (core imports no app).
"""
import functools

from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from core.serializers import MAX_AMOUNT

# ---- input fields and strict serializers ------------------------------------------------------------

# What `decimal.Decimal` (via DRF's DecimalField) reads from a string, surrounding spaces included;
# the range and precision are then checked as for a JSON number.
DECIMAL_STRING = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"


def amount_schema(*, positive: bool = False, nullable: bool = False) -> dict:
    number = {"type": "number", "minimum": 0, "maximum": int(MAX_AMOUNT)}
    if positive:
        number["exclusiveMinimum"] = True
    schema = {
        "anyOf": [number, {"type": "string", "pattern": DECIMAL_STRING, "maxLength": 1000}],
        "description": ("A decimal: a JSON number or a decimal string, "
                        f"{'> 0' if positive else '>= 0'}, at most 10^12, with at most 4 decimal places."),
    }
    if nullable:
        schema["nullable"] = True
    return schema


class AmountFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "core.serializers.AmountField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return amount_schema(positive=self.target.positive)


class JSONObjectFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "core.serializers.JSONObjectField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "object", "additionalProperties": {}}


class JSONValueFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "core.serializers.JSONValueField"
    priority = -1  # JSONObjectFieldScheme is the more specific

    def map_serializer_field(self, auto_schema, direction):
        return {"description": "Any JSON value."}


class BlankableEmailScheme(OpenApiSerializerFieldExtension):
    """An EmailField with allow_blank takes an address or the empty string."""

    target_class = "rest_framework.fields.EmailField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "format": "email"}
        if self.target.max_length is not None:
            schema["maxLength"] = self.target.max_length
        if getattr(self.target, "allow_blank", False):
            schema = {"anyOf": [schema, {"type": "string", "enum": [""]}]}
        return schema


def strict_object(auto_schema, serializer, direction) -> dict:
    """The serializer's object schema, closed (`additionalProperties: false`), with what
    drf-spectacular leaves out: non-blank strings (`minLength: 1`) and list sizes."""
    schema = auto_schema._map_basic_serializer(serializer, direction)
    schema["additionalProperties"] = False
    properties = schema.get("properties", {})
    for name, field in force_instance(serializer).fields.items():
        prop = properties.get(name)
        if prop is None:
            continue
        if isinstance(field, serializers.ListSerializer):
            if field.max_length is not None:
                prop["maxItems"] = field.max_length
            if field.min_length is not None:
                prop["minItems"] = field.min_length
        elif (isinstance(field, serializers.CharField) and not field.allow_blank
              and prop.get("type") == "string" and "pattern" not in prop):
            prop.setdefault("minLength", 1)
    return schema


class StrictSerializerScheme(OpenApiSerializerExtension):
    """core.serializers.StrictSerializer refuses unknown keys (400 naming them)."""

    target_class = "core.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        return strict_object(auto_schema, self.target, direction)


# ---- output fields ------------------------------------------------------------------------------------


@extend_schema_field({"type": "number"})
class Number(serializers.Field):
    """An amount in a response: always a JSON number (never a string)."""


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObject(serializers.Field):
    """A free-form JSON object."""


@extend_schema_field({})
class AnyJSON(serializers.Field):
    """Any JSON value."""


# ---- errors --------------------------------------------------------------------------------------------


@extend_schema_field({
    "anyOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": {"type": "string"},
         "description": "field path (`order.products[1].value`) -> message"},
    ],
})
class ErrorDetails(serializers.Field):
    pass


class Error(serializers.Serializer):
    error = serializers.CharField(help_text="Machine code: `validation_error`, `parse_error`, "
                                            "`not_authenticated`, `permission_denied`, `not_found` and "
                                            "`<thing>_not_found`, `conflict` codes, `insufficient_balance`, ...")
    details = ErrorDetails(help_text="A message, or a map of field path to message for invalid input.")
    event_id = serializers.UUIDField(required=False, help_text="409 duplicate_purchase: the live event; "
                                                               "422: the event stored FAILED.")
    status = serializers.CharField(required=False, help_text="409 invalid_transition: the event's status.")
    place = serializers.CharField(required=False, help_text="422 reward_not_redeemable_here: where.")
    reward_id = serializers.CharField(required=False, help_text="422 reward_not_redeemable_here: which reward.")


ERROR_TEXT = {
    400: "Invalid input (`validation_error` with a field map, `parse_error` for a body that is not JSON, "
         "over 1 MiB, or holds NaN, Infinity, NUL or a lone surrogate). Nothing was stored.",
    401: "No credentials, or an unknown, revoked or expired key or token (`not_authenticated`).",
    403: "The API key is restricted to other brands (`permission_denied`).",
    404: "Unknown id (`not_found`, `<thing>_not_found`).",
    409: "Conflict with the current state.",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    422: "A valid request the programme's rules refuse.",
    429: "Throttled (`throttled`); `Retry-After` says when to try again.",
    503: "The database is unavailable (`service_unavailable`); retry after `Retry-After` seconds. "
         "Nothing was committed.",
}


def errors(*statuses: int, **texts: str) -> dict:
    """{status: response} for the given error statuses, plus 401 and 503 that every endpoint may
    answer. `texts` (keyed `e409=...`) replace the generic description of a status."""
    out = {}
    for status in sorted({*statuses, 401, 503}):
        out[status] = OpenApiResponse(Error, description=texts.get(f"e{status}", ERROR_TEXT[status]))
    return out


# ---- headers and query parameters ---------------------------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "maxLength": 255}, OpenApiParameter.HEADER,
    description="Optional (beyond Masivo). The same key with the same body replays the first response "
                "(2xx or 422) with `Idempotent-Replayed: true`; the same key with another body answers 409 "
                "`idempotency_conflict`. Keys are kept 24 hours, per credential. Over 255 characters: 400.",
)


def idempotency_headers(*replayed_statuses: int) -> list[OpenApiParameter]:
    """The request header of every POST, and the replay marker on the statuses that are replayed."""
    return [
        IDEMPOTENCY_KEY,
        OpenApiParameter("Idempotent-Replayed", {"type": "string", "enum": ["true"]}, OpenApiParameter.HEADER,
                         response=list(replayed_statuses),
                         description="`true` when this is the stored response of an earlier request with the "
                                     "same `Idempotency-Key`."),
    ]


RESPONSE_HEADERS = [
    OpenApiParameter("WWW-Authenticate", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[401],
                     description='`Bearer realm="api"`'),
    OpenApiParameter("Retry-After", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[429, 503],
                     description="Seconds to wait before retrying."),
]

RANGE_PARAMETERS = [
    OpenApiParameter("from", {"type": "integer", "minimum": 0, "maximum": 999_999_999}, OpenApiParameter.QUERY,
                     description="0-based index of the first row (default 0)."),
    OpenApiParameter("to", {"type": "integer", "minimum": 0, "maximum": 999_999_999}, OpenApiParameter.QUERY,
                     description="0-based index of the last row, inclusive, not below `from` (default "
                                 "`from` + 49). At most 500 rows are answered."),
]

CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="The `cursor` (or `previous_cursor`) of the page before. An invalid cursor "
                                 "answers 404."),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 500}, OpenApiParameter.QUERY,
                     description="Rows per page, 1 to 500 (default 100)."),
]


# ---- envelopes ---------------------------------------------------------------------------------------------


def _component(name: str, fields: dict, doc: str) -> type[serializers.Serializer]:
    cls = type(name, (serializers.Serializer,), {**fields, "__doc__": doc, "__module__": __name__,
                                                 "Meta": type("Meta", (), {"ref_name": name})})
    set_override(cls, "many", False)  # the envelope is the whole body: no list mechanics around it
    return cls


@functools.cache
def data_of(inner: type[serializers.Serializer], name: str | None = None) -> type[serializers.Serializer]:
    """`{"data": <inner>}`."""
    return _component(name or f"{inner.__name__}Envelope", {"data": inner()},
                      f"`{{\"data\": {inner.__name__}}}`: the success envelope.")


@functools.cache
def range_list_of(inner: type[serializers.Serializer], name: str | None = None) -> type[serializers.Serializer]:
    """`{"data": [<inner>], "from": n, "to": n, "count": n}`."""
    fields = {
        "data": inner(many=True),
        "from": serializers.IntegerField(help_text="Index of the first row answered."),
        "to": serializers.IntegerField(help_text="Index of the last row answered (`from` - 1 when none)."),
        "count": serializers.IntegerField(help_text="Rows matching the filters, all pages."),
    }
    return _component(name or f"{inner.__name__}List", fields,
                      "A page of a list: rows `from`..`to` (0-based, inclusive) of `count`.")


@functools.cache
def cursor_list_of(inner: type[serializers.Serializer], name: str | None = None) -> type[serializers.Serializer]:
    """`{"data": [<inner>], "cursor": "..." | null, "previous_cursor": "..." | null}`."""
    fields = {
        "data": inner(many=True),
        "cursor": serializers.CharField(allow_null=True, help_text="Pass as `?cursor=` for the next page; "
                                                                   "null on the last page."),
        "previous_cursor": serializers.CharField(allow_null=True, help_text="The page before; null on the first."),
    }
    return _component(name or f"{inner.__name__}CursorList", fields, "A page of a cursor-paged list, newest first.")


# ---- paths -----------------------------------------------------------------------------------------------


def strip_trailing_slashes(result, generator, request, public):
    """The router accepts `/brands` and `/brands/`: document the Masivo form, without the slash."""
    result["paths"] = {
        (path.rstrip("/") if path != "/" else path): item for path, item in result["paths"].items()
    }
    return result


# Query parameters that refuse an empty value (400) instead of reading it as no value.
NOT_EMPTY_QUERY = {"async", "limit"}


def empty_query_values(result, generator, request, public):
    """`?from=&status=` is read as if the parameters were left out (core.pagination reads an empty
    value as the default, django-filter skips an empty filter): say so on the query parameters
    that do (all but NOT_EMPTY_QUERY)."""
    for item in result["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query" and parameter["name"] not in NOT_EMPTY_QUERY:
                    parameter["allowEmptyValue"] = True
    return result
