"""The response shapes of members and money (wallets, lines, totals, metrics, customers, ledger
rows). Each output serializer both renders its shape and documents it in the OpenAPI schema:
`WalletLineOut(line).data` is what every response carrying a line holds."""

from rest_framework import serializers

from campaigns.engine import METRIC_PERIODS
from campaigns.models import Reward
from core.renderers import InstantField, JSONObjectOutField, NumberField, OptionalTextField
from wallets.models import Customer, Transaction, WalletLine
from wallets.profile import PURPOSES, consent_view


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


ConsentPurposesOut = type(
    "ConsentPurposesOut",
    (serializers.Serializer,),
    {
        "__doc__": "Each purpose of Masivo's consent: true (allowed) unless recorded false.",
        "__module__": __name__,
        **{purpose: serializers.BooleanField() for purpose in PURPOSES},
    },
)


class ConsentOut(serializers.Serializer):
    """A customer's consent (wallets.profile.consent_view). Until one is recorded every purpose
    is true and `consent_string`, `version` and `consent_timestamp` are null."""

    customer_id = serializers.CharField()
    purposes = ConsentPurposesOut()
    vendors = serializers.DictField(
        child=serializers.BooleanField(), help_text="Vendor name -> allowed; a vendor not named here is not restricted."
    )
    consent_string = serializers.CharField(allow_null=True, help_text="As sent (e.g. an IAB TCF string).")
    version = serializers.CharField(allow_null=True)
    consent_timestamp = InstantField(allow_null=True, help_text="As sent, or when it was recorded.")

    def to_representation(self, instance):
        return super().to_representation(consent_view(instance) if isinstance(instance, Customer) else instance)


class CustomerConsentOut(serializers.Serializer):
    """`GET`/`PATCH /customers/{id}/consent` (Masivo's shape)."""

    consent = ConsentOut()


class _OptionalChoiceField(serializers.ChoiceField):
    """A choice that is null in a response when unset (stored as "")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or None


class CustomerDetailOut(serializers.Serializer):
    """A customer; `metrics` is what wallets.selectors.customer_profile puts beside it. Masivo's
    profile fields are null (`platforms` empty) when unset."""

    id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Customer.Status.choices)
    is_anonymous = serializers.BooleanField()
    gender = _OptionalChoiceField(choices=Customer.Gender.choices)
    dob = serializers.DateField(allow_null=True, help_text="Date of birth (YYYY-MM-DD).")
    document_type = OptionalTextField()
    document_number = OptionalTextField()
    country = OptionalTextField(help_text="As sent (free text, at most 100 characters).")
    platforms = serializers.ListField(child=serializers.CharField())
    referral_code = OptionalTextField(help_text="The referral code the customer registered with.")
    consent = ConsentOut(source="*")
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
