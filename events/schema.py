"""OpenAPI documentation of the event endpoints and PUT /events/redeem/preview (drf-spectacular).
Documentation only: the output serializers describe the dicts built by events.api.event_out and
events.services (`result`, redeem_preview); nothing here runs on a request."""
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from core.schema import (
    RANGE_PARAMETERS,
    RESPONSE_HEADERS,
    JSONObject,
    Number,
    data_of,
    errors,
    idempotency_headers,
    range_list_of,
)
from events.models import Event
from wallets.schema import MetricsOut, WalletLineOut, WalletTotalsOut


class RewardingCampaignOut(serializers.Serializer):
    campaign_id = serializers.UUIDField()
    rule_id = serializers.CharField()


class RedemptionTakenOut(serializers.Serializer):
    """What one redemption took from one wallet line."""

    line_id = serializers.IntegerField()
    reward_id = serializers.UUIDField()
    amount = Number()
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


class EventOut(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.CharField()
    brand_id = serializers.CharField()
    type = serializers.CharField(help_text="The event type.")
    status = serializers.ChoiceField(choices=Event.Status.choices)
    fulfilled = serializers.BooleanField()
    reserve = serializers.IntegerField(help_text="Days a held event's reservations last.")
    platform = serializers.CharField(allow_null=True)
    purchase_id = serializers.CharField(allow_null=True)
    data = JSONObject(help_text="The emitted payload, as validated.")
    rewarding_campaigns = RewardingCampaignOut(many=True, help_text="The campaign rules that fired.")
    result = EventResultOut()
    reason = serializers.CharField(allow_null=True, help_text="Why it FAILED, or was reversed or cancelled.")
    error_code = serializers.CharField(allow_null=True, help_text="The error code of a FAILED event.")
    issued_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    processing_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    expired_at = serializers.DateTimeField(allow_null=True)
    reversed_at = serializers.DateTimeField(allow_null=True)
    reservation_expires_at = serializers.DateTimeField(allow_null=True)
    queue_message_id = serializers.CharField(required=False, help_text="Present for `?async=true` events.")


class PreviewErrorOut(serializers.Serializer):
    error = serializers.ChoiceField(choices=["reward_not_redeemable_here", "insufficient_balance"])
    details = serializers.CharField()


class PreviewRedemptionOut(serializers.Serializer):
    place = serializers.CharField()
    reward_id = serializers.UUIDField()
    amount = Number()
    value = Number(allow_null=True, help_text="amount x the reward's conversion factor (null without one).")
    status = serializers.ChoiceField(choices=["OK", "ERROR"])
    error = PreviewErrorOut(allow_null=True)


class PreviewOrderOut(serializers.Serializer):
    value = Number(allow_null=True)
    discount = Number(help_text="The value of the OK redemptions inside the order.")
    value_after = Number(allow_null=True)


class PreviewOut(serializers.Serializer):
    redemptions = PreviewRedemptionOut(many=True)
    valid = serializers.BooleanField(help_text="Every redemption is OK.")
    order = PreviewOrderOut()


# ---- operations --------------------------------------------------------------------------------------------

EVENT_ENVELOPE = data_of(EventOut)

ASYNC = OpenApiParameter(
    "async", {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])$"}, OpenApiParameter.QUERY,
    description="`true` (or `1`, any case): store the event PENDING and queued, answer 202 with a "
                "`queue_message_id`; a worker applies it. `false` (or `0`, the default): apply it now. "
                "Any other value, the empty one included, is a 400.",
)

EVENT_VIEWS = {
    "list": extend_schema(
        summary="List events", parameters=[*RANGE_PARAMETERS, *RESPONSE_HEADERS],
        responses={200: OpenApiResponse(range_list_of(EventOut, "EventList"), description="A page of events."),
                   **errors(400)},
    ),
    "retrieve": extend_schema(summary="Read an event", parameters=RESPONSE_HEADERS,
                              responses={200: OpenApiResponse(EVENT_ENVELOPE, description="The event."),
                                         **errors(404, e404="`event_not_found`.")}),
}


def emit(*, request) -> extend_schema:
    return extend_schema(
        summary="Emit an event",
        description="Matches the running campaigns, credits and debits the wallet, and answers the final "
                    "result (201). `fulfilled: false` holds the event PENDING with its accumulations pending "
                    "and its redemptions reserved for `reserve` days.",
        request=request, parameters=[ASYNC, *idempotency_headers(201, 202, 422), *RESPONSE_HEADERS],
        responses={
            201: OpenApiResponse(EVENT_ENVELOPE, description="Applied: RESOLVED, or PENDING when held."),
            202: OpenApiResponse(EVENT_ENVELOPE, description="Queued (`?async=true`): PENDING, with a `queue_message_id`."),
            **errors(400, 403, 404, 409, 415, 422,
                     e404="Unknown brand (`brand_not_found`) or customer (`customer_not_found`).",
                     e409="`duplicate_purchase` (a live event with the same brand, type and `order.purchase_id`; "
                          "its id in `event_id`), or `idempotency_conflict`.",
                     e422="`insufficient_balance` or `reward_not_redeemable_here`: the event is stored FAILED "
                          "(its id in `event_id`) and nothing moved."),
        },
    )


FULFILL = extend_schema(
    summary="Fulfill a held event",
    description="PENDING (`fulfilled: false`) -> RESOLVED: its pending lines become spendable and its "
                "reservations are consumed.",
    request=None, parameters=RESPONSE_HEADERS,
    responses={200: OpenApiResponse(EVENT_ENVELOPE, description="The event, RESOLVED."),
               **errors(403, 404, 409, e409="`invalid_transition`: not a held PENDING event (its `status` is "
                                            "given), still queued, or past its reservation.")},
)


def reverse(*, request) -> extend_schema:
    return extend_schema(
        summary="Reverse an event",
        description="RESOLVED -> REVERSED (accumulations taken back, redemptions returned, metrics restored), "
                    "or held PENDING -> CANCELLED.",
        request=request, parameters=[*idempotency_headers(200), *RESPONSE_HEADERS],
        responses={200: OpenApiResponse(EVENT_ENVELOPE, description="The event, REVERSED or CANCELLED."),
                   **errors(400, 403, 404, 409, 415,
                            e409="`invalid_transition` (its `status` is given), or `idempotency_conflict`.")},
    )


def preview(*, request) -> extend_schema:
    return extend_schema(
        summary="Preview redemptions on an order",
        description="What the given redemptions would do to the order, each with its result or error; "
                    "nothing is written.",
        request=request, parameters=RESPONSE_HEADERS,
        responses={200: OpenApiResponse(data_of(PreviewOut), description="Each redemption with its result."),
                   **errors(400, 403, 404, 415,
                            e404="Unknown brand (`brand_not_found`) or customer (`customer_not_found`).")},
    )
