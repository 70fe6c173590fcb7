"""Shared view behaviour: the `{"data": ...}` envelope on every success body, with the unknown
fields the request sent (accepted and ignored, core.serializers) as top-level `warnings`."""

from rest_framework.response import Response

from core.serializers import WARNINGS


class EnvelopeMixin:
    def initial(self, request, *args, **kwargs):
        WARNINGS.set([])  # this request's own (a thread may serve many requests)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        if (
            isinstance(response, Response)
            and response.status_code < 400
            and response.data is not None
            and not getattr(response, "enveloped", False)
        ):
            response.data = {"data": response.data}
            warnings = list({w["field"]: w for w in WARNINGS.get() or []}.values())
            if warnings:
                response.data["warnings"] = warnings
            response.enveloped = True
        WARNINGS.set(None)
        return super().finalize_response(request, response, *args, **kwargs)
