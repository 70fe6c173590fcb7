"""Masivo-style list paging: `?from=0&to=49` (0-based, inclusive), answered with
`{"data": [...], "from": 0, "to": 49, "count": <total>}`. At most 500 rows a page; the default
page is 50 rows."""
import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.response import Response

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
            "properties": {
                "data": schema,
                "from": {"type": "integer"},
                "to": {"type": "integer"},
                "count": {"type": "integer"},
            },
        }


class LedgerCursorPagination(CursorPagination):
    """Cursor paging for the ledger, newest first: `{"data": [...], "cursor": "<next or null>",
    "previous_cursor": ...}`; ask for the next page with `?cursor=<cursor>`, `?limit=` up to 500.
    Stable under concurrent inserts (ids only grow), and O(page) however long the ledger."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: f"must be a whole number from 1 to {self.max_page_size}"})
        return int(raw)

    @staticmethod
    def _token(link):
        if not link:
            return None
        from urllib.parse import parse_qs, urlparse

        return parse_qs(urlparse(link).query).get("cursor", [None])[0]

    def get_paginated_response(self, data):
        response = Response({"data": data, "cursor": self._token(self.get_next_link()),
                             "previous_cursor": self._token(self.get_previous_link())})
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "properties": {"data": schema, "cursor": {"type": "string", "nullable": True},
                                                 "previous_cursor": {"type": "string", "nullable": True}}}
