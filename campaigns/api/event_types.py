"""/event-types: the built-in types and the operators' own (loyalty or tracking-only)."""

import django_filters
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from campaigns import services
from campaigns.api.base import CrudViewSet, crud_docs
from campaigns.models import EventType
from core.filters import StrictBooleanFilter
from core.serializers import StrictBooleanField, StrictSerializer


class EventTypeIn(StrictSerializer):
    frozen = {"built_in": "set by the engine: only the built-in event types are built in"}
    name = serializers.RegexField(
        r"^[A-Z][A-Z0-9_]*$",
        max_length=64,
        error_messages={"invalid": "must be an upper-case identifier (A-Z, 0-9, _)"},
    )
    tracking_only = StrictBooleanField(required=False)


class EventTypePatch(StrictSerializer):
    frozen = {"name": "an event type's name cannot be changed (create another one)"}
    tracking_only = StrictBooleanField()


class EventTypeOut(serializers.Serializer):
    name = serializers.CharField()
    tracking_only = serializers.BooleanField(help_text="Stored, never touches wallets.")
    built_in = serializers.BooleanField()


class EventTypeFilter(django_filters.FilterSet):
    tracking_only = StrictBooleanFilter()

    class Meta:
        model = EventType
        fields = []


@extend_schema_view(
    **crud_docs(
        thing="event type",
        output=EventTypeOut,
        create=EventTypeIn,
        patch=EventTypePatch,
        filters_note="Filter by `tracking_only`.",
        e409_create="`event_type_exists`, or ",
        e409_patch="`in_use`: campaigns are triggered by it (it cannot become tracking-only).",
        e409_delete="`in_use`: a built-in type, or one that events or campaigns use.",
    )
)
class EventTypeViewSet(CrudViewSet):
    queryset = EventType.objects.all()
    input_class, patch_class, output_class = EventTypeIn, EventTypePatch, EventTypeOut
    brand_scoped = False
    filterset_class = EventTypeFilter

    def perform_create_service(self, data):
        return services.event_type_create(**data)

    def perform_update_service(self, event_type, data):
        return services.event_type_update(name=event_type.pk, **data)

    def perform_delete_service(self, event_type):
        services.event_type_delete(name=event_type.pk)
