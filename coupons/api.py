"""Coupon endpoints: `POST`/`GET /campaigns/{id}/codes`, `POST /coupons/redeem`,
`POST /coupons/reverse` (Masivo's shapes, docs/coupons.md), and the campaign's CODES_SUMMARY
include (registered by coupons.apps with campaigns.api.includes)."""

from __future__ import annotations

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands, check_brand
from campaigns.models import Campaign
from core.exceptions import NotFound
from core.pagination import RangePagination
from core.renderers import InstantField
from core.schema import refusal
from core.serializers import StrictCharField, StrictIntegerField, StrictSerializer
from core.views import EnvelopeMixin
from coupons import codes as codegen
from coupons import selectors, services
from coupons.models import CouponCode, CouponUse
from events.models import Event
from events.status import Source
from wallets.models import Customer, WalletLine
from wallets.selectors import customer_profile
from wallets.serializers import CustomerDetailOut, WalletLineOut, WalletOut

USES_SHOWN = 10  # the latest uses each code of a listed page shows (uses_count says how many in all)


class CodesIn(StrictSerializer):
    quantity = StrictIntegerField(required=False, min_value=1, max_value=codegen.MAX_QUANTITY)
    length = StrictIntegerField(
        required=False, min_value=codegen.MIN_LENGTH, max_value=codegen.MAX_LENGTH, default=codegen.DEFAULT_LENGTH
    )
    prefix = StrictCharField(required=False, allow_blank=True, max_length=codegen.MAX_PREFIX, default="")
    codes = serializers.ListField(
        child=StrictCharField(max_length=64), required=False, min_length=1, max_length=codegen.MAX_CUSTOM
    )
    max_uses = StrictIntegerField(required=False, min_value=1, max_value=codegen.MAX_USES, default=1)
    max_uses_per_customer = StrictIntegerField(required=False, min_value=1, max_value=codegen.MAX_USES, default=1)

    def validate(self, attrs):
        if ("quantity" in attrs) == ("codes" in attrs):
            raise serializers.ValidationError({"quantity": "give either quantity (generated codes) or codes (yours)"})
        return attrs


class CodesSummaryOut(serializers.Serializer):
    used = serializers.IntegerField(help_text="Live uses of the campaign's codes (reversed ones are freed).")
    total = serializers.IntegerField(help_text="Uses all its codes allow (the sum of their max_uses).")
    left = serializers.IntegerField(help_text="total - used.")
    codes = serializers.IntegerField(help_text="How many codes the campaign has.")
    customer_id = serializers.CharField(required=False, help_text="With `?customer_id=`.")
    customer_uses = serializers.IntegerField(required=False, help_text="That customer's live uses.")
    customer_can_redeem = serializers.BooleanField(
        required=False,
        help_text="Whether that customer may still redeem a code of the campaign: it runs, the customer is within "
        "its limit, and a code has a use left that the customer's own limit on it allows.",
    )


class CodesAddedOut(serializers.Serializer):
    campaign_id = serializers.UUIDField()
    added = serializers.IntegerField()
    codes_summary = CodesSummaryOut()


class CouponUseOut(serializers.Serializer):
    customer_id = serializers.CharField()
    event_id = serializers.UUIDField()
    used_at = InstantField()
    reversed_at = InstantField(allow_null=True)


class CouponCodeOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    campaign_id = serializers.UUIDField()
    max_uses = serializers.IntegerField()
    max_uses_per_customer = serializers.IntegerField()
    uses_count = serializers.IntegerField(help_text="Live uses (a reversed use is freed).")
    uses_left = serializers.IntegerField()
    created_at = InstantField()
    uses = CouponUseOut(many=True, help_text=f"The latest {USES_SHOWN} uses, reversed ones included, newest first.")


