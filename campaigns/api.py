"""Programme set-up endpoints: brands, rewards, tiers, event types, campaigns, and
GET /auth/authorize. Every write goes through campaigns/services.py.

Lists page with `?from=&to=` and filter with query parameters: rewards by `brand_id`, `type`;
campaigns by `brand_id`, `type`, `trigger` and `status` (ACTIVE, INACTIVE, or the derived
RUNNING, PAUSED, SCHEDULED, FINISHED); event types by `tracking_only`.
"""
from decimal import Decimal

import django_filters
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import schema as docs
from campaigns import services
from campaigns.auth import allowed_brands, check_brand, issue_token
from campaigns.models import Brand, Campaign, EventType, Reward, Tier
from core.filters import StrictBooleanFilter
from core.json import jsonable
from core.serializers import (
    AmountField,
    AwareDateTimeField,
    JSONObjectField,
    JSONValueField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from core.views import EnvelopeMixin

NO_NUL_ID = "[^/\x00]+"  # PostgreSQL text cannot hold NUL: such an id is simply unknown

# ---- shapes -----------------------------------------------------------------------------------


def brand_out(brand: Brand) -> dict:
    return jsonable({"id": brand.id, "name": brand.name, "created_at": brand.created_at})


def reward_out(reward: Reward) -> dict:
    return jsonable({
        "id": reward.pk, "brand_id": reward.brand_id, "name": reward.name, "type": reward.type,
        "decimals": reward.decimals, "conditions": reward.conditions, "attributes": reward.attributes,
        "created_at": reward.created_at,
    })


def tier_out(tier: Tier) -> dict:
    return jsonable({"id": tier.pk, "name": tier.name, "level": tier.level, "entry_conditions": tier.entry_conditions,
                     "base": tier.level == 1, "created_at": tier.created_at})


def event_type_out(event_type: EventType) -> dict:
    return {"name": event_type.name, "tracking_only": event_type.tracking_only, "built_in": event_type.built_in}


def campaign_out(campaign: Campaign) -> dict:
    now = timezone.now()
    return jsonable({
        "id": campaign.pk, "brand_id": campaign.brand_id, "name": campaign.name, "type": campaign.type,
        "status": campaign.status, "derived_status": campaign.derived_status(now),
        "frozen": campaign.is_frozen(now), "trigger": campaign.trigger_id, "start_date": campaign.start_date,
        "end_date": campaign.end_date, "budget": campaign.budget, "budget_used": campaign.budget_used,
        "budget_remaining": None if campaign.budget is None else campaign.budget - campaign.budget_used,
        "limit": campaign.limit, "rules": campaign.rules, "created_at": campaign.created_at,
    })


# ---- inputs -----------------------------------------------------------------------------------------


class BrandIn(StrictSerializer):
    id = StrictCharField()
    name = StrictCharField()


class BrandPatch(StrictSerializer):
    name = StrictCharField()


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


class RewardPatch(RewardIn):
    name = StrictCharField(required=False)
    type = serializers.ChoiceField(choices=Reward.Type.choices, required=False)


class TierIn(StrictSerializer):
    name = StrictCharField()
    level = StrictIntegerField(min_value=1, max_value=10)
    entry_conditions = JSONValueField(required=False)


class TierPatch(TierIn):
    name = StrictCharField(required=False)
    level = StrictIntegerField(min_value=1, max_value=10, required=False)


class EventTypeIn(StrictSerializer):
    name = serializers.RegexField(r"^[A-Z][A-Z0-9_]*$", max_length=64,
                                  error_messages={"invalid": "must be an upper-case identifier (A-Z, 0-9, _)"})
    tracking_only = StrictBooleanField(required=False)


class EventTypePatch(StrictSerializer):
    tracking_only = StrictBooleanField()


class CampaignIn(StrictSerializer):
    brand_id = StrictCharField(required=False, allow_null=True)
    name = StrictCharField()
    type = serializers.ChoiceField(choices=Campaign.Type.choices, required=False)
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    trigger = StrictCharField(max_length=64)
    start_date = AwareDateTimeField()
    end_date = AwareDateTimeField(required=False, allow_null=True)
    budget = AmountField(required=False, allow_null=True)
    limit = JSONValueField(required=False, allow_null=True)
    rules = JSONValueField()


class CampaignPatch(CampaignIn):
    name = StrictCharField(required=False)
    trigger = StrictCharField(max_length=64, required=False)
    start_date = AwareDateTimeField(required=False)
    rules = JSONValueField(required=False)


class CampaignCopyIn(StrictSerializer):
    name = StrictCharField(required=False)
    start_date = AwareDateTimeField(required=False)


# ---- filters --------------------------------------------------------------------------------------------


def _derived(queryset, name, value):
    now = timezone.now()
    unfinished = Q(end_date__isnull=True) | Q(end_date__gt=now)
    return queryset.filter({
        "ACTIVE": Q(status=Campaign.Status.ACTIVE),
        "INACTIVE": Q(status=Campaign.Status.INACTIVE),
        "RUNNING": Q(status=Campaign.Status.ACTIVE, start_date__lte=now) & unfinished,
        "PAUSED": Q(status=Campaign.Status.INACTIVE, start_date__lte=now) & unfinished,
        "SCHEDULED": Q(start_date__gt=now) & unfinished,
        "FINISHED": Q(end_date__lte=now),
    }[value])


class EventTypeFilter(django_filters.FilterSet):
    tracking_only = StrictBooleanFilter()

    class Meta:
        model = EventType
        fields = []


class CampaignFilter(django_filters.FilterSet):
    brand_id = django_filters.CharFilter()
    type = django_filters.ChoiceFilter(choices=Campaign.Type.choices)
    trigger = django_filters.CharFilter(field_name="trigger_id")
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in ("ACTIVE", "INACTIVE", "RUNNING", "PAUSED", "SCHEDULED", "FINISHED")],
        method=_derived)

    class Meta:
        model = Campaign
        fields = []


