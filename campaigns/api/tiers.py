"""/tiers: levels of membership (level 1 is the base every customer starts in)."""

from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from campaigns import services
from campaigns.api.base import CrudViewSet, crud_docs
from campaigns.api.fields import EntryConditionsField
from campaigns.models import Tier
from core.renderers import InstantField
from core.serializers import StrictCharField, StrictIntegerField, StrictSerializer


class TierIn(StrictSerializer):
    name = StrictCharField()
    level = StrictIntegerField(min_value=1, max_value=10)
    entry_conditions = EntryConditionsField(required=False)


class TierPatch(TierIn):
    name = StrictCharField(required=False)
    level = StrictIntegerField(min_value=1, max_value=10, required=False)


class TierOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    level = serializers.IntegerField(min_value=1, max_value=10)
    entry_conditions = EntryConditionsField()
    base = serializers.BooleanField(source="is_base", help_text="The level-1 tier every customer starts in.")
    created_at = InstantField()


@extend_schema_view(
    **crud_docs(
        thing="tier",
        output=TierOut,
        create=TierIn,
        patch=TierPatch,
        e409_create="`tier_level_taken`, or ",
        e409_patch="`tier_level_taken`.",
        e409_delete="`in_use`: the base tier, a tier a campaign effect is limited to, or one customers are in.",
    )
)
class TierViewSet(CrudViewSet):
    queryset = Tier.objects.all()
    input_class, patch_class, output_class = TierIn, TierPatch, TierOut
    brand_scoped = False

    def perform_create_service(self, data):
        return services.tier_create(**data)

    def perform_update_service(self, tier, data):
        return services.tier_update(tier_id=tier.pk, **data)

    def perform_delete_service(self, tier):
        services.tier_delete(tier_id=tier.pk)
