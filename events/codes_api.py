"""POST /auth/totp and GET /auth/totp/verify: customer one-time codes as Masivo's (events.codes)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands
from core.renderers import InstantField, JSONObjectOutField
from core.schema import refusal
from core.serializers import JSONObjectField, StrictCharField, StrictSerializer
from core.views import EnvelopeMixin
from events.codes import code_issue, code_verify
from wallets.models import Customer
from wallets.selectors import customer_profile
from wallets.serializers import CustomerOut

MAX_METADATA = 8192  # characters of a code's metadata as JSON: codes are many and short-lived


class CodeIn(StrictSerializer):
    customer_id = StrictCharField()
    metadata = JSONObjectField(
        required=False,
        max_chars=MAX_METADATA,
        help_text=f"Kept with the code and answered by the verify; at most {MAX_METADATA} characters as JSON.",
    )


class CodeOut(serializers.Serializer):
    code = serializers.CharField(help_text="LOYALTY_TOTP_DIGITS digits (6); deliver it to the customer.")
    expired_at = InstantField(source="expires_at", help_text="When it stops working (LOYALTY_TOTP_TTL, 300 s).")


class CodeVerifiedOut(CustomerOut):
    metadata = JSONObjectOutField(help_text="What the code was issued with.")


class CodeIssueView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Issue a customer one-time code",
        request=CodeIn,
        description="Masivo parity: a numeric code (LOYALTY_TOTP_DIGITS digits, 6), single use, valid "
        "LOYALTY_TOTP_TTL seconds (300), unique among live codes, verifiable only with the API key that issued it. "
        "The API returns it; delivering it to the customer (SMS, e-mail) is the integrator's job. Any key may issue "
        "a code for any customer (as any key may read any customer by id); the verify shows each key its part.",
        responses={
            201: OpenApiResponse(CodeOut, description="The code and its expiry."),
            404: refusal("Unknown customer (`customer_not_found`)."),
            503: refusal("No free code (`codes_exhausted`): far too many live codes for the digits."),
        },
    )
    def post(self, request):
        data = CodeIn(data=request.data)
        data.is_valid(raise_exception=True)
        code = code_issue(**data.validated_data, api_key=request.auth)
        return Response(CodeOut(code).data, status=201)


class VerifyQuery(serializers.Serializer):
    """The verify's query (unknown parameters are ignored, as on every GET)."""

    code = StrictCharField(max_length=64, help_text="The code as the customer typed it.")
    customer_id = StrictCharField(required=False, help_text="Only this customer's code (recommended: see 429).")


class CodeVerifyView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Verify (and spend) a customer one-time code",
        parameters=[VerifyQuery],
        description="Answers the customer, its wallet (a brand-restricted key sees its brands' part, as in "
        "`GET /customers/{id}`) and the code's metadata, and spends the code. A code answers only the API key that "
        "issued it (another key's code is unknown to it). Wrong guesses are limited (LOYALTY_TOTP_GUESS_RATE, "
        "10 a minute) per customer when `customer_id` is given, else per API key (all the key's customers then "
        "share the budget).",
        responses={
            200: OpenApiResponse(CodeVerifiedOut, description="The customer the code was for."),
            400: refusal("No `code`, or a `code` or `customer_id` that cannot be one (`validation_error`)."),
            404: refusal(
                "Unknown, used or expired code, or another customer's or another key's (`code_not_found`): "
                "not a 401, which Masivo clients answer by re-authorising."
            ),
            429: refusal(
                "Too many wrong codes for this customer, or for this key without `customer_id` (`throttled`), "
                "even for the right code until the window ends; `Retry-After` says when."
            ),
        },
    )
    def get(self, request):
        query = VerifyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        spent = code_verify(
            code=query.validated_data["code"],
            customer_id=query.validated_data.get("customer_id") or None,
            api_key=request.auth,
        )
        customer = Customer.objects.select_related("wallet", "tier").get(pk=spent.customer_id)
        shown = customer_profile(customer=customer, brands=allowed_brands(request))
        return Response(CodeVerifiedOut({**shown, "metadata": spent.metadata}).data)
