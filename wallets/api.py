"""Customer endpoints: register and read (with metrics and wallet)."""
from django.utils import timezone
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from core.json import jsonable
from core.serializers import AwareDateTimeField, JSONObjectField, StrictCharField, StrictSerializer
from core.views import EnvelopeMixin
from wallets import services
from wallets.models import Customer
from wallets.selectors import customer_metrics, wallet_summary


class CustomerIn(StrictSerializer):
    id = StrictCharField()
    name = StrictCharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=255)
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    tags = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    registration_date = AwareDateTimeField(required=False)


def customer_out(customer: Customer) -> dict:
    now = timezone.now()
    return {
        "customer": jsonable({
            "id": customer.id, "name": customer.name, "email": customer.email, "status": customer.status,
            "tags": customer.tags, "metadata": customer.metadata, "registration_date": customer.registration_date,
            "tier_id": None, "metrics": customer_metrics(customer_id=customer.id, now=now),
            "created_at": customer.created_at,
        }),
        "wallet": wallet_summary(wallet_id=customer.wallet.pk, now=now),
    }


class CustomerViewSet(EnvelopeMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Customer.objects.select_related("wallet")
    lookup_value_regex = "[^/]+"
    filterset_fields = ["status", "email"]

    def get_serializer(self, *args, **kwargs):
        return CustomerIn(*args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([
            jsonable({"id": c.id, "name": c.name, "email": c.email, "status": c.status,
                      "registration_date": c.registration_date}) for c in page
        ])

    def retrieve(self, request, pk=None):
        return Response(customer_out(self.get_object()))

    def create(self, request):
        data = CustomerIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_register(**data.validated_data)
        return Response(customer_out(Customer.objects.select_related("wallet").get(pk=customer.pk)), status=201)
