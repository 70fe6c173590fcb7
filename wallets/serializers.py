"""The response shapes of members and money (wallets, lines, totals, metrics, customers, ledger
rows). Each output serializer both renders its shape and documents it in the OpenAPI schema:
`WalletLineOut(line).data` is what every response carrying a line holds."""

from rest_framework import serializers

from campaigns.engine import METRIC_PERIODS
from campaigns.models import Reward
from core.renderers import InstantField, JSONObjectOutField, NumberField, OptionalTextField
from wallets.models import Customer, Transaction, WalletLine


class WalletLineOut(serializers.Serializer):
    """One lot of one reward in a wallet."""

    id = serializers.IntegerField()
    reward_id = serializers.UUIDField()
    campaign_id = serializers.UUIDField(allow_null=True)
    rule_id = OptionalTextField()
    brand_id = serializers.CharField(allow_null=True)
    event_id = serializers.UUIDField(allow_null=True)
    amount = NumberField(help_text="Issued.")
    remaining = NumberField()
    reserved = NumberField(help_text="Held by PENDING events.")
    state = serializers.ChoiceField(choices=WalletLine.State.choices)
    issued_at = InstantField()
    expiration_date = InstantField(allow_null=True, help_text="null: never expires.")
    reservation_expires_at = InstantField(allow_null=True)


class RewardSummaryOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Reward.Type.choices)
    brand_id = serializers.CharField(allow_null=True)
    decimals = serializers.IntegerField()


class WalletTotalOut(serializers.Serializer):
    """A wallet's balance of one reward (wallets.selectors.TotalRow)."""

    reward_id = serializers.UUIDField()
    reward = RewardSummaryOut()
    total = NumberField(help_text="Spendable now: AVAILABLE, unexpired, unreserved (plus any negative debt).")
    reserved = NumberField(help_text="Held by PENDING events.")
    pending = NumberField(help_text="Credited by PENDING events; spendable once they are fulfilled.")
    debt = NumberField(help_text="Owed after reversing rewards that were already spent.")
    next_expiration_date = InstantField(allow_null=True)
    expiring_amount = NumberField(help_text="How much expires at next_expiration_date.")


class WalletTotalsOut(serializers.Serializer):
    totals = WalletTotalOut(many=True)


class WalletOut(serializers.Serializer):
    lines = WalletLineOut(
        many=True, help_text="AVAILABLE, unexpired lines with remaining > 0, soonest expiration first."
    )
    totals = WalletTotalOut(many=True)


class MetricsOut(serializers.Serializer):
    number_of_purchases = serializers.IntegerField()
    spend_total = NumberField()
    events = serializers.DictField(child=serializers.IntegerField(), help_text="Event count per type.")
    last_visit = InstantField(allow_null=True)


MetricsByPeriodOut = type(
    "MetricsByPeriodOut",
    (serializers.Serializer,),
    {
        "__doc__": "Metrics per period, in the programme's time zone.",
        "__module__": __name__,
        **{period: MetricsOut() for period in METRIC_PERIODS},
    },
)


class TierSummaryOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    level = serializers.IntegerField()


class CustomerDetailOut(serializers.Serializer):
    """A customer; `metrics` is what wallets.selectors.customer_profile puts beside it."""

    id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Customer.Status.choices)
    tags = JSONObjectOutField()
    metadata = JSONObjectOutField()
    registration_date = InstantField()
    tier_id = serializers.UUIDField()
    tier = TierSummaryOut()
    metrics = MetricsByPeriodOut()
    created_at = InstantField()


class CustomerOut(serializers.Serializer):
    """A customer with its wallet (wallets.selectors.customer_profile). A brand-restricted key
    sees only its brands' (and global) rewards in the wallet."""

    customer = CustomerDetailOut()
    wallet = WalletOut()


class CustomerListItemOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Customer.Status.choices)
    registration_date = InstantField()


class TransactionOut(serializers.Serializer):
    """An immutable ledger row."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=Transaction.Type.choices)
    amount = NumberField(help_text="Signed.")
    reward_id = serializers.UUIDField()
    customer_id = serializers.CharField(source="wallet.customer_id")
    line_id = serializers.IntegerField(allow_null=True)
    event_id = serializers.UUIDField(allow_null=True)
    campaign_id = serializers.UUIDField(allow_null=True)
    brand_id = serializers.CharField(allow_null=True)
    cost = NumberField(allow_null=True, help_text="amount x the reward's conversion factor.")
    created_at = InstantField()
    details = JSONObjectOutField()