# ---- views -------------------------------------------------------------------------------------------------


class _Crud(EnvelopeMixin, viewsets.GenericViewSet):
    """list / retrieve / create / partial_update / destroy, each a call to a service.

    Brand-restricted keys see their brands' objects (and, except brands, global ones) and may
    only write objects of their brands."""

    input_class: type
    patch_class: type
    output = staticmethod(lambda obj: obj)
    brand_scoped = True  # the object has a brand_id (None = global)
    lookup_value_regex = NO_NUL_ID

    def get_serializer(self, *args, **kwargs):
        return self.input_class(*args, **kwargs)

    def get_queryset(self):
        queryset = self.queryset.all()
        allowed = allowed_brands(self.request)
        if allowed is None:
            return queryset
        if not self.brand_scoped:
            return queryset if self.request.method in ("GET", "HEAD", "OPTIONS") else queryset.none()
        return queryset.filter(Q(brand_id__in=allowed) | Q(brand__isnull=True))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self.output(obj) for obj in page])

    def retrieve(self, request, pk=None):
        return Response(self.output(self.get_object()))

    def _valid(self, serializer_class, data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _check_write(self, obj=None, data=None):
        if self.brand_scoped:
            if obj is not None:
                check_brand(self.request, obj.brand_id)
            if data is not None and (obj is None or "brand_id" in data):
                check_brand(self.request, data.get("brand_id"))
        else:
            check_brand(self.request, None)

    def create(self, request):
        data = self._valid(self.input_class, request.data)
        self._check_write(data=data)
        return Response(self.output(self.perform_create_service(data)), status=201)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        data = self._valid(self.patch_class, request.data)
        self._check_write(obj=obj, data=data)
        return Response(self.output(self.perform_update_service(obj, data)))

    def destroy(self, request, pk=None):
        obj = self.get_object()
        self._check_write(obj=obj)
        self.perform_delete_service(obj)
        return Response(status=204)


@extend_schema_view(**docs.brand_views(create=BrandIn, patch=BrandPatch))
class BrandViewSet(_Crud):
    queryset = Brand.objects.all()
    input_class, patch_class = BrandIn, BrandPatch
    output = staticmethod(brand_out)
    brand_scoped = False
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        allowed = allowed_brands(self.request)
        return self.queryset if allowed is None else self.queryset.filter(pk__in=allowed)

    def perform_create_service(self, data):
        return services.brand_create(**data)

    def perform_update_service(self, brand, data):
        return services.brand_update(brand_id=brand.pk, **data)

    def perform_delete_service(self, brand):
        services.brand_delete(brand_id=brand.pk)


@extend_schema_view(**docs.reward_views(create=RewardIn, patch=RewardPatch))
class RewardViewSet(_Crud):
    queryset = Reward.objects.all()
    input_class, patch_class = RewardIn, RewardPatch
    output = staticmethod(reward_out)
    filterset_fields = ["brand_id", "type"]

    def perform_create_service(self, data):
        return services.reward_create(brand_id=data.pop("brand_id", None), **data)

    def perform_update_service(self, reward, data):
        return services.reward_update(reward_id=reward.pk, **data)

    def perform_delete_service(self, reward):
        services.reward_delete(reward_id=reward.pk)


@extend_schema_view(**docs.tier_views(create=TierIn, patch=TierPatch))
class TierViewSet(_Crud):
    queryset = Tier.objects.all()
    input_class, patch_class = TierIn, TierPatch
    output = staticmethod(tier_out)
    brand_scoped = False

    def perform_create_service(self, data):
        return services.tier_create(**data)

    def perform_update_service(self, tier, data):
        return services.tier_update(tier_id=tier.pk, **data)

    def perform_delete_service(self, tier):
        services.tier_delete(tier_id=tier.pk)


@extend_schema_view(**docs.event_type_views(create=EventTypeIn, patch=EventTypePatch))
class EventTypeViewSet(_Crud):
    queryset = EventType.objects.all()
    input_class, patch_class = EventTypeIn, EventTypePatch
    output = staticmethod(event_type_out)
    brand_scoped = False
    filterset_class = EventTypeFilter

    def perform_create_service(self, data):
        return services.event_type_create(**data)

    def perform_update_service(self, event_type, data):
        return services.event_type_update(name=event_type.pk, **data)

    def perform_delete_service(self, event_type):
        services.event_type_delete(name=event_type.pk)


@extend_schema_view(**docs.campaign_views(create=CampaignIn, patch=CampaignPatch))
class CampaignViewSet(_Crud):
    queryset = Campaign.objects.all()
    input_class, patch_class = CampaignIn, CampaignPatch
    output = staticmethod(campaign_out)
    filterset_class = CampaignFilter

    def perform_create_service(self, data):
        return services.campaign_create(brand_id=data.pop("brand_id", None), **data)

    def perform_update_service(self, campaign, data):
        return services.campaign_update(campaign_id=campaign.pk, **data)

    def perform_delete_service(self, campaign):
        services.campaign_delete(campaign_id=campaign.pk)

    @docs.campaign_copy(request=CampaignCopyIn)
    @action(detail=True, methods=["post"])
    def copy(self, request, pk=None):
        """An INACTIVE, editable copy of the campaign (its rules may be changed until it starts)."""
        campaign = self.get_object()
        self._check_write(obj=campaign)
        data = self._valid(CampaignCopyIn, request.data)
        return Response(campaign_out(services.campaign_copy(campaign_id=campaign.pk, **data)), status=201)


class AuthorizeView(EnvelopeMixin, APIView):
    """Masivo parity: exchange an `x-api-key` for a bearer token valid for one hour."""

    throttle_scope = "authorize"

    @docs.AUTHORIZE
    def get(self, request):
        """Only the key itself may ask: a token cannot renew itself past its hour."""
        if getattr(request.auth, "by_token", False):
            raise NotAuthenticated("send the API key (x-api-key) to get a token")
        return Response({"token": issue_token(request.auth), "token_type": "Bearer",
                         "expires_in": settings.LOYALTY_API_TOKEN_MAX_AGE})
