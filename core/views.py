"""Shared view behaviour: the `{"data": ...}` envelope on every success body."""

from rest_framework.response import Response


class EnvelopeMixin:
    def finalize_response(self, request, response, *args, **kwargs):
        if (
            isinstance(response, Response)
            and response.status_code < 400
            and response.data is not None
            and not getattr(response, "enveloped", False)
        ):
            response.data = {"data": response.data}
            response.enveloped = True
        return super().finalize_response(request, response, *args, **kwargs)
