"""How the API documents itself (drf-spectacular): the conventions every operation shares are
written once here, so that a view says only what is its own (its output serializer, a summary,
the conflicts it may answer). Nothing here runs while a request is served.

- `ApiSchema` (the DEFAULT_SCHEMA_CLASS): the `{"data": ...}` envelope around a single object
  (lists are documented by their paginator, core.pagination), the error responses every
  operation shares, `Idempotency-Key` on every POST and the response headers;
- strict input serializers: their request schemas stay open (an unknown key that is not a
  near-miss spelling of a known one is accepted and answered in `warnings`, core.serializers),
  with the sizes and non-blank strings drf-spectacular leaves out;
- the custom input fields: amounts (JSON number or decimal string), JSON objects, any JSON value;
- the error body `{"error": "<code>", "details": <text or {field path: message}>}`;
- postprocessing hooks: the paths as Masivo writes them, without a trailing slash (the router
  accepts both), and `allowEmptyValue` on query parameters (an empty value is no value).

The credentials scheme is campaigns.auth.ApiKeyScheme (core imports no app).
"""

import uritemplate
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from core.amounts import MAX_AMOUNT

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
        "description": (
            "A decimal: a JSON number or a decimal string, "
            f"{'> 0' if positive else '>= 0'}, at most 10^12, with at most 4 decimal places."
        ),
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
    """The serializer's object schema with what drf-spectacular leaves out: non-blank strings
    (`minLength: 1`) and list sizes. Open to other keys (they are accepted with a warning)."""
    schema = auto_schema._map_basic_serializer(serializer, direction)
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
        elif (
            isinstance(field, serializers.CharField)
            and not field.allow_blank
            and prop.get("type") == "string"
            and "pattern" not in prop
        ):
            prop.setdefault("minLength", 1)
    return schema


class StrictSerializerScheme(OpenApiSerializerExtension):
    """core.serializers.StrictSerializer refuses unknown keys (400 naming them)."""

    target_class = "core.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        return strict_object(auto_schema, self.target, direction)


# ---- errors --------------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "field path (`order.products[1].value`) -> message",
            },
        ],
    }
)
class ErrorDetails(serializers.Field):
    pass


class Error(serializers.Serializer):
    error = serializers.CharField(
        help_text="Machine code: `validation_error`, `parse_error`, "
        "`not_authenticated`, `permission_denied`, `not_found` and "
        "`<thing>_not_found`, `conflict` codes, `insufficient_balance`, ..."
    )
    details = ErrorDetails(help_text="A message, or a map of field path to message for invalid input.")
    event_id = serializers.UUIDField(
        required=False, help_text="409 duplicate_purchase: the live event; 422: the event stored FAILED."
    )
    status = serializers.CharField(required=False, help_text="409 invalid_transition: the event's status.")
    place = serializers.CharField(required=False, help_text="422 reward_not_redeemable_here: where.")
    reward_id = serializers.CharField(required=False, help_text="422 reward_not_redeemable_here: which reward.")
    requirement = serializers.CharField(
        required=False, help_text="422 coupon_requirement_not_met: what the coupon's campaign requires."
    )


ERROR_TEXT = {
    400: "Invalid input (`validation_error` with a field map, `parse_error` for a body that is not JSON, "
    "over 1 MiB, or holds NaN, Infinity, NUL or a lone surrogate). Nothing was stored.",
    401: "No credentials, or an unknown, revoked or expired key or token (`not_authenticated`).",
    403: "The API key is restricted to other brands (`permission_denied`).",
    404: "Unknown id (`not_found`, `<thing>_not_found`).",
    409: "Conflict with the current state.",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    422: "A valid request the programme's rules refuse.",
    429: "Throttled (`throttled`): writes past `LOYALTY_API_RATE` for this key, or too many failed "
    "authentications from this address (`LOYALTY_AUTH_FAILURE_RATE`); `Retry-After` says when to try again.",
    503: "The database is unavailable (`service_unavailable`), or an event met the campaigns it "
    "fires being edited again and again (`programme_changing`); retry after `Retry-After` seconds. "
    "Nothing was committed.",
}


WARNINGS_SCHEMA = {
    "type": "array",
    "description": "Present when the body held unknown fields that are not near-miss spellings of known ones: "
    "they were accepted and ignored (an event's stored payload keeps them as sent).",
    "items": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "example": "order.products[0].quantity"},
            "message": {"type": "string", "example": "unknown field, ignored"},
        },
    },
}


