"""/brands: the programme's store brands."""

from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from campaigns import services
from campaigns.api.base import CrudViewSet, crud_docs
from campaigns.auth import allowed_brands
from campaigns.models import Brand
from core.renderers import InstantField
from core.serializers import StrictCharField, StrictSerializer


class BrandIn(StrictSerializer):
    id = StrictCharField()
    name = StrictCharField()


class BrandPatch(StrictSerializer):
    frozen = {"id": "a brand's id cannot be changed"}
    name = StrictCharField()


class BrandOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    created_at = InstantField()


@extend_schema_view(
    **crud_docs(
        thing="brand",
        output=BrandOut,
        create=BrandIn,
        patch=BrandPatch,
        e409_create="`brand_exists`, or ",
        e409_delete="`in_use`: rewards, campaigns, events or ledger rows refer to the brand.",
    )
)
class BrandViewSet(CrudViewSet):
    queryset = Brand.objects.all()
    input_class, patch_class, output_class = BrandIn, BrandPatch, BrandOut
    brand_scoped = False
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        allowed = allowed_brands(self.request)
        return self.queryset if allowed is None else self.queryset.filter(pk__in=allowed)

    def perform_create_service(self, data):
        return services.brand_create(**data)

    def perform_update_service(self, brand, data):
        return services.brand_update(brand_id=brand.pk, **data)

    def perform_delete_service(self, brand):
        services.brand_delete(brand_id=brand.pk)
