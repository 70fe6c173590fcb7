"""Event endpoints: emit, list, read, fulfill, reverse (SPEC section 3)."""

from datetime import timedelta

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands, check_brand
from core.exceptions import NotFound
from core.filters import UTCDateTimeFilter
from core.renderers import output_of
from core.schema import refusal
from core.serializers import (
    AmountField,
    AwareDateTimeField,
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from core.views import EnvelopeMixin
from events import extensions, selectors, services
from events.models import Event
from events.redemptions import redemptions_bound_problem
from events.serializers import EventOut, PreviewOut
from events.status import Source

MAX_PRODUCTS = 500
ISSUED_AT_MAX_AGE = timedelta(hours=72)
CLOCK_SKEW = timedelta(seconds=60)  # an issued_at up to a minute ahead of our clock is accepted


class RedeemIn(StrictSerializer):
    keep_unknown = True  # kept in the stored payload as sent (core.serializers)

    id = serializers.UUIDField()
    amount = AmountField(positive=True)


def redeem_list(**kwargs):
    return RedeemIn(many=True, required=False, max_length=100, **kwargs)


class RedemptionsBounded:
    """A body asking for more than events.redemptions.MAX_REDEMPTIONS_PER_EVENT redemptions, all
    levels together, is a 400 naming the bound (`redeem`), counted on the raw body before any of
    its items is validated: the same refusal for emit, `?async=true` and the preview."""

    def to_internal_value(self, data):
        problem = redemptions_bound_problem(data)
        if problem:
            raise serializers.ValidationError({"redeem": [problem]})
        return super().to_internal_value(data)


class ProductIn(StrictSerializer):
    keep_unknown = True  # kept in the stored payload as sent (core.serializers)

    sku = StrictCharField()
    amount = AmountField(required=False)
    value = AmountField(required=False)
    discounted_value = AmountField(required=False)
    redeem = redeem_list()
    tags = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)


class ShippingIn(StrictSerializer):
    keep_unknown = True  # kept in the stored payload as sent (core.serializers)

    value = AmountField(required=False)
    discounted_value = AmountField(required=False)
    redeem = redeem_list()


class OrderIn(StrictSerializer):
    keep_unknown = True  # kept in the stored payload as sent (core.serializers)

    purchase_id = StrictCharField(required=False)
    store_id = StrictCharField(required=False)
    channel_id = StrictCharField(required=False)
    value = AmountField(required=False)
    discounted_value = AmountField(required=False)
    payment_method = serializers.ChoiceField(
        choices=["CREDIT", "DEBIT", "CASH", "BANK_TRANSFER", "OTHER"], required=False
    )
    products = ProductIn(many=True, required=False, max_length=MAX_PRODUCTS)
    shipping = ShippingIn(required=False)
    redeem = redeem_list()
    metadata = JSONObjectField(required=False)


class EmitIn(RedemptionsBounded, StrictSerializer):
    keep_unknown = True  # kept in the stored payload as sent (core.serializers)

    customer_id = StrictCharField()
    brand_id = StrictCharField()
    type = StrictCharField(max_length=64)
    platform = StrictCharField(required=False)
    order = OrderIn(required=False)
    product = ProductIn(required=False)
    fulfilled = StrictBooleanField(required=False)
    reserve = StrictIntegerField(required=False, min_value=1, max_value=365)
    redeem = redeem_list()
    tags = JSONObjectField(required=False)
    referral_code = StrictCharField(required=False)
    metadata = JSONObjectField(required=False)
    issued_at = AwareDateTimeField(required=False)

    def validate_issued_at(self, value):
        now = timezone.now()
        if value > now + CLOCK_SKEW:
            raise serializers.ValidationError("must not be in the future")
        if value < now - ISSUED_AT_MAX_AGE:
            raise serializers.ValidationError("must be at most 72 hours ago")
        return value

    def validate_type(self, value):
        if value in extensions.RECORDED_BY_APPS:
            raise serializers.ValidationError(f"{value} events are recorded by {extensions.RECORDED_BY_APPS[value]}")
        return value

    def validate(self, attrs):
        if attrs["type"] == "PURCHASE" and "order" not in attrs:
            raise serializers.ValidationError({"order": "a PURCHASE event needs an order"})
        if "reserve" in attrs and attrs.get("fulfilled", True):
            raise serializers.ValidationError({"reserve": "only applies with fulfilled: false"})
        return attrs


