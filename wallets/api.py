"""Customer endpoints: register and read (with metrics and wallet)."""
import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from campaigns.auth import allowed_brands
from core.exceptions import NotFound
from core.filters import UTCDateTimeFilter
from core.json import jsonable
from core.pagination import LedgerCursorPagination, RangePagination
from core.serializers import AwareDateTimeField, JSONObjectField, StrictCharField, StrictSerializer
from core.views import EnvelopeMixin
from wallets import schema as docs
from wallets import services
from wallets.models import Customer, Transaction
from wallets.selectors import customer_metrics, wallet_summary


class CustomerIn(StrictSerializer):
    id = StrictCharField()
    name = StrictCharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=255)
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    tags = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    registration_date = AwareDateTimeField(required=False)


class CustomerPatch(StrictSerializer):
    name = StrictCharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=255)
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    tags = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)


def customer_out(customer: Customer, brands: set[str] | None = None) -> dict:
    now = timezone.now()
    return {
        "customer": jsonable({
            "id": customer.id, "name": customer.name, "email": customer.email, "status": customer.status,
            "tags": customer.tags, "metadata": customer.metadata, "registration_date": customer.registration_date,
            "tier_id": customer.tier_id, "tier": None if customer.tier is None else {
                "id": customer.tier_id, "name": customer.tier.name, "level": customer.tier.level},
            "metrics": customer_metrics(customer_id=customer.id, now=now),
            "created_at": customer.created_at,
        }),
        "wallet": wallet_summary(wallet_id=customer.wallet.pk, now=now, brands=brands),
    }


@extend_schema_view(**docs.customer_views(create=CustomerIn, patch=CustomerPatch))
class CustomerViewSet(EnvelopeMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Customer.objects.select_related("wallet", "tier")
    lookup_value_regex = "[^/\x00]+"  # PostgreSQL text cannot hold NUL: such an id is simply unknown
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
        return Response(customer_out(self.get_object(), allowed_brands(request)))

    def partial_update(self, request, pk=None):
        """Name, email, status and metadata are replaced; `tags` are merged into the customer's
        tags (a key set to null is removed)."""
        customer = self.get_object()
        data = CustomerPatch(data=request.data)
        data.is_valid(raise_exception=True)
        services.customer_update(customer_id=customer.pk, **data.validated_data)
        return Response(customer_out(self.get_queryset().get(pk=customer.pk), allowed_brands(request)))

    def create(self, request):
        data = CustomerIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_register(**data.validated_data)
        return Response(customer_out(self.get_queryset().get(pk=customer.pk),
                                     allowed_brands(request)), status=201)


def transaction_out(row: Transaction) -> dict:
    return jsonable({
        "id": row.pk, "type": row.type, "amount": row.amount, "reward_id": row.reward_id,
        "customer_id": row.wallet.customer_id, "line_id": row.line_id, "event_id": row.event_id,
        "campaign_id": row.campaign_id, "brand_id": row.brand_id, "cost": row.cost,
        "created_at": row.created_at, "details": row.details,
    })


class TransactionFilter(django_filters.FilterSet):
    reward_id = django_filters.UUIDFilter()
    brand_id = django_filters.CharFilter()
    type = django_filters.ChoiceFilter(choices=Transaction.Type.choices)
    event_id = django_filters.UUIDFilter()
    campaign_id = django_filters.UUIDFilter()
    customer_id = django_filters.CharFilter(field_name="wallet__customer_id")
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Transaction
        fields = []


@extend_schema_view(**docs.TRANSACTION_VIEWS)
class TransactionViewSet(EnvelopeMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET /transactions: the programme-wide ledger, newest first, cursor-paged."""

    queryset = Transaction.objects.select_related("wallet")
    filterset_class = TransactionFilter
    pagination_class = LedgerCursorPagination

    def get_queryset(self):
        allowed = allowed_brands(self.request)
        return self.queryset if allowed is None else self.queryset.filter(brand_id__in=allowed)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([transaction_out(row) for row in page])


@extend_schema_view(**docs.CUSTOMER_TRANSACTION_VIEWS)
class CustomerTransactionViewSet(TransactionViewSet):
    """GET /customers/{id}/transactions: one customer's ledger, newest first, `from`/`to` paged."""

    pagination_class = RangePagination

    def get_queryset(self):
        customer_id = self.kwargs["customer_id"]
        if not Customer.objects.filter(pk=customer_id).exists():
            raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
        return super().get_queryset().filter(wallet__customer_id=customer_id).order_by("-id")