def refusal(description: str) -> OpenApiResponse:
    """An error response of an operation, with its own description (the body is `Error`)."""
    return OpenApiResponse(Error, description=description)


# ---- headers ----------------------------------------------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Optional (beyond Masivo). The same key with the same body replays the first response "
    "(2xx or 422) with `Idempotent-Replayed: true`; the same key with another body answers 409 "
    "`idempotency_conflict`. Keys are kept 24 hours, per API key (the key itself, as Bearer or `x-api-key`, "
    "and every token of it are one scope). Over 255 characters: 400.",
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=["200", "201", "202", "422"],
    description="`true` when this is the stored response of an earlier request with the same `Idempotency-Key`.",
)
RESPONSE_HEADERS = [
    OpenApiParameter(
        "WWW-Authenticate",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=["401"],
        description='`Bearer realm="api"`',
    ),
    OpenApiParameter(
        "Retry-After",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=["429", "503"],
        description="Seconds to wait before retrying.",
    ),
]


# ---- the schema class -----------------------------------------------------------------------------------


class ApiSchema(AutoSchema):
    """The API's conventions, documented once for every operation:

    - a 2xx body of one object is `{"data": <its output serializer>}`; a list's body is
      documented by its paginator (core.pagination);
    - every operation may answer 401, 429 (core/throttling.py) and 503; one that takes a body 400 and 415; a list 400
      (filters, paging); one on a path id 404; a write 403 (brand-restricted keys). Each with
      the `Error` body and its headers; a view adds its own (409, 422, 429) with `refusal(...)`;
    - every POST takes `Idempotency-Key` and marks replayed answers `Idempotent-Replayed`.
    """

    def get_paginated_name(self, serializer_name: str) -> str:
        """One component per paginator and row shape (the ledger is range-paged for a customer and
        cursor-paged for the programme)."""
        prefix = getattr(self._get_paginator(), "schema_prefix", "Paginated")
        return f"{prefix}{serializer_name}List"

    def get_override_parameters(self):
        parameters = [*super().get_override_parameters(), *RESPONSE_HEADERS]
        if self.method == "POST":
            parameters += [IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED]
        return parameters

    def _get_request_body(self, direction="request"):
        """A DELETE takes no body, except where its view says it does (`delete_takes_body`: Masivo's
        `DELETE /customers/{id}/tags` names the keys in its body): documented as a PUT's."""
        if self.method != "DELETE" or not getattr(self.view, "delete_takes_body", False):
            return super()._get_request_body(direction)
        self.method = "PUT"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        single = not self._is_list_view() and getattr(self.view, "envelope", True)  # False: the body as is
        for code, response in responses.items():
            if code.startswith("2") and single:
                for media in response.get("content", {}).values():
                    envelope = {"type": "object", "required": ["data"], "properties": {"data": media["schema"]}}
                    if self.method in ("POST", "PUT", "PATCH"):
                        envelope["properties"]["warnings"] = WARNINGS_SCHEMA
                    media["schema"] = envelope
            elif code >= "400" and "content" not in response:
                response["content"] = self._error_content()
        for code in self._shared_errors():
            if str(code) not in responses:
                headers = self._get_response_headers_for_code(str(code), direction)
                responses[str(code)] = {
                    **({"headers": headers} if headers else {}),
                    "content": self._error_content(),
                    "description": ERROR_TEXT[code],
                }
        return dict(sorted(responses.items()))

    def _shared_errors(self) -> set[int]:
        codes = {401, 429, 503}  # 429: any request past the failed-authentication limit; writes past theirs
        if self.method in ("POST", "PUT", "PATCH") or getattr(self.view, "delete_takes_body", False):
            codes |= {400, 415}
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.add(403)
        if self.method == "GET" and self._is_list_view():
            codes.add(400)
        if uritemplate.variables(self.path):
            codes.add(404)
        return codes

    def _error_content(self) -> dict:
        return {"application/json": {"schema": self.resolve_serializer(Error, "response").ref}}


# ---- paths -----------------------------------------------------------------------------------------------


def without_aliases(endpoints, **kwargs):
    """Preprocessing hook: document each operation once, under /api/v1/ (Masivo's base path
    /api/storefront/v1/ serves the same views)."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith("/api/storefront/")]


def strip_trailing_slashes(result, generator, request, public):
    """The router accepts `/brands` and `/brands/`: document the Masivo form, without the slash."""
    result["paths"] = {(path.rstrip("/") if path != "/" else path): item for path, item in result["paths"].items()}
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
