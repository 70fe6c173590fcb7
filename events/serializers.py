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


class GiftCardOut(serializers.Serializer):
    """A gift-card code handed to a customer (Masivo's shape, plus `status`): in an event's
    `result.gift_card` and in GET /customers/{id}/rewards/gift-cards (giftcards renders both)."""

    code = serializers.CharField()
    reward_id = serializers.UUIDField()
    customer_id = serializers.CharField()
    rewarded_at = InstantField(allow_null=True, help_text="When it became the customer's; null while held.")
    description = serializers.CharField(allow_blank=True)
    expired_at = InstantField(allow_null=True)
    redeemed_at = InstantField(allow_null=True)
    status = serializers.ChoiceField(
        choices=["HELD", "GRANTED", "REDEEMED", "VOID", "RETURNED"],
        help_text="HELD (its event is held), GRANTED, REDEEMED, VOID (its event was reversed), RETURNED (its held "
        "event ended unfulfilled: the code went back to the pool; event results only).",
    )


class GiftCardUnfilledOut(serializers.Serializer):
    """A GIFT_CARD grant its reward's pool could not fill (wholly or in part)."""

    reward_id = serializers.UUIDField()
    campaign_id = serializers.UUIDField()
    rule_id = serializers.CharField()
    wanted = serializers.IntegerField(help_text="Cards the effect granted.")
    handed_out = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=["pool_empty"])


class ReferralQualifiedOut(serializers.Serializer):
    referral_id = serializers.IntegerField()
    campaign_id = serializers.UUIDField()
    referrer_id = serializers.CharField(help_text="Rewarded by the campaign's `rules` when this event resolves.")


class ReferralNoteOut(serializers.Serializer):
    """What this event did for referrals (the referrals app; docs/referrals.md)."""

    code = serializers.CharField(required=False, help_text="The `referral_code` the event carried.")
    linked = serializers.BooleanField(required=False, help_text="The code linked the customer to its owner.")
    ignored = serializers.ChoiceField(
        choices=[
            "unknown_code",
            "campaign_not_running",
            "self_referral",
            "already_referred",
            "code_used_up",
            "cycle",
        ],
        required=False,
        help_text="Why the code did not link (the event is applied all the same).",
    )
    qualified = ReferralQualifiedOut(
        many=True,
        required=False,
        help_text="The referrals this event qualified (its `referee_rules` grants are among its accumulations).",
    )


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
    gift_card = GiftCardOut(
        many=True, required=False, help_text="Present when a campaign granted a GIFT_CARD reward: the codes handed out."
    )
    gift_card_unfilled = GiftCardUnfilledOut(
        many=True, required=False, help_text="GIFT_CARD grants whose pool had too few codes (those grant less)."
    )
    referral = ReferralNoteOut(
        required=False, help_text="Present when the event carried a `referral_code` or qualified a referral."
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
