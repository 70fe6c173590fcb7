"""The response shapes of events and of the redeem preview. Each output serializer both renders
its shape and documents it (`EventOut(event).data`); an event's stored `result` is written by
`EventResultOut` when the event changes and rendered by it when the event is read."""

from rest_framework import serializers

from core.renderers import InstantField, JSONObjectOutField, NumberField, OptionalTextField
from events.models import Event
from wallets.serializers import MetricsOut, WalletLineOut, WalletTotalsOut


class RewardingCampaignOut(serializers.Serializer):
    campaign_id = serializers.UUIDField()
    rule_id = serializers.CharField()


class RedemptionTakenOut(serializers.Serializer):
    """What one redemption took from one wallet line."""

    line_id = serializers.IntegerField()
    reward_id = serializers.UUIDField()
    amount = NumberField()
    place = serializers.CharField(help_text="`redeem[0]`, `order.redeem[0]`, `order.products[1].redeem[0]`, ...")


class LifetimeMetricsOut(serializers.Serializer):
    lifetime = MetricsOut()


class EventCustomerOut(serializers.Serializer):
    id = serializers.CharField()
    metrics = LifetimeMetricsOut()


class EventResultOut(serializers.Serializer):
    """Empty (`{}`) for a FAILED event and for one still queued (`?async=true`)."""

    accumulations = WalletLineOut(many=True, required=False, help_text="The lines this event credited.")
    redemptions = RedemptionTakenOut(many=True, required=False)
    wallet = WalletTotalsOut(required=False, help_text="Totals after the event.")
    customer = EventCustomerOut(required=False)
    campaigns_skipped = serializers.ChoiceField(
        choices=["no_behavioral_consent"],
        required=False,
        help_text="Present when no campaign was evaluated for the event: `no_behavioral_consent` (the customer's "
        "consent has `behavioral_campaigns: false`, read when the event was applied). The event is stored and "
        "answered as usual and its redemptions apply; it grants nothing.",
    )


class EventOut(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.CharField()
    brand_id = serializers.CharField()
    type = serializers.CharField(source="type_id", help_text="The event type.")
    status = serializers.ChoiceField(choices=Event.Status.choices)
    fulfilled = serializers.BooleanField()
    reserve = serializers.IntegerField(help_text="Days a held event's reservations last.")
    platform = OptionalTextField()
    purchase_id = serializers.CharField(allow_null=True)
    data = JSONObjectOutField(help_text="The emitted payload, as validated.")
    rewarding_campaigns = RewardingCampaignOut(many=True, help_text="The campaign rules that fired.")
    result = EventResultOut()
    reason = OptionalTextField(help_text="Why it FAILED, or was reversed or cancelled.")
    error_code = OptionalTextField(help_text="The error code of a FAILED event.")
    issued_at = InstantField()
    created_at = InstantField()
    processing_at = InstantField(allow_null=True)
    resolved_at = InstantField(allow_null=True)
    failed_at = InstantField(allow_null=True)
    cancelled_at = InstantField(allow_null=True)
    expired_at = InstantField(allow_null=True)
    reversed_at = InstantField(allow_null=True)
    reservation_expires_at = InstantField(allow_null=True)
    queue_message_id = serializers.CharField(required=False, help_text="Present for `?async=true` events.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not data.get("queue_message_id"):
            data.pop("queue_message_id", None)
        return data


class PreviewErrorOut(serializers.Serializer):
    error = serializers.ChoiceField(choices=["reward_not_redeemable_here", "insufficient_balance"])
    details = serializers.CharField()


class PreviewRedemptionOut(serializers.Serializer):
    place = serializers.CharField()
    reward_id = serializers.UUIDField()
    amount = NumberField()
    value = NumberField(allow_null=True, help_text="amount x the reward's conversion factor (null without one).")
    status = serializers.ChoiceField(choices=["OK", "ERROR"])
    error = PreviewErrorOut(allow_null=True)


class PreviewOrderOut(serializers.Serializer):
    value = NumberField(allow_null=True)
    discount = NumberField(help_text="The value of the OK redemptions inside the order.")
    value_after = NumberField(allow_null=True)


class PreviewOut(serializers.Serializer):
    redemptions = PreviewRedemptionOut(many=True)
    valid = serializers.BooleanField(help_text="Every redemption is OK.")
    order = PreviewOrderOut()
