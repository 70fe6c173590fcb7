"""/campaigns: behaviour campaigns, their rules, budgets and limits; `POST /campaigns/{id}/copy`."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns import services
from campaigns.api.base import CrudViewSet, crud_docs
from campaigns.api.fields import LimitField, RulesField
from campaigns.api.includes import PARAMETERS as INCLUDE_PARAMETERS
from campaigns.api.includes import WithIncludes, includes_asked
from campaigns.models import Campaign
from campaigns.services.referral_fields import MAX_USES
from core.renderers import InstantField, NumberField
from core.schema import refusal
from core.serializers import AmountField, AwareDateTimeField, StrictCharField, StrictIntegerField, StrictSerializer

DERIVED_STATUSES = ("RUNNING", "PAUSED", "SCHEDULED", "FINISHED")
REFEREE_RULES = (
    "REFERRALS only (else `[]`): the rules, in the `rules` format, that reward the referred customer on the "
    "qualifying event (docs/referrals.md)."
)
MAX_USES_HELP = (
    f"REFERRALS only (else null): how many referred customers one referral code may reward, 1 to {MAX_USES}; "
    "null: no limit."
)


class CampaignIn(StrictSerializer):
    brand_id = StrictCharField(required=False, allow_null=True)
    name = StrictCharField()
    type = serializers.ChoiceField(choices=Campaign.Type.choices, required=False)
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    trigger = StrictCharField(max_length=64)
    start_date = AwareDateTimeField()
    end_date = AwareDateTimeField(required=False, allow_null=True)
    budget = AmountField(required=False, allow_null=True)
    limit = LimitField(required=False, allow_null=True)
    rules = RulesField()
    referee_rules = RulesField(required=False, help_text=REFEREE_RULES)
    max_uses = StrictIntegerField(
        source="referral_max_uses",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_USES,
        help_text=MAX_USES_HELP,
    )


class CampaignPatch(CampaignIn):
    name = StrictCharField(required=False)
    trigger = StrictCharField(max_length=64, required=False)
    start_date = AwareDateTimeField(required=False)
    rules = RulesField(required=False)


class CampaignCopyIn(StrictSerializer):
    frozen = {
        name: "a copy takes this from the campaign copied; change it on the copy (PATCH) before it starts"
        for name in (
            "rules",
            "trigger",
            "brand_id",
            "type",
            "budget",
            "limit",
            "end_date",
            "status",
            "referee_rules",
            "max_uses",
        )
    }
    name = StrictCharField(required=False)
    start_date = AwareDateTimeField(required=False)


class CampaignOut(serializers.Serializer):
    id = serializers.UUIDField()
    brand_id = serializers.CharField(allow_null=True, help_text="null: a global campaign.")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Campaign.Type.choices)
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    derived_status = serializers.SerializerMethodField()
    frozen = serializers.SerializerMethodField(
        help_text="Started: rules, trigger, brand and start can no longer change."
    )
    trigger = serializers.CharField(source="trigger_id", help_text="The event type.")
    start_date = InstantField()
    end_date = InstantField(allow_null=True)
    budget = NumberField(allow_null=True)
    budget_used = NumberField()
    budget_remaining = NumberField(allow_null=True)
    limit = LimitField(allow_null=True)
    rules = RulesField(help_text="A REFERRALS campaign's rules reward the referrer.")
    referee_rules = RulesField(help_text=REFEREE_RULES)
    max_uses = serializers.IntegerField(source="referral_max_uses", allow_null=True, help_text=MAX_USES_HELP)
    created_at = InstantField()

    def _now(self):
        return self.context.setdefault("now", timezone.now())

    @extend_schema_field(serializers.ChoiceField(choices=DERIVED_STATUSES))
    def get_derived_status(self, campaign: Campaign) -> str:
        return campaign.derived_status(self._now())

    @extend_schema_field(serializers.BooleanField())
    def get_frozen(self, campaign: Campaign) -> bool:
        return campaign.is_frozen(self._now())


class CampaignDetailOut(WithIncludes, CampaignOut):
    """A campaign with the parts `?includes=` asked for (campaigns.api.includes)."""


def _derived(queryset, name, value):
    now = timezone.now()
    unfinished = Q(end_date__isnull=True) | Q(end_date__gt=now)
    return queryset.filter(
        {
            "ACTIVE": Q(status=Campaign.Status.ACTIVE),
            "INACTIVE": Q(status=Campaign.Status.INACTIVE),
            "RUNNING": Q(status=Campaign.Status.ACTIVE, start_date__lte=now) & unfinished,
            "PAUSED": Q(status=Campaign.Status.INACTIVE, start_date__lte=now) & unfinished,
            "SCHEDULED": Q(start_date__gt=now) & unfinished,
            "FINISHED": Q(end_date__lte=now),
        }[value]
    )


class CampaignFilter(django_filters.FilterSet):
    brand_id = django_filters.CharFilter()
    type = django_filters.ChoiceFilter(choices=Campaign.Type.choices)
    trigger = django_filters.CharFilter(field_name="trigger_id")
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in ("ACTIVE", "INACTIVE", *DERIVED_STATUSES)], method=_derived
    )

    class Meta:
        model = Campaign
        fields = []


@extend_schema_view(
    **crud_docs(
        thing="campaign",
        output=CampaignOut,
        create=CampaignIn,
        patch=CampaignPatch,
        create_404=True,
        filters_note="Filter by `brand_id`, `type`, `trigger` and `status` (ACTIVE, INACTIVE, or the derived "
        "RUNNING, PAUSED, SCHEDULED, FINISHED).",
        e409_patch="`campaign_frozen`: the campaign has started; its rules, trigger, brand, type and start are "
        "frozen (copy it instead).",
        e409_delete="`in_use`: the campaign has started, or granted rewards.",
    )
    | {
        "retrieve": extend_schema(
            summary="Read a campaign",
            parameters=INCLUDE_PARAMETERS,
            responses={200: CampaignDetailOut, 400: refusal("An unknown `includes` name (`validation_error`).")},
        )
    }
)
class CampaignViewSet(CrudViewSet):
    queryset = Campaign.objects.all()
    input_class, patch_class, output_class = CampaignIn, CampaignPatch, CampaignOut
    filterset_class = CampaignFilter

    def retrieve(self, request, pk=None):
        context = {"request": request, "includes": includes_asked(request)}
        return Response(CampaignDetailOut(self.get_object(), context=context).data)

    def perform_create_service(self, data):
        return services.campaign_create(brand_id=data.pop("brand_id", None), **data)

    def perform_update_service(self, campaign, data):
        return services.campaign_update(campaign_id=campaign.pk, **data)

    def perform_delete_service(self, campaign):
        services.campaign_delete(campaign_id=campaign.pk)

    @extend_schema(
        summary="Copy a campaign",
        request=CampaignCopyIn,
        description="An INACTIVE, editable copy of the campaign (its rules may be changed until it starts).",
        responses={201: OpenApiResponse(CampaignOut, description="The copy."), 409: refusal("`idempotency_conflict`.")},
    )
    @action(detail=True, methods=["post"])
    def copy(self, request, pk=None):
        """An INACTIVE, editable copy of the campaign (its rules may be changed until it starts)."""
        campaign = self.get_object()
        self._check_write(obj=campaign)
        data = self._valid(CampaignCopyIn, request.data)
        return Response(self.output(services.campaign_copy(campaign_id=campaign.pk, **data)), status=201)
