"""GET /auth/authorize: exchange an API key for a one-hour bearer token (Masivo parity)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import issue_token
from core.schema import refusal
from core.throttling import AuthorizeRateThrottle
from core.views import EnvelopeMixin

TOKEN = {
    "type": "string",
    "description": "A JWT for `Authorization: Bearer <token>`, valid one hour: decode its `exp` to refresh a few "
    "minutes early; re-authorise on a 401.",
}


class AuthorizeView(EnvelopeMixin, APIView):
    """Masivo parity: exchange an `x-api-key` for a bearer token valid for one hour; the body is
    `{"data": "<token>"}`, as Masivo's."""

    throttle_classes = [AuthorizeRateThrottle]

    @extend_schema(
        summary="Exchange an API key for a one-hour token",
        description="Masivo parity: send the key (`x-api-key` or `Authorization: Bearer <key>`); the answer is "
        '`{"data": "<JWT>"}` with `iat`, `exp` (one hour on) and a random `jti`. A token cannot renew itself '
        "(401). Throttled per key (`LOYALTY_AUTHORIZE_RATE`, 429).",
        responses={
            200: OpenApiResponse(TOKEN, description="The token."),
            429: refusal("Throttled (`throttled`); `Retry-After` says when to try again."),
        },
    )
    def get(self, request):
        """Only the key itself may ask: a token cannot renew itself past its hour."""
        if getattr(request.auth, "by_token", False):
            raise NotAuthenticated("send the API key (x-api-key) to get a token")
        return Response(issue_token(request.auth))
