"""/rewards: what a wallet can hold (points, discounts, products, gift cards)."""

from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from campaigns import services
from campaigns.api.base import CrudViewSet, crud_docs
from campaigns.api.fields import RewardAttributesField, RewardConditionsField
from campaigns.models import Reward
from core.renderers import InstantField
from core.serializers import StrictCharField, StrictIntegerField, StrictSerializer


class RewardIn(StrictSerializer):
    brand_id = StrictCharField(required=False, allow_null=True)
    name = StrictCharField()
    type = serializers.ChoiceField(choices=Reward.Type.choices)
    decimals = StrictIntegerField(required=False, min_value=0, max_value=4)
    conditions = RewardConditionsField(required=False)
    attributes = RewardAttributesField(required=False)

    def validate_attributes(self, value):
        problems = services.attributes_problems(value)  # the service checks it again for every caller
        if problems:
            raise serializers.ValidationError({key.split(".", 1)[-1]: p for key, p in problems.items()})
        return value


class RewardPatch(RewardIn):
    name = StrictCharField(required=False)
    type = serializers.ChoiceField(choices=Reward.Type.choices, required=False)


class RewardOut(serializers.Serializer):
    id = serializers.UUIDField()
    brand_id = serializers.CharField(allow_null=True, help_text="null: a global reward.")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Reward.Type.choices)
    decimals = serializers.IntegerField(min_value=0, max_value=4)
    conditions = RewardConditionsField()
    attributes = RewardAttributesField()
    created_at = InstantField()


@extend_schema_view(
    **crud_docs(
        thing="reward",
        output=RewardOut,
        create=RewardIn,
        patch=RewardPatch,
        create_404=True,
        filters_note="Filter by `brand_id` and `type`.",
        e409_delete="`in_use`: a campaign grants it, or wallets hold it.",
    )
)
class RewardViewSet(CrudViewSet):
    queryset = Reward.objects.all()
    input_class, patch_class, output_class = RewardIn, RewardPatch, RewardOut
    filterset_fields = ["brand_id", "type"]

    def perform_create_service(self, data):
        return services.reward_create(brand_id=data.pop("brand_id", None), **data)

    def perform_update_service(self, reward, data):
        return services.reward_update(reward_id=reward.pk, **data)

    def perform_delete_service(self, reward):
        services.reward_delete(reward_id=reward.pk)
