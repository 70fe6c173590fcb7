"""Masivo-style list paging: `?from=0&to=49` (0-based, inclusive), answered with
`{"data": [...], "from": 0, "to": 49, "count": <total>}`. At most 500 rows a page; the default
page is 50 rows."""
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

DEFAULT_PAGE = 50
MAX_PAGE = 500


def _int_param(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9:
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
