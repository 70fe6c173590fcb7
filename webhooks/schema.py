"""The OpenAPI documentation of what the engine POSTs to webhook endpoints: one callback of
`POST /webhooks` per event name, with its body `{"event": NAME, "data": {...}}` and the three
Standard Webhooks headers. Nothing here runs while a request is served.

Callbacks (OpenAPI 3.0) rather than OpenAPI 3.1 `webhooks`: the whole schema is 3.0 (its
`nullable` and boolean `exclusiveMinimum`, which 3.1 reads otherwise).

The bodies are built by events.announce and wallets.announce from those apps' output
serializers (EventOut, WalletOut, CustomerOut...); webhooks sits below them and imports neither,
so the data shapes name those components by reference (`$ref`), which exist because the API
answers them (`manage.py spectacular --validate` fails on a reference to nothing, and
tests/webhooks/test_api.py checks real bodies against these shapes).
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiCallback, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers

from core.renderers import InstantField
from core.schema import ApiSchema
from webhooks.names import NAMES

SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "pattern": "^msg_[0-9a-f]{32}$"},
        "description": "One per message, the same on every retry: de-duplicate by it.",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "description": "Seconds since the epoch when this attempt was made; refuse messages too far from now.",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": '`v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` keyed with the '
        "secret's bytes (base64 after `whsec_`), space-separated, one per secret: for 24 hours after a rotation "
        "the old secret signs too. Any one valid signature is enough (a Standard Webhooks library verifies it).",
    },
]

RECEIVER_TEXT = (
    "Answer any 2xx within LOYALTY_WEBHOOK_TIMEOUT (10 s) once the message is stored. Anything else (another "
    "status, a timeout, no connection) is retried after 30 s, 2 min, 10 min, 1 h, 6 h and 24 h "
    "(LOYALTY_WEBHOOK_RETRY_SCHEDULE), then the delivery is FAILED; an endpoint failing for 3 days is disabled. "
    "At least once: the same `webhook-id` may arrive more than once."
)


def component(name: str) -> type[serializers.Field]:
    """A field whose schema is the API's component `name` (a shape of an app above webhooks)."""
    return extend_schema_field({"$ref": f"#/components/schemas/{name}"})(
        type(f"{name}Ref", (serializers.Field,), {"__doc__": f"The API's {name}."})
    )


EventOutRef = component("EventOut")
WalletOutRef = component("WalletOut")
WalletLineOutRef = component("WalletLineOut")
WalletTotalsOutRef = component("WalletTotalsOut")
RedemptionTakenOutRef = component("RedemptionTakenOut")
CustomerOutRef = component("CustomerOut")
CustomerDetailOutRef = component("CustomerDetailOut")


class BehaviorEventData(serializers.Serializer):
    event = EventOutRef(help_text="The event as `GET /behavior/events/{id}` answers it.")


class EventChangeData(serializers.Serializer):
    customer_id = serializers.CharField()
    event_id = serializers.UUIDField(help_text="The event that made the change.")
    brand_id = serializers.CharField()


class AccumulationData(EventChangeData):
    lines = serializers.ListField(child=WalletLineOutRef(), help_text="The lines the event credited.")
    wallet = WalletTotalsOutRef(help_text="Totals after the event.")


class RedemptionData(EventChangeData):
    redemptions = serializers.ListField(child=RedemptionTakenOutRef(), help_text="What was taken, line by line.")
    wallet = WalletTotalsOutRef(help_text="Totals after the event.")


class ReservationData(EventChangeData):
    reservations = serializers.ListField(child=RedemptionTakenOutRef(), help_text="What the held event reserved.")
    expires_at = InstantField(allow_null=True, help_text="When the reservation ends unless the event is fulfilled.")
    wallet = WalletTotalsOutRef(help_text="Totals after the event.")


class ReservationCancelledData(EventChangeData):
    status = serializers.ChoiceField(
        choices=["REVERSED", "CANCELLED", "EXPIRED"], help_text="How the held event ended."
    )
    lines = serializers.ListField(child=RedemptionTakenOutRef(), help_text="The reservations released.")
    wallet = WalletTotalsOutRef(help_text="Totals as of the event's result.")


