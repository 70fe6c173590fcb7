"""POST /customers/fulfill_expired_events: Masivo's maintenance call, the API form of
`manage.py fulfill_expired_events`, queued for a Celery worker."""

from datetime import timedelta

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands
from core.clock import day_start
from core.serializers import StrictSerializer
from events import services

MAX_RANGE = timedelta(days=366)


class FulfillExpiredIn(StrictSerializer):
    start_date = serializers.DateField(input_formats=["iso-8601"], help_text="First day (YYYY-MM-DD), inclusive.")
    end_date = serializers.DateField(input_formats=["iso-8601"], help_text="Last day (YYYY-MM-DD), inclusive.")

    def validate(self, attrs):
        if attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError({"end_date": "must not be before start_date"})
        if attrs["end_date"] - attrs["start_date"] >= MAX_RANGE:
            raise serializers.ValidationError({"end_date": "the range is at most one year"})
        return attrs


class QueuedOut(serializers.Serializer):
    message = serializers.CharField(help_text="`N event(s) have been queued for fulfillment`")
    details = serializers.CharField()


class FulfillExpiredEventsView(APIView):
    """Masivo's shape: the body is `{"message", "details"}` itself, not `{"data": ...}`."""

    envelope = False  # core.schema.ApiSchema documents the body as it is

    @extend_schema(
        summary="Queue the late fulfilment of expired held events",
        request=FulfillExpiredIn,
        description="Held events issued between `start_date` and `end_date` (days in the programme's time zone, "
        "inclusive; at most one year) that EXPIRED although the shop fulfilled them are queued, at most "
        f"{services.housekeeping.MAX_LATE_FULFILMENTS} a call, oldest first, for a worker to apply late (each becomes "
        "a new event linked by `replaces`: RESOLVED, or FAILED if the wallet cannot honour its redemptions now). "
        "A brand-restricted key queues its brands' events only. Masivo parity: the answer is not enveloped.",
        responses={200: OpenApiResponse(QueuedOut, description="How many were queued.")},
    )
    def post(self, request):
        data = FulfillExpiredIn(data=request.data)
        data.is_valid(raise_exception=True)
        start = day_start(data.validated_data["start_date"])
        end = day_start(data.validated_data["end_date"] + timedelta(days=1))  # the last day included
        with transaction.atomic():
            queued = services.events_fulfill_expired_queue(
                issued_from=start, issued_to=end, brands=allowed_brands(request)
            )
        return Response(
            QueuedOut(
                {
                    "message": f"{queued} event(s) have been queued for fulfillment",
                    "details": "Events will be processed in the background",
                }
            ).data
        )
