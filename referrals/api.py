"""POST /customers/{id}/referrals/request-code: a customer's referral code for a REFERRALS
campaign, created once and returned ever after (Masivo's shape; referrals.services)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands, check_brand
from core.renderers import InstantField, JSONObjectOutField
from core.schema import refusal
from core.serializers import JSONObjectField, StrictCharField, StrictSerializer
from core.views import EnvelopeMixin
from referrals.services import referral_code_request

MAX_METADATA = 8192  # characters of a code's metadata as JSON


class RequestCodeIn(StrictSerializer):
    campaign_id = serializers.UUIDField(help_text="A REFERRALS campaign of the brand (or global), running.")
    brand_id = StrictCharField()
    metadata = JSONObjectField(
        required=False,
        max_chars=MAX_METADATA,
        help_text=f"Kept with a new code (ignored when the code exists); at most {MAX_METADATA} characters as JSON.",
    )


class ReferralCodeOut(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField(help_text="What the referred customer sends as `referral_code`.")
    customer_id = serializers.CharField(help_text="The referrer: the code's owner.")
    campaign_id = serializers.UUIDField()
    uses_count = serializers.IntegerField(
        help_text="Referred customers it rewarded (live: an undone one is given back)."
    )
    max_uses = serializers.IntegerField(allow_null=True, help_text="The campaign's `max_uses`; null: no limit.")
    created_at = InstantField()
    metadata = JSONObjectOutField()


class RequestCodeView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Request a customer's referral code",
        request=RequestCodeIn,
        description="Creates the customer's code for the campaign, or returns it when it exists (one code per "
        "customer and campaign; two requests racing get the same one). A customer registered with `referral_code`, "
        "or an event carrying it, is linked to the code's owner; docs/referrals.md says when each is rewarded.",
        responses={
            200: OpenApiResponse(ReferralCodeOut, description="The customer's existing code."),
            201: OpenApiResponse(ReferralCodeOut, description="A new code."),
            403: refusal("A brand-restricted key naming a brand it may not use (`permission_denied`)."),
            404: refusal(
                "Unknown customer (`customer_not_found`), brand (`brand_not_found`), or campaign "
                "(`campaign_not_found`: unknown, not REFERRALS, or of another brand)."
            ),
            422: refusal("`campaign_not_running`: a new code is only given for a RUNNING campaign."),
        },
    )
    def post(self, request, customer_id):
        data = RequestCodeIn(data=request.data)
        data.is_valid(raise_exception=True)
        check_brand(request, data.validated_data["brand_id"])
        code, created = referral_code_request(
            customer_id=customer_id, brands=allowed_brands(request), **data.validated_data
        )
        return Response(ReferralCodeOut(code).data, status=201 if created else 200)
