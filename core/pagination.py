"""List paging; each paginator documents its own parameters and body. Masivo-style list paging: `?from=0&to=49` (0-based, inclusive), answered with
`{"data": [...], "from": 0, "to": 49, "count": <total>}`. At most 500 rows a page; the default
page is 50 rows."""

import re
from base64 import b64encode
from urllib.parse import urlencode

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, Cursor, CursorPagination
from rest_framework.response import Response

from core.exceptions import InvalidInput

DEFAULT_PAGE = 50
MAX_PAGE = 500


def _int_param(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):  # not isdigit(): "²" is a digit int() cannot read
        raise ValidationError({name: "must be a whole number >= 0"})
    return int(raw)


class RangePagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        start = _int_param(request, "from", 0)
        end = _int_param(request, "to", start + DEFAULT_PAGE - 1)
        if end < start:
            raise ValidationError({"to": "must not be below from"})
        end = min(end, start + MAX_PAGE - 1)
        self.count = queryset.count()
        rows = list(queryset[start : end + 1])
        self.start = start
        self.end = start + len(rows) - 1 if rows else start - 1
        return rows

    def get_paginated_response(self, data):
        response = Response({"data": data, "from": self.start, "to": max(self.end, -1), "count": self.count})
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "from", "to", "count"],
            "properties": {
                "data": schema,
                "from": {"type": "integer", "description": "Index of the first row answered."},
                "to": {"type": "integer", "description": "Index of the last row answered (`from` - 1 when none)."},
                "count": {"type": "integer", "description": "Rows matching the filters, all pages."},
            },
        }

    def get_schema_operation_parameters(self, view):
        bound = {"type": "integer", "minimum": 0, "maximum": 999_999_999}
        return [
            {
                "name": "from",
                "in": "query",
                "required": False,
                "schema": bound,
                "description": "0-based index of the first row (default 0).",
            },
            {
                "name": "to",
                "in": "query",
                "required": False,
                "schema": bound,
                "description": f"0-based index of the last row, inclusive, not below `from` (default `from` + "
                f"{DEFAULT_PAGE - 1}). At most {MAX_PAGE} rows are answered.",
            },
        ]


class LedgerCursorPagination(CursorPagination):
    """Cursor paging for the ledger, newest first: `{"data": [...], "cursor": "<next or null>",
    "previous_cursor": ...}`; ask for the next page with `?cursor=<cursor>`, `?limit=` up to 1,000
    (Masivo's page). As in Masivo, `?cursor=<id>` (the last id seen, digits) also works: the rows
    older than that one.
    Stable under concurrent inserts (ids only grow), and O(page) however long the ledger."""

    schema_prefix = "CursorPaginated"  # its component name (core.schema.ApiSchema)
    ordering = "-id"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000

    def decode_cursor(self, request):
        """The cursor this API gave out, or 400 `invalid_cursor` for any other text: a cursor is
        accepted only if encoding what it decodes to gives it back (DRF answers 404 for some
        tampered cursors and fails on others)."""
        raw = request.query_params.get(self.cursor_query_param)
        if raw and re.fullmatch(r"[0-9]{1,19}", raw):  # Masivo's cursor: the last id seen
            return Cursor(offset=0, reverse=False, position=raw)
        try:
            cursor = super().decode_cursor(request)
            canonical = cursor is None or self._encoded(cursor) == raw
        except Exception:
            canonical = False
        if not canonical or (
            cursor is not None and cursor.position is not None and not re.fullmatch(r"[0-9]{1,19}", cursor.position)
        ):
            raise InvalidInput("the cursor is not one this API gave out", code="invalid_cursor")
        return cursor

    @staticmethod
    def _encoded(cursor) -> str:
        """The text DRF's encode_cursor puts in the link for this cursor."""
        tokens = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        return b64encode(urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: f"must be a whole number from 1 to {self.max_page_size}"}
            )
        return int(raw)

    @staticmethod
    def _token(link):
        if not link:
            return None
        from urllib.parse import parse_qs, urlparse

        return parse_qs(urlparse(link).query).get("cursor", [None])[0]

    def get_paginated_response(self, data):
        response = Response(
            {
                "data": data,
                "cursor": self._token(self.get_next_link()),
                "previous_cursor": self._token(self.get_previous_link()),
            }
        )
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "cursor", "previous_cursor"],
            "properties": {
                "data": schema,
                "cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as `?cursor=` for the next page; null on the last page.",
                },
                "previous_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "The page before; null on the first.",
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The `cursor` (or `previous_cursor`) of the page before. Any other text answers 400 "
                "`invalid_cursor`.",
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
                "description": f"Rows per page, 1 to {self.max_page_size} (default {self.page_size}).",
            },
        ]