class ReverseIn(StrictSerializer):
    reason = StrictCharField(max_length=2000)


class EventFilter(django_filters.FilterSet):
    customer_id = django_filters.CharFilter()
    brand_id = django_filters.CharFilter()
    type = django_filters.CharFilter(field_name="type_id")
    status = django_filters.ChoiceFilter(choices=Event.Status.choices)
    purchase_id = django_filters.CharFilter()
    issued_after = UTCDateTimeFilter(field_name="issued_at", lookup_expr="gte")
    issued_before = UTCDateTimeFilter(field_name="issued_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = []


ASYNC = OpenApiParameter(
    "async",
    {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])$"},
    OpenApiParameter.QUERY,
    description="`true` (or `1`, any case): store the event PENDING and queued, answer 202 with a "
    "`queue_message_id`; a worker applies it. `false` (or `0`, the default): apply it now. "
    "Any other value, the empty one included, is a 400.",
)
EVENT_NOT_FOUND = refusal("`event_not_found`.")
UNKNOWN_REFERENCE = refusal("Unknown brand (`brand_not_found`) or customer (`customer_not_found`).")


@extend_schema_view(
    list=extend_schema(summary="List events", responses=EventOut(many=True)),
    retrieve=extend_schema(summary="Read an event", responses={200: EventOut, 404: EVENT_NOT_FOUND}),
)
class EventViewSet(EnvelopeMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Event.objects.all()
    filterset_class = EventFilter

    def get_queryset(self):
        allowed = allowed_brands(self.request)
        return self.queryset if allowed is None else self.queryset.filter(brand_id__in=allowed)

    def _check_event(self, pk) -> Event:
        """The event, if the key may see its brand: another brand's event answers exactly what
        an unknown id answers (404 `event_not_found`), never a 403 that confirms it exists."""
        event = selectors.event_get(event_id=pk)
        allowed = allowed_brands(self.request)
        if allowed is not None and event.brand_id not in allowed:
            raise NotFound(f"event {pk} not found", code="event_not_found")
        return event

    def get_serializer(self, *args, **kwargs):
        return EmitIn(*args, **kwargs)

    def _out(self, events):
        """EventOut of one event or a page; a brand-restricted key sees its brands' part of each
        result (events.selectors.result_for_brands). Nothing is saved."""
        allowed = allowed_brands(self.request)
        many = isinstance(events, list)
        if allowed is not None:
            rewards = selectors.visible_rewards(allowed)
            for event in events if many else [events]:
                event.result = selectors.result_for_brands(event.result, brands=allowed, rewards=rewards)
        render = output_of(EventOut)
        return [render(event) for event in events] if many else render(events)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._out(list(page)))

    def retrieve(self, request, pk=None):
        return Response(self._out(self._check_event(pk)))

    @extend_schema(
        summary="Emit an event",
        request=EmitIn,
        parameters=[ASYNC],
        description="Matches the running campaigns, credits and debits the wallet, and answers the final "
        "result (201). `fulfilled: false` holds the event PENDING with its accumulations pending "
        "and its redemptions reserved for `reserve` days. Checks run in one order, with or without "
        "`?async=true`: input (400) and where each redemption is asked (422), then a duplicate "
        "purchase (409), then the balance (422; a queued event's is judged by the worker).",
        responses={
            201: OpenApiResponse(EventOut, description="Applied: RESOLVED, or PENDING when held."),
            202: OpenApiResponse(EventOut, description="Queued (`?async=true`): PENDING, with a `queue_message_id`."),
            404: UNKNOWN_REFERENCE,
            409: refusal(
                "`duplicate_purchase` (a live event with the same brand, type and `order.purchase_id`; "
                "its id in `event_id`), or `idempotency_conflict`."
            ),
            422: refusal(
                "`insufficient_balance` or `reward_not_redeemable_here`: the event is stored FAILED "
                "(its id in `event_id`) and nothing moved. `event_grant_limit`, `wallet_limit` or "
                "`redemption_lines_limit` (the lines one event may consume, LOYALTY_MAX_LINES_PER_EVENT), "
                "with `limit` and `reward_id`: nothing is stored."
            ),
        },
    )
    def create(self, request):
        data = EmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        check_brand(request, data.validated_data["brand_id"])
        run_async = request.query_params.get("async", "false").lower()
        if run_async not in ("true", "false", "1", "0"):
            raise serializers.ValidationError({"async": "must be true or false"})
        if run_async in ("true", "1"):
            event = services.event_enqueue(payload=data.validated_data, source=Source.API)
            return Response(self._out(event), status=202)
        event = services.event_emit(payload=data.validated_data, source=Source.API)
        return Response(self._out(event), status=201)

    @extend_schema(
        summary="Fulfill a held event",
        request=None,
        description="PENDING (`fulfilled: false`) -> RESOLVED: its pending lines become spendable and its "
        "reservations are consumed.",
        responses={
            200: OpenApiResponse(EventOut, description="The event, RESOLVED."),
            404: EVENT_NOT_FOUND,
            409: refusal(
                "`invalid_transition`: not a held PENDING event (its `status` is given), still "
                "queued, or past its reservation."
            ),
        },
    )
    @action(detail=True, methods=["patch"])
    def fulfill(self, request, pk=None):
        # the brand is checked under the event's lock (event_not_found, as for an unknown id)
        event = services.event_fulfill(event_id=pk, source=Source.API, brands=allowed_brands(request))
        return Response(self._out(event))

    @extend_schema(
        summary="Reverse an event",
        request=ReverseIn,
        description="RESOLVED -> REVERSED (accumulations taken back, redemptions returned, metrics restored), "
        "or held PENDING -> CANCELLED.",
        responses={
            200: OpenApiResponse(EventOut, description="The event, REVERSED or CANCELLED."),
            404: EVENT_NOT_FOUND,
            409: refusal(
                "`invalid_transition` (its `status` is given), `not_reversible` (the engine's own "
                "TIER_ADJUSTMENT: reverse the event that caused it), or `idempotency_conflict`."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        data = ReverseIn(data=request.data)
        if not data.is_valid():
            self._check_event(pk)  # an unknown (or another brand's) event answers 404 whatever the body
            raise serializers.ValidationError(data.errors)
        event = services.event_reverse(
            event_id=pk, reason=data.validated_data["reason"], source=Source.API, brands=allowed_brands(request)
        )
        return Response(self._out(event))


class PreviewIn(RedemptionsBounded, StrictSerializer):
    customer_id = StrictCharField()
    brand_id = StrictCharField()
    type = StrictCharField(max_length=64, required=False)
    order = OrderIn(required=False)
    redeem = redeem_list()


class RedeemPreviewView(EnvelopeMixin, APIView):
    """PUT /events/redeem/preview: what the given redemptions would do to the order, each with
    its result or error; nothing is written (no lock, no ledger row, no event)."""

    @extend_schema(
        summary="Preview redemptions on an order",
        request=PreviewIn,
        description="What the given redemptions would do to the order, each with its result or error; "
        "nothing is written.",
        responses={
            200: OpenApiResponse(PreviewOut, description="Each redemption with its result."),
            404: UNKNOWN_REFERENCE,
        },
    )
    def put(self, request):
        data = PreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        check_brand(request, data.validated_data["brand_id"])
        return Response(PreviewOut(selectors.redeem_preview(payload=data.validated_data)).data)
