"""GET /auth/authorize: exchange an API key for a one-hour bearer token (Masivo parity)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import issue_token
from core.schema import refusal
from core.throttling import AuthorizeRateThrottle
from core.views import EnvelopeMixin


class TokenOut(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`.")
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds.")


class AuthorizeView(EnvelopeMixin, APIView):
    """Masivo parity: exchange an `x-api-key` for a bearer token valid for one hour."""

    throttle_classes = [AuthorizeRateThrottle]

    @extend_schema(
        summary="Exchange an API key for a one-hour token",
        description="Masivo parity: send the key (`x-api-key` or `Authorization: Bearer <key>`); a token cannot "
        "renew itself (401). Throttled per key (`LOYALTY_AUTHORIZE_RATE`, 429).",
        responses={
            200: OpenApiResponse(TokenOut, description="A bearer token."),
            429: refusal("Throttled (`throttled`); `Retry-After` says when to try again."),
        },
    )
    def get(self, request):
        """Only the key itself may ask: a token cannot renew itself past its hour."""
        if getattr(request.auth, "by_token", False):
            raise NotAuthenticated("send the API key (x-api-key) to get a token")
        return Response(
            TokenOut(
                {
                    "token": issue_token(request.auth),
                    "token_type": "Bearer",
                    "expires_in": settings.LOYALTY_API_TOKEN_MAX_AGE,
                }
            ).data
        )
