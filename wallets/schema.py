"""OpenAPI documentation of the customer and ledger endpoints (drf-spectacular). Documentation
only: these serializers describe the dicts built by wallets.api (customer_out, transaction_out)
and wallets.selectors (wallet_summary, customer_metrics, line_dict); they never run on a request."""
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from campaigns.models import Reward
from core.schema import (
    CURSOR_PARAMETERS,
    RANGE_PARAMETERS,
    RESPONSE_HEADERS,
    JSONObject,
    Number,
    cursor_list_of,
    data_of,
    errors,
    idempotency_headers,
    range_list_of,
)
from wallets.models import Customer, Transaction, WalletLine
from wallets.selectors import PERIODS

# ---- wallet -----------------------------------------------------------------------------------------


class WalletLineOut(serializers.Serializer):
    """One lot of one reward in a wallet."""

    id = serializers.IntegerField()
    reward_id = serializers.UUIDField()
    campaign_id = serializers.UUIDField(allow_null=True)
    rule_id = serializers.CharField(allow_null=True)
    brand_id = serializers.CharField(allow_null=True)
    event_id = serializers.UUIDField(allow_null=True)
    amount = Number(help_text="Issued.")
    remaining = Number()
    reserved = Number(help_text="Held by PENDING events.")
    state = serializers.ChoiceField(choices=WalletLine.State.choices)
    issued_at = serializers.DateTimeField()
    expiration_date = serializers.DateTimeField(allow_null=True, help_text="null: never expires.")
    reservation_expires_at = serializers.DateTimeField(allow_null=True)


class RewardSummaryOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Reward.Type.choices)
    brand_id = serializers.CharField(allow_null=True)
    decimals = serializers.IntegerField()


class WalletTotalOut(serializers.Serializer):
    """A wallet's balance of one reward."""

    reward_id = serializers.UUIDField()
    reward = RewardSummaryOut()
    total = Number(help_text="Spendable now: AVAILABLE, unexpired, unreserved (plus any negative debt).")
    reserved = Number(help_text="Held by PENDING events.")
    pending = Number(help_text="Credited by PENDING events; spendable once they are fulfilled.")
    debt = Number(help_text="Owed after reversing rewards that were already spent.")
    next_expiration_date = serializers.DateTimeField(allow_null=True)
    expiring_amount = Number(help_text="How much expires at next_expiration_date.")


class WalletTotalsOut(serializers.Serializer):
    totals = WalletTotalOut(many=True)


class WalletOut(serializers.Serializer):
    lines = WalletLineOut(many=True, help_text="AVAILABLE, unexpired lines with remaining > 0, soonest "
                                                "expiration first.")
    totals = WalletTotalOut(many=True)


# ---- customers ---------------------------------------------------------------------------------------------


class MetricsOut(serializers.Serializer):
    number_of_purchases = serializers.IntegerField()
    spend_total = Number()
    events = serializers.DictField(child=serializers.IntegerField(), help_text="Event count per type.")
    last_visit = serializers.DateTimeField(allow_null=True)


MetricsByPeriodOut = type("MetricsByPeriodOut", (serializers.Serializer,), {
    "__doc__": "Metrics per period, in the programme's time zone.",
    "__module__": __name__,
    **{period: MetricsOut() for period in PERIODS},
})


class TierSummaryOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    level = serializers.IntegerField()


class CustomerDetailOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Customer.Status.choices)
    tags = JSONObject()
    metadata = JSONObject()
    registration_date = serializers.DateTimeField()
    tier_id = serializers.UUIDField(allow_null=True)
    tier = TierSummaryOut(allow_null=True)
    metrics = MetricsByPeriodOut()
    created_at = serializers.DateTimeField()


class CustomerOut(serializers.Serializer):
    """A customer with its wallet. A brand-restricted key sees only its brands' (and global)
    rewards in the wallet."""

    customer = CustomerDetailOut()
    wallet = WalletOut()


class CustomerListItemOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Customer.Status.choices)
    registration_date = serializers.DateTimeField()


# ---- ledger -------------------------------------------------------------------------------------------------


class TransactionOut(serializers.Serializer):
    """An immutable ledger row."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=Transaction.Type.choices)
    amount = Number(help_text="Signed.")
    reward_id = serializers.UUIDField()
    customer_id = serializers.CharField()
    line_id = serializers.IntegerField(allow_null=True)
    event_id = serializers.UUIDField(allow_null=True)
    campaign_id = serializers.UUIDField(allow_null=True)
    brand_id = serializers.CharField(allow_null=True)
    cost = Number(allow_null=True, help_text="amount x the reward's conversion factor.")
    created_at = serializers.DateTimeField()
    details = JSONObject()


# ---- operations ------------------------------------------------------------------------------------------------

CUSTOMER_ENVELOPE = data_of(CustomerOut)


def customer_views(*, create, patch) -> dict:
    """extend_schema_view kwargs for CustomerViewSet, given its input serializers."""
    return {
        "list": extend_schema(
            summary="List customers", parameters=[*RANGE_PARAMETERS, *RESPONSE_HEADERS],
            responses={200: OpenApiResponse(range_list_of(CustomerListItemOut, "CustomerList"),
                                            description="A page of customers."), **errors(400)},
        ),
        "retrieve": extend_schema(
            summary="Read a customer with metrics and wallet", parameters=RESPONSE_HEADERS,
            responses={200: OpenApiResponse(CUSTOMER_ENVELOPE, description="The customer and its wallet."),
                       **errors(404)},
        ),
        "partial_update": extend_schema(
            summary="Update a customer",
            description="`name`, `email`, `status` and `metadata` are replaced; `tags` are merged into the "
                        "customer's tags (a key set to null is removed).",
            request=patch, parameters=RESPONSE_HEADERS,
            responses={200: OpenApiResponse(CUSTOMER_ENVELOPE, description="The customer as changed."),
                       **errors(400, 404, 415)},
        ),
        "create": extend_schema(
            summary="Register a customer (with its wallet)", request=create,
            parameters=[*idempotency_headers(201), *RESPONSE_HEADERS],
            responses={201: OpenApiResponse(CUSTOMER_ENVELOPE, description="The new customer and its empty wallet."),
                       **errors(400, 409, 415, e409="`customer_exists`, or `idempotency_conflict`.")},
        ),
    }


TRANSACTION_VIEWS = {
    "list": extend_schema(
        summary="The programme-wide ledger (cursor-paged, newest first)",
        parameters=[*CURSOR_PARAMETERS, *RESPONSE_HEADERS],
        responses={200: OpenApiResponse(cursor_list_of(TransactionOut, "TransactionCursorList"),
                                        description="A page of ledger rows."),
                   **errors(400, 404, e404="An invalid `cursor` (`not_found`).")},
    ),
}

CUSTOMER_TRANSACTION_VIEWS = {
    "list": extend_schema(
        summary="One customer's ledger (newest first)",
        # range-paged, unlike the programme-wide ledger it extends
        parameters=[*RANGE_PARAMETERS, *RESPONSE_HEADERS, *(OpenApiParameter(p.name, exclude=True)
                                                            for p in CURSOR_PARAMETERS)],
        responses={200: OpenApiResponse(range_list_of(TransactionOut, "TransactionList"),
                                        description="A page of the customer's ledger rows."),
                   **errors(400, 404, e404="Unknown customer (`customer_not_found`).")},
    ),
}