@extend_schema_field(CodesSummaryOut(allow_null=True))
class CodesSummaryField(serializers.Field):
    """A COUPONS campaign's codes summary (null for another campaign); `?customer_id=` adds what
    that customer may still do."""

    def to_representation(self, campaign: Campaign):
        if campaign.type != Campaign.Type.COUPONS:
            return None
        summary = selectors.codes_summary(campaign=campaign)
        customer_id = self.context["request"].query_params.get("customer_id")
        if customer_id:
            customer = Customer.objects.select_related("wallet").filter(pk=customer_id[:255]).first()
            if customer is None:
                raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
            summary |= {
                "customer_id": customer.pk,
                "customer_uses": selectors.customer_uses(campaign=campaign, customer=customer),
                "customer_can_redeem": selectors.customer_may_redeem(campaign=campaign, customer=customer),
            }
        return CodesSummaryOut(summary).data


def codes_summary_field():
    return CodesSummaryField(source="*", required=False, help_text="With `?includes=CODES_SUMMARY`.")


CUSTOMER_PARAMETER = OpenApiParameter(
    "customer_id",
    str,
    OpenApiParameter.QUERY,
    description="With `includes=CODES_SUMMARY`: add whether this customer may still redeem a code of the campaign.",
)


def _campaign(request, campaign_id, *, write: bool) -> Campaign:
    """The campaign as the key may see it (another brand's answers 404 like an unknown one)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first() if _uuid_like(campaign_id) else None
    allowed = allowed_brands(request)
    if campaign is None or (allowed is not None and campaign.brand_id is not None and campaign.brand_id not in allowed):
        raise NotFound(f"campaign {campaign_id} not found", code="campaign_not_found")
    if write:
        check_brand(request, campaign.brand_id)
    return campaign


def _uuid_like(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class CampaignCodesView(EnvelopeMixin, mixins.ListModelMixin, generics.GenericAPIView):
    pagination_class = RangePagination
    serializer_class = CouponCodeOut
    queryset = CouponCode.objects.none()  # (the schema's; get() reads the campaign's codes)

    @extend_schema(
        summary="List a coupon campaign's codes",
        description="Oldest first, paged with `from`/`to`; `code` finds one code, `used=true|false` narrows to "
        "codes with or without a live use. Each code shows its latest uses.",
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.QUERY),
            OpenApiParameter("used", bool, OpenApiParameter.QUERY),
        ],
        responses={200: CouponCodeOut(many=True), 404: refusal("`campaign_not_found`.")},
    )
    def get(self, request, campaign_id):
        campaign = _campaign(request, campaign_id, write=False)
        codes = CouponCode.objects.filter(campaign=campaign).order_by("id")
        if request.query_params.get("code"):
            codes = codes.filter(code=codegen.normalize(request.query_params["code"][:64]))
        used = request.query_params.get("used")
        if used is not None:
            if used not in ("true", "false"):
                raise serializers.ValidationError({"used": "true or false"})
            codes = codes.filter(uses_count__gt=0) if used == "true" else codes.filter(uses_count=0)
        page = self.paginate_queryset(codes)
        uses: dict = {code.pk: [] for code in page}
        if page:
            ranked = CouponUse.objects.filter(code_id__in=list(uses)).annotate(
                rank=Window(RowNumber(), partition_by=F("code_id"), order_by=[F("used_at").desc(), F("id").desc()])
            )
            for use in ranked.filter(rank__lte=USES_SHOWN).order_by("code_id", "rank"):
                uses[use.code_id].append(use)
        for code in page:
            code.uses_shown = uses[code.pk]
        data = [CouponCodeOut({**vars(c), "uses_left": c.uses_left, "uses": c.uses_shown}).data for c in page]
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Add codes to a coupon campaign",
        request=CodesIn,
        description="Generated (`quantity` up to 1,000,000, `length`, `prefix`; the alphabet leaves out 0/O and "
        "1/I/L) or supplied (`codes`, up to 10,000), each with `max_uses` (default 1) and "
        "`max_uses_per_customer` (default 1). Codes are upper-case and unique in the whole programme. All or none.",
        responses={
            201: OpenApiResponse(CodesAddedOut, description="How many were added."),
            404: refusal("`campaign_not_found`."),
            409: refusal("`code_exists` (a supplied code is taken: none was added), `code_space_exhausted`."),
        },
    )
    def post(self, request, campaign_id):
        campaign = _campaign(request, campaign_id, write=True)
        data = CodesIn(data=request.data)
        data.is_valid(raise_exception=True)
        added = services.coupon_codes_add(campaign_id=campaign.pk, **data.validated_data)
        body = {"campaign_id": campaign.pk, "added": added, "codes_summary": selectors.codes_summary(campaign=campaign)}
        return Response(CodesAddedOut(body).data, status=201)


class CouponRedeemIn(StrictSerializer):
    customer_id = StrictCharField()
    code = StrictCharField(max_length=64)
    brand_id = StrictCharField(required=False)
    platform = StrictCharField(required=False)
    store_id = StrictCharField(required=False)
    channel_id = StrictCharField(required=False)


class CouponReverseIn(StrictSerializer):
    customer_id = StrictCharField()
    code = StrictCharField(max_length=64)
    reason = StrictCharField(required=False, max_length=2000)


class CouponResultOut(serializers.Serializer):
    customer = CustomerDetailOut()
    wallet = WalletOut(help_text="After the change (the granted lines included, or taken back).")
    accumulations = WalletLineOut(many=True, help_text="The lines the code granted (REVERSED after a reversal).")
    event_id = serializers.UUIDField(help_text="The COUPON_REDEMPTION event that recorded the use.")
    status = serializers.ChoiceField(choices=Event.Status.choices, help_text="The event's: RESOLVED or REVERSED.")
    code = serializers.CharField()
    campaign_id = serializers.UUIDField()


def _result(request, event: Event) -> dict:
    customer = Customer.objects.select_related("wallet", "tier").get(pk=event.customer_id)
    profile = customer_profile(customer=customer, brands=allowed_brands(request))
    coupon = event.data.get("coupon") or {}
    body = {
        **profile,
        "accumulations": list(WalletLine.objects.filter(event_id=event.pk).order_by("id")),
        "event_id": event.pk,
        "status": event.status,
        "code": coupon.get("code"),
        "campaign_id": coupon.get("campaign_id"),
    }
    return CouponResultOut(body).data


COUPON_422 = (
    "`coupon_not_found` (unknown, or another brand's: nothing stored), `no_consent` (with `purpose`; nothing "
    "stored), or, with the FAILED event's `event_id`: `coupon_campaign_not_running`, `coupon_used_up`, "
    "`coupon_customer_limit` (`limit`), `coupon_campaign_limit`, `coupon_requirement_not_met` (with "
    '`requirement`: the rule\'s own text, else "Condition was not met"), `coupon_budget_exhausted`.'
)


class CouponRedeemView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Redeem a coupon code",
        request=CouponRedeemIn,
        description="Records a COUPON_REDEMPTION event evaluating the code's campaign (its conditions may read "
        "`event.platform`, `order.store_id`, `order.channel_id` and `customer.*`) and answers what it granted "
        "with the wallet including it. `brand_id` defaults to the campaign's brand.",
        responses={
            201: OpenApiResponse(CouponResultOut, description="Redeemed."),
            404: refusal("`customer_not_found`, `brand_not_found`."),
            409: refusal("`idempotency_conflict`."),
            422: refusal(COUPON_422),
        },
    )
    def post(self, request):
        data = CouponRedeemIn(data=request.data)
        data.is_valid(raise_exception=True)
        body = dict(data.validated_data)
        if body.get("brand_id"):
            check_brand(request, body["brand_id"])
        event = services.coupon_redeem(**body, brands=allowed_brands(request), source=Source.API)
        return Response(_result(request, event), status=201)


class CouponReverseView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Reverse a coupon redemption",
        request=CouponReverseIn,
        description="Reverses the customer's latest live use of the code: its event is REVERSED (what it granted "
        "taken back; spent points leave a debt) and the use is freed.",
        responses={
            200: OpenApiResponse(CouponResultOut, description="Reversed."),
            404: refusal("`customer_not_found`."),
            409: refusal("`coupon_already_reversed`, `idempotency_conflict`."),
            422: refusal("`coupon_not_found`, `coupon_not_redeemed` (the customer never used it)."),
        },
    )
    def post(self, request):
        data = CouponReverseIn(data=request.data)
        data.is_valid(raise_exception=True)
        body = dict(data.validated_data)
        event = services.coupon_reverse(**body, brands=allowed_brands(request), source=Source.API)
        return Response(_result(request, event))
