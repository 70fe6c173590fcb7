"""/webhooks: endpoints that receive the engine's changes as signed messages, their deliveries,
and resending them (/webhook-deliveries/{id}/redeliver). Each action parses, calls one service of
webhooks.services and shapes the answer.

Brand-restricted keys see and manage only the endpoints of their brands; an endpoint of every
brand (no brand_id) is the programme's own configuration, as invisible to them as another
brand's: both answer 404 like an unknown id, and creating one is a 403.
"""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns.auth import allowed_brands, check_brand
from core.schema import refusal
from core.serializers import PATH_ID
from core.views import EnvelopeMixin
from webhooks import services
from webhooks.models import WebhookDelivery
from webhooks.schema import WebhookSchema, event_callbacks
from webhooks.serializers import (
    EVENT_NAMES,
    RedeliveredOut,
    WebhookDeliveryOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    WebhookSecretOut,
)

NOT_FOUND = refusal("Unknown webhook, or one of another brand or of every brand (`webhook_not_found`).")


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event = django_filters.ChoiceFilter(choices=[(name, name) for name in EVENT_NAMES])

    class Meta:
        model = WebhookDelivery
        fields = []


@extend_schema_view(
    list=extend_schema(
        summary="List webhook endpoints",
        description="Brand-restricted keys see their brands' endpoints only.",
        responses=WebhookOut(many=True),
    ),
    retrieve=extend_schema(summary="Read a webhook endpoint", responses={200: WebhookOut, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Create a webhook endpoint",
        description="The signing secret is generated and answered once, here. Every message is "
        '`POST {url}` with the body `{"event": "<NAME>", "data": {...}}` and the Standard Webhooks '
        "headers `webhook-id`, `webhook-timestamp`, `webhook-signature`: the callbacks below document "
        "each event's body. A brand-restricted key must name one of its brands (403 otherwise).",
        request=WebhookIn,
        responses={
            201: OpenApiResponse(WebhookSecretOut, description="The new endpoint, with its secret (shown once)."),
            404: refusal("Unknown brand (`brand_not_found`)."),
            409: refusal("`webhook_limit`: too many endpoints; or `idempotency_conflict`."),
        },
        callbacks=event_callbacks(),
    ),
    partial_update=extend_schema(
        summary="Change a webhook endpoint",
        description="Setting `is_active: true` on an endpoint the engine disabled clears its failure record.",
        request=WebhookPatch,
        responses={
            200: OpenApiResponse(WebhookOut, description="The endpoint as changed."),
            404: refusal("Unknown webhook (`webhook_not_found`) or brand (`brand_not_found`)."),
        },
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint",
        description="It receives nothing more; its deliveries stay in the admin.",
        responses={204: OpenApiResponse(description="Deleted."), 404: NOT_FOUND},
    ),
)
class WebhookViewSet(EnvelopeMixin, viewsets.GenericViewSet):
    queryset = services.live_endpoints()
    lookup_value_regex = PATH_ID
    schema = WebhookSchema()
    filterset_class = None  # the deliveries action has its own

    def get_serializer(self, *args, **kwargs):  # for the browsable API and the schema only
        return WebhookIn(*args, **kwargs)

    def get_queryset(self):
        allowed = allowed_brands(self.request)
        rows = services.live_endpoints()
        return rows if allowed is None else rows.filter(brand_id__in=allowed)

    def get_object(self):
        return services.endpoint_get(endpoint_id=self.kwargs["pk"], brands=allowed_brands(self.request))

    def _valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookOut(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(WebhookOut(self.get_object()).data)

    def create(self, request):
        data = self._valid(WebhookIn)
        check_brand(request, data.get("brand_id"))
        endpoint = services.endpoint_create(**data)
        return Response(WebhookSecretOut(endpoint).data, status=201)

    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = self._valid(WebhookPatch)
        if "brand_id" in data:
            check_brand(request, data["brand_id"])
        return Response(WebhookOut(services.endpoint_update(endpoint=endpoint, **data)).data)

    def destroy(self, request, pk=None):
        services.endpoint_delete(endpoint=self.get_object())
        return Response(status=204)

    @extend_schema(
        summary="Rotate a webhook endpoint's secret",
        description="A new signing secret, answered once, here. For 24 hours the old secret signs beside "
        "it (`webhook-signature` carries both), so receivers switch without missing a message.",
        request=None,
        responses={
            200: OpenApiResponse(WebhookSecretOut, description="The endpoint with its new secret."),
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object())
        return Response(WebhookSecretOut(endpoint).data)

    @extend_schema(
        summary="List a webhook endpoint's deliveries",
        description="Newest first, each with its attempts. Filter by `status` and `event`.",
        responses={200: WebhookDeliveryOut(many=True), 404: NOT_FOUND},
        filters=True,
    )
    @action(detail=True, methods=["get"], filterset_class=DeliveryFilter, queryset=WebhookDelivery.objects.all())
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        rows = endpoint.deliveries.prefetch_related("attempt_rows").order_by("-created_at", "id")
        page = self.paginate_queryset(self.filter_queryset(rows))
        return self.get_paginated_response(WebhookDeliveryOut(page, many=True).data)

    @extend_schema(
        summary="Resend an endpoint's failed deliveries",
        description=f"Every FAILED delivery of the endpoint (at most {services.MAX_REDELIVER} a call, oldest "
        "first) is queued again, keeping its `webhook-id`; its retry schedule starts over.",
        request=None,
        responses={202: OpenApiResponse(RedeliveredOut, description="How many were queued."), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="redeliver-failed")
    def redeliver_failed(self, request, pk=None):
        queued = services.endpoint_redeliver_failed(endpoint=self.get_object())
        return Response(RedeliveredOut({"queued": queued}).data, status=202)


class WebhookDeliveryViewSet(EnvelopeMixin, viewsets.GenericViewSet):
    queryset = WebhookDelivery.objects.all()
    lookup_value_regex = PATH_ID
    pagination_class = None

    def get_serializer(self, *args, **kwargs):  # for OPTIONS only: redeliver takes no body
        return serializers.Serializer(*args, **kwargs)

    @extend_schema(
        summary="Resend a webhook delivery",
        description="Queued to be sent now, whatever its status (a DELIVERED one too, for a receiver that "
        "lost it), with the same `webhook-id`; its retry schedule starts over.",
        request=None,
        responses={
            202: OpenApiResponse(WebhookDeliveryOut, description="The delivery, PENDING."),
            404: refusal("Unknown delivery, or one of another brand's endpoint (`webhook_delivery_not_found`)."),
        },
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = services.delivery_get(delivery_id=pk, brands=allowed_brands(request))
        services.deliveries_redeliver(deliveries=WebhookDelivery.objects.filter(pk=delivery.pk))
        delivery = WebhookDelivery.objects.prefetch_related("attempt_rows").get(pk=delivery.pk)
        return Response(WebhookDeliveryOut(delivery).data, status=202)
