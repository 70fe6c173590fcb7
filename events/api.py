"""Event endpoints: emit, list, read, fulfill, reverse (SPEC section 3)."""
from datetime import timedelta

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands, check_brand
from core.filters import UTCDateTimeFilter
from core.json import jsonable
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
from events import schema as docs
from events import services
from events.models import Event

MAX_PRODUCTS = 500
ISSUED_AT_MAX_AGE = timedelta(hours=72)
CLOCK_SKEW = timedelta(seconds=60)  # an issued_at up to a minute ahead of our clock is accepted


class RedeemIn(StrictSerializer):
    id = serializers.UUIDField()
    amount = AmountField(positive=True)


def redeem_list(**kwargs):
    return RedeemIn(many=True, required=False, max_length=100, **kwargs)


class ProductIn(StrictSerializer):
    sku = StrictCharField()
    amount = AmountField(required=False)
    value = AmountField(required=False)
    discounted_value = AmountField(required=False)
    redeem = redeem_list()
    tags = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)


class ShippingIn(StrictSerializer):
    value = AmountField(required=False)
    discounted_value = AmountField(required=False)
    redeem = redeem_list()


class OrderIn(StrictSerializer):
    purchase_id = StrictCharField(required=False)
    store_id = StrictCharField(required=False)
    channel_id = StrictCharField(required=False)
    value = AmountField(required=False)
    discounted_value = AmountField(required=False)
    payment_method = serializers.ChoiceField(choices=["CREDIT", "DEBIT", "CASH", "BANK_TRANSFER", "OTHER"],
                                             required=False)
    products = ProductIn(many=True, required=False, max_length=MAX_PRODUCTS)
    shipping = ShippingIn(required=False)
    redeem = redeem_list()
    metadata = JSONObjectField(required=False)


class EmitIn(StrictSerializer):
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

    def validate(self, attrs):
        if attrs["type"] == "PURCHASE" and "order" not in attrs:
            raise serializers.ValidationError({"order": "a PURCHASE event needs an order"})
        if "reserve" in attrs and attrs.get("fulfilled", True):
            raise serializers.ValidationError({"reserve": "only applies with fulfilled: false"})
        return attrs


class ReverseIn(StrictSerializer):
    reason = StrictCharField(max_length=2000)


def event_out(event: Event) -> dict:
    return jsonable({
        "id": event.pk,
        "customer_id": event.customer_id,
        "brand_id": event.brand_id,
        "type": event.type_id,
        "status": event.status,
        "fulfilled": event.fulfilled,
        "reserve": event.reserve,
        "platform": event.platform or None,
        "purchase_id": event.purchase_id,
        "data": event.data,
        "rewarding_campaigns": event.rewarding_campaigns,
        "result": event.result,
        "reason": event.reason or None,
        "error_code": event.error_code or None,
        "issued_at": event.issued_at,
        "created_at": event.created_at,
        "processing_at": event.processing_at,
        "resolved_at": event.resolved_at,
        "failed_at": event.failed_at,
        "cancelled_at": event.cancelled_at,
        "expired_at": event.expired_at,
        "reversed_at": event.reversed_at,
        "reservation_expires_at": event.reservation_expires_at,
        **({"queue_message_id": event.queue_message_id} if event.queue_message_id else {}),
    })


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


@extend_schema_view(**docs.EVENT_VIEWS)
class EventViewSet(EnvelopeMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Event.objects.all()
    filterset_class = EventFilter

    def get_queryset(self):
        allowed = allowed_brands(self.request)
        return self.queryset if allowed is None else self.queryset.filter(brand_id__in=allowed)

    def _check_event(self, pk) -> Event:
        event = services.event_get(event_id=pk)
        check_brand(self.request, event.brand_id)
        return event

    def get_serializer(self, *args, **kwargs):
        return EmitIn(*args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([event_out(e) for e in page])

    def retrieve(self, request, pk=None):
        return Response(event_out(self._check_event(pk)))

    @docs.emit(request=EmitIn)
    def create(self, request):
        data = EmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        check_brand(request, data.validated_data["brand_id"])
        run_async = request.query_params.get("async", "false").lower()
        if run_async not in ("true", "false", "1", "0"):
            raise serializers.ValidationError({"async": "must be true or false"})
        if run_async in ("true", "1"):
            event = services.event_enqueue(payload=data.validated_data, source="api")
            return Response(event_out(event), status=202)
        event = services.event_emit(payload=data.validated_data, source="api")
        return Response(event_out(event), status=201)

    @docs.FULFILL
    @action(detail=True, methods=["patch"])
    def fulfill(self, request, pk=None):
        self._check_event(pk)
        return Response(event_out(services.event_fulfill(event_id=pk, source="api")))

    @docs.reverse(request=ReverseIn)
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        self._check_event(pk)
        data = ReverseIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(event_out(services.event_reverse(event_id=pk, reason=data.validated_data["reason"],
                                                         source="api")))


class PreviewIn(StrictSerializer):
    customer_id = StrictCharField()
    brand_id = StrictCharField()
    type = StrictCharField(max_length=64, required=False)
    order = OrderIn(required=False)
    redeem = redeem_list()


class RedeemPreviewView(EnvelopeMixin, APIView):
    """PUT /events/redeem/preview: what the given redemptions would do to the order, each with
    its result or error; nothing is written (no lock, no ledger row, no event)."""

    @docs.preview(request=PreviewIn)
    def put(self, request):
        data = PreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        check_brand(request, data.validated_data["brand_id"])
        return Response(services.redeem_preview(payload=data.validated_data))
