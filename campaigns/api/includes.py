"""`GET /campaigns/{id}?includes=NAME,...`: parts of a campaign that apps above campaigns add to
its reading (Masivo's `includes=CODES_SUMMARY`), without this app importing them.

An app registers an include once, in its AppConfig.ready(): `campaign_include(name, key=...,
field=...)`, where `field()` makes a serializer field with `source="*"` that renders the part
from the campaign (it reads the request from its context: `self.context["request"]`), and
`parameters` the query parameters it reads (documented on the endpoint). CampaignDetailOut
renders the includes asked and documents them all (optional keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drf_spectacular.utils import OpenApiParameter

from core.exceptions import InvalidInput

MAX_INCLUDES = 10


@dataclass(frozen=True)
class Include:
    name: str
    key: str
    field: Callable  # () -> a serializer field with source="*"


INCLUDES: dict[str, Include] = {}
# the endpoint's documented query parameters: `includes`, then those the includes read (the
# list object itself is given to extend_schema, so what registers later is documented too)
PARAMETERS: list = [
    OpenApiParameter(
        "includes",
        str,
        OpenApiParameter.QUERY,
        description="Comma-separated parts to add to the campaign: `CODES_SUMMARY` (a COUPONS campaign's "
        "`codes_summary`). An unknown name is a 400.",
    )
]


def campaign_include(name: str, *, key: str, field: Callable, parameters: tuple = ()) -> None:
    INCLUDES[name] = Include(name, key, field)
    known = {p.name for p in PARAMETERS}
    PARAMETERS.extend(p for p in parameters if p.name not in known)


def includes_asked(request) -> list[Include]:
    """The includes of `?includes=`; InvalidInput (400) naming an unknown one."""
    raw = (request.query_params.get("includes") or "").strip()
    names = [n.strip().upper() for n in raw.split(",") if n.strip()] if raw else []
    if len(names) > MAX_INCLUDES or any(n not in INCLUDES for n in names):
        raise InvalidInput(
            {"includes": f"comma-separated, at most {MAX_INCLUDES}, of: {', '.join(sorted(INCLUDES)) or 'none'}"}
        )
    return [INCLUDES[n] for n in dict.fromkeys(names)]


class WithIncludes:
    """Mixed into a campaign's output serializer: its fields plus the includes in
    `context["includes"]`, or, with no such context (the schema), every include, optional."""

    def get_fields(self):
        fields = super().get_fields()
        asked = self.context.get("includes")
        for include in INCLUDES.values() if asked is None else asked:
            fields[include.key] = include.field()
        return fields
