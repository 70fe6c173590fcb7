"""The shared shape of the set-up endpoints: list / retrieve / create / partial_update /
destroy, each a call to a service, and their documentation."""

from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from campaigns.auth import allowed_brands, check_brand
from core.schema import refusal
from core.serializers import PATH_ID
from core.views import EnvelopeMixin


class CrudViewSet(EnvelopeMixin, viewsets.GenericViewSet):
    """list / retrieve / create / partial_update / destroy, each a call to a service.

    Brand-restricted keys see their brands' objects (and, except brands, global ones) and may
    only write objects of their brands. Subclasses name their input classes, their output
    serializer and the `perform_*_service` calls."""

    input_class: type
    patch_class: type
    output_class: type
    brand_scoped = True  # the object has a brand_id (None = global)
    lookup_value_regex = PATH_ID

    def get_serializer(self, *args, **kwargs):
        return self.input_class(*args, **kwargs)

    def output(self, obj) -> dict:
        return self.output_class(obj).data

    def get_queryset(self):
        queryset = self.queryset.all()
        allowed = allowed_brands(self.request)
        if allowed is None:
            return queryset
        if not self.brand_scoped:
            return queryset if self.request.method in ("GET", "HEAD", "OPTIONS") else queryset.none()
        return queryset.filter(Q(brand_id__in=allowed) | Q(brand__isnull=True))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.output_class(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.output(self.get_object()))

    def _valid(self, serializer_class, data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _check_write(self, obj=None, data=None):
        if self.brand_scoped:
            if obj is not None:
                check_brand(self.request, obj.brand_id)
            if data is not None and (obj is None or "brand_id" in data):
                check_brand(self.request, data.get("brand_id"))
        else:
            check_brand(self.request, None)

    def create(self, request):
        data = self._valid(self.input_class, request.data)
        self._check_write(data=data)
        return Response(self.output(self.perform_create_service(data)), status=201)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        data = self._valid(self.patch_class, request.data)
        self._check_write(obj=obj, data=data)
        return Response(self.output(self.perform_update_service(obj, data)))

    def destroy(self, request, pk=None):
        obj = self.get_object()
        self._check_write(obj=obj)
        self.perform_delete_service(obj)
        return Response(status=204)


def crud_docs(
    *,
    thing: str,
    output,
    create,
    patch,
    filters_note: str = "",
    e409_create: str = "",
    e409_patch: str = "",
    e409_delete: str = "in use (`in_use`)",
    create_404: bool = False,
) -> dict:
    """extend_schema_view kwargs for a CrudViewSet (the shared errors come from core.schema.ApiSchema)."""
    a = "an" if thing[0] in "aeiou" else "a"
    create_refusals = {409: refusal(f"{e409_create}`idempotency_conflict`.")}
    if create_404:
        create_refusals[404] = refusal("Unknown brand (`brand_not_found`).")
    return {
        "list": extend_schema(summary=f"List {thing}s", description=filters_note or None, responses=output(many=True)),
        "retrieve": extend_schema(summary=f"Read {a} {thing}", responses=output),
        "create": extend_schema(
            summary=f"Create {a} {thing}",
            request=create,
            responses={201: OpenApiResponse(output, description=f"The new {thing}."), **create_refusals},
        ),
        "partial_update": extend_schema(
            summary=f"Change {a} {thing}",
            request=patch,
            responses={
                200: OpenApiResponse(output, description=f"The {thing} as changed."),
                **({409: refusal(e409_patch)} if e409_patch else {}),
            },
        ),
        "destroy": extend_schema(
            summary=f"Delete {a} {thing}",
            responses={204: OpenApiResponse(description="Deleted."), 409: refusal(e409_delete)},
        ),
    }