class TierMoveData(serializers.Serializer):
    customer_id = serializers.CharField()
    from_tier_id = serializers.UUIDField(allow_null=True)
    to_tier_id = serializers.UUIDField(allow_null=True)
    from_level = serializers.IntegerField(allow_null=True)
    to_level = serializers.IntegerField(allow_null=True)
    cause_event_id = serializers.UUIDField(allow_null=True, help_text="The event whose outcome moved the customer.")
    at = InstantField()


class IdentifiedData(serializers.Serializer):
    customer = CustomerDetailOutRef()
    wallet = WalletOutRef()
    previous_id = serializers.CharField(help_text="The anonymous id (the same as `customer.id` unless re-keyed).")


class LinesData(serializers.Serializer):
    customer_id = serializers.CharField()
    lines = serializers.ListField(child=WalletLineOutRef(), help_text="The lines (of one brand, or global).")
    wallet = WalletOutRef(help_text="The wallet now.")


class CouponData(EventChangeData):
    code = serializers.CharField(help_text="The code (upper-case).")
    campaign_id = serializers.UUIDField(help_text="Its COUPONS campaign.")
    used_at = InstantField()
    reversed_at = InstantField(allow_null=True, help_text="Set on COUPON_REVERSAL.")
    accumulations = serializers.ListField(
        child=WalletLineOutRef(), help_text="The lines the redemption granted (REVERSED on COUPON_REVERSAL)."
    )
    wallet = WalletTotalsOutRef(help_text="Totals after the change.")


EVENT_DATA = {
    "CUSTOMER_REGISTRATION": CustomerOutRef,
    "CUSTOMER_ANONYMOUS_TO_REGISTERED": IdentifiedData,
    "CUSTOMER_ACCUMULATION": AccumulationData,
    "CUSTOMER_REDEMPTION": RedemptionData,
    "REWARD_RESERVATION": ReservationData,
    "REWARD_RESERVATION_CANCELLED": ReservationCancelledData,
    "BEHAVIOR_EVENT_FULFILLED": BehaviorEventData,
    "BEHAVIOR_EVENT_FAILED": BehaviorEventData,
    "BEHAVIOR_EVENT_REVERSED": BehaviorEventData,
    "BEHAVIOR_EVENT_EXPIRED": BehaviorEventData,
    "TIER_UPGRADE": TierMoveData,
    "TIER_DOWNGRADE": TierMoveData,
    "REWARDS_EXPIRED": LinesData,
    "REWARDS_EXPIRING": LinesData,
    "COUPON_REDEMPTION": CouponData,
    "COUPON_REVERSAL": CouponData,
}
assert set(EVENT_DATA) == set(NAMES), "every event name has its documented body"


def message_class(name: str) -> type[serializers.Serializer]:
    """The body of one event: `{"event": name, "data": ...}` (component `<Name>Message`)."""
    title = "".join(part.capitalize() for part in name.split("_"))
    return type(
        f"{title}Message",
        (serializers.Serializer,),
        {
            "__doc__": NAMES[name],
            "event": serializers.ChoiceField(choices=[name]),
            "data": EVENT_DATA[name](),
        },
    )


MESSAGES = {name: message_class(name) for name in NAMES}


class ReceiverSchema(AutoSchema):
    """The receiver's side of a message: no envelope, no error bodies of our own API."""


def _receiver(name: str):
    decorate = extend_schema(
        summary=name,
        description=f"{NAMES[name]}\n\n{RECEIVER_TEXT}",
        request=MESSAGES[name],
        responses={200: OpenApiResponse(description="Any 2xx: received (the body is not read).")},
    )

    def apply(view):
        view.schema = ReceiverSchema()  # extend_schema extends the view's own schema class
        return decorate(view)

    return apply


def event_callbacks() -> list[OpenApiCallback]:
    """One callback per event name, POSTed to the endpoint's `url`."""
    return [OpenApiCallback(name, "{$request.body#/url}", _receiver(name)) for name in NAMES]


class WebhookSchema(ApiSchema):
    """ApiSchema, plus the signature headers on every callback (drf-spectacular's callbacks
    take a body and responses only)."""

    def _get_callbacks(self):
        callbacks = super()._get_callbacks()
        for path_items in callbacks.values():
            for item in path_items.values():
                for operation in item.values():
                    operation["parameters"] = [dict(header) for header in SIGNATURE_HEADERS]
        return callbacks
