"""Programme set-up endpoints: brands, rewards, campaigns, and GET /auth/authorize."""
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import services
from campaigns.auth import allowed_brands, check_brand, issue_token
from campaigns.models import Brand, Campaign, Reward
from core.json import jsonable
from core.serializers import (
    AmountField,
    AwareDateTimeField,
    JSONObjectField,
    JSONValueField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from core.views import EnvelopeMixin


class BrandIn(StrictSerializer):
    id = StrictCharField()
    name = StrictCharField()


def brand_out(brand: Brand) -> dict:
    return {"id": brand.id, "name": brand.name, "created_at": jsonable(brand.created_at)}


class RewardIn(StrictSerializer):
    brand_id = StrictCharField(required=False, allow_null=True)
    name = StrictCharField()
    type = serializers.ChoiceField(choices=Reward.Type.choices)
    decimals = StrictIntegerField(required=False, min_value=0, max_value=4)
    conditions = JSONObjectField(required=False)
    attributes = JSONObjectField(required=False)

    def validate_attributes(self, value):
        factor = value.get("conversion_factor")
        if factor is not None:
            if isinstance(factor, (int, float)) and not isinstance(factor, bool):
                factor = Decimal(str(factor))
            try:
                AmountField().run_validation(factor)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"conversion_factor": exc.detail}) from None
        return value


def reward_out(reward: Reward) -> dict:
    return jsonable({
        "id": reward.pk, "brand_id": reward.brand_id, "name": reward.name, "type": reward.type,
        "decimals": reward.decimals, "conditions": reward.conditions, "attributes": reward.attributes,
        "created_at": reward.created_at,
    })


class CampaignIn(StrictSerializer):
    brand_id = StrictCharField(required=False, allow_null=True)
    name = StrictCharField()
    type = serializers.ChoiceField(choices=Campaign.Type.choices, required=False)
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    trigger = StrictCharField(max_length=64)
    start_date = AwareDateTimeField()
    end_date = AwareDateTimeField(required=False, allow_null=True)
    budget = AmountField(required=False, allow_null=True)
    rules = JSONValueField()


def campaign_out(campaign: Campaign) -> dict:
    return jsonable({
        "id": campaign.pk, "brand_id": campaign.brand_id, "name": campaign.name, "type": campaign.type,
        "status": campaign.status, "derived_status": campaign.derived_status(timezone.now()),
        "trigger": campaign.trigger_id, "start_date": campaign.start_date, "end_date": campaign.end_date,
        "budget": campaign.budget, "rules": campaign.rules, "created_at": campaign.created_at,
    })


class _ReadCreate(EnvelopeMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """create -> service, list/retrieve -> the `*_out` shape."""

    input_class: type
    output = staticmethod(lambda obj: obj)

    def get_serializer(self, *args, **kwargs):
        return self.input_class(*args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self.output(obj) for obj in page])

    def retrieve(self, request, pk=None):
        return Response(self.output(self.get_object()))

    def create(self, request):
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        check_brand(request, data.validated_data.get(self.brand_field))
        return Response(self.output(self.perform(data.validated_data)), status=201)

    brand_field = "brand_id"
    global_visible = True  # objects with no brand are shown to brand-restricted keys

    def get_queryset(self):
        queryset = super().get_queryset()
        allowed = allowed_brands(self.request)
        if allowed is None:
            return queryset
        field = "pk" if self.brand_field == "id" else "brand_id"
        visible = Q(**{f"{field}__in": allowed})
        if self.global_visible and field != "pk":
            visible |= Q(brand__isnull=True)
        return queryset.filter(visible)


class BrandViewSet(_ReadCreate):
    queryset = Brand.objects.all()
    input_class = BrandIn
    brand_field = "id"
    output = staticmethod(brand_out)
    lookup_value_regex = "[^/\x00]+"  # PostgreSQL text cannot hold NUL: such an id is simply unknown

    def perform(self, data):
        return services.brand_create(**data)


class RewardViewSet(_ReadCreate):
    queryset = Reward.objects.all()
    input_class = RewardIn
    output = staticmethod(reward_out)
    filterset_fields = ["brand_id", "type"]

    def perform(self, data):
        return services.reward_create(brand_id=data.pop("brand_id", None), **data)


class CampaignViewSet(_ReadCreate):
    queryset = Campaign.objects.all()
    input_class = CampaignIn
    output = staticmethod(campaign_out)
    filterset_fields = ["brand_id", "status", "type", "trigger"]

    def perform(self, data):
        return services.campaign_create(brand_id=data.pop("brand_id", None), **data)


class AuthorizeView(EnvelopeMixin, APIView):
    """Masivo parity: exchange an `x-api-key` for a bearer token valid for one hour."""

    throttle_scope = "authorize"

    @extend_schema(responses={200: dict})
    def get(self, request):
        """Only the key itself may ask: a token cannot renew itself past its hour."""
        from django.conf import settings

        if getattr(request.auth, "by_token", False):
            raise NotAuthenticated("send the API key (x-api-key) to get a token")
        return Response({"token": issue_token(request.auth), "token_type": "Bearer",
                         "expires_in": settings.LOYALTY_API_TOKEN_MAX_AGE})
