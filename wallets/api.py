"""Customer and ledger endpoints: register, read (with metrics and wallet) and update
customers; a customer's ledger; the programme's ledger. A customer's tags, consent and
identification are in wallets.api_customers, with the profile fields every customer body shares."""

import django_filters
from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from campaigns.auth import allowed_brands, check_brand
from core.exceptions import NotFound
from core.filters import DayFilter, UTCDateTimeFilter, YearFilter
from core.pagination import LedgerCursorPagination, RangePagination
from core.renderers import output_of
from core.schema import refusal
from core.serializers import PATH_ID, AwareDateTimeField, JSONObjectField, StrictBooleanField, StrictCharField
from core.views import EnvelopeMixin
from wallets import services
from wallets.api_customers import ProfileIn, TagsField
from wallets.models import Customer, Transaction
from wallets.selectors import customer_profile, customer_with_wallet, customers_visible
from wallets.serializers import CustomerListItemOut, CustomerOut, TransactionOut


class CustomerIn(ProfileIn):
    """A customer to register, with Masivo's profile fields."""

    id = StrictCharField()
    name = StrictCharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=255)
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    is_anonymous = StrictBooleanField(required=False, help_text="An anonymous customer may leave out name and email.")
    tags = TagsField(required=False)
    metadata = JSONObjectField(required=False)
    registration_date = AwareDateTimeField(required=False)
    brand_id = StrictCharField(
        required=False,
        help_text="The brand of the customer's REGISTRATION event (what welcome campaigns trigger on). Default: "
        "for a brand-restricted key, LOYALTY_DEFAULT_BRAND if it is one of its brands, else its first brand by id "
        "(a key with no brand records no event); otherwise LOYALTY_DEFAULT_BRAND, else the programme's first brand "
        "(none in a programme without brands).",
    )


class CustomerPatch(ProfileIn):
    """The fields to change; null (or "") clears a profile text field or `dob`."""

    frozen = {
        "id": "a customer's id cannot be changed here",
        "tier_id": "the tier follows the customer's metrics (the engine moves it)",
        "registration_date": "the registration date cannot be changed",
    }
    name = StrictCharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=255)
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    is_anonymous = StrictBooleanField(required=False)
    tags = TagsField(required=False)
    metadata = JSONObjectField(required=False)


def _profile(customer: Customer, request) -> dict:
    """The customer and the part of its wallet the request's key may see, rendered."""
    return output_of(CustomerOut)(customer_profile(customer=customer, brands=allowed_brands(request)))


@extend_schema_view(
    list=extend_schema(
        summary="List customers",
        responses=CustomerListItemOut(many=True),
        description="Every customer for an unrestricted key; a brand-restricted key lists the customers with "
        "an event or a wallet line at one of its brands, or registered with it (it may still read any customer "
        "by id, seeing its brands' part).",
    ),
    retrieve=extend_schema(summary="Read a customer with metrics and wallet", responses=CustomerOut),
    partial_update=extend_schema(
        summary="Update a customer",
        request=CustomerPatch,
        description="`name`, `email`, `status`, `metadata` and the profile fields are replaced (null clears a "
        "text field or `dob`; `document_type` and `document_number` must end up both set or both empty); `tags` are "
        "merged into the customer's tags (a key set to null is removed) and `consent` into its recorded consent. "
        "A customer is shared by every brand (its tags and status feed every brand's campaigns), so only an "
        "unrestricted key may change one: a brand-restricted key gets 403 `permission_denied`.",
        responses={200: CustomerOut, 403: refusal("A brand-restricted key (`permission_denied`).")},
    ),
    create=extend_schema(
        summary="Register a customer (with its wallet)",
        request=CustomerIn,
        description="Masivo's fields: `name` and `email` are optional (an anonymous customer, `is_anonymous: true`, "
        "usually has neither); `document_type` and `document_number` go together; `consent` left out means every "
        "purpose is allowed. A brand-restricted key may register customers.",
        responses={
            201: OpenApiResponse(CustomerOut, description="The new customer and its empty wallet."),
            404: refusal("Unknown `brand_id` (`brand_not_found`)."),
            409: refusal("`customer_exists`, or `idempotency_conflict`."),
        },
    ),
)
class CustomerViewSet(EnvelopeMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Customer.objects.select_related("wallet", "tier")
    lookup_value_regex = PATH_ID
    filterset_fields = ["status", "email"]

    def get_serializer(self, *args, **kwargs):
        return CustomerIn(*args, **kwargs)

    def filter_queryset(self, queryset):
        """`?status=` and `?email=` filter the list; a customer read or changed by id is found by
        its id alone (and the filter set is not built for it)."""
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def list(self, request, *args, **kwargs):
        """A brand-restricted key lists the customers with an event or a wallet line at one of its
        brands, or registered with it; any key may read any customer by id (its own part)."""
        customers = self.filter_queryset(self.get_queryset())
        allowed = allowed_brands(request)
        if allowed is not None:
            customers = customers.filter(customers_visible(brands=allowed, api_key=request.auth))
        page = self.paginate_queryset(customers)
        return self.get_paginated_response(CustomerListItemOut(page, many=True).data)

    def retrieve(self, request, pk=None):
        customer = customer_with_wallet(pk)
        if customer is None:
            raise Http404  # as get_object answers: 404 `not_found`
        return Response(_profile(customer, request))

    def partial_update(self, request, pk=None):
        """Name, email, status and metadata are replaced; `tags` are merged into the customer's
        tags (a key set to null is removed)."""
        customer = self.get_object()
        if allowed_brands(request) is not None:
            # a customer's fields (tags, status, name, email, metadata) are read by every
            # brand's campaigns and screens: only a key for the whole programme changes them
            raise PermissionDenied("only an unrestricted API key may change a customer's shared state")
        data = CustomerPatch(data=request.data, context={"customer_id": customer.pk})
        data.is_valid(raise_exception=True)
        services.customer_update(customer_id=customer.pk, **data.validated_data)
        return Response(_profile(self.get_queryset().get(pk=customer.pk), request))

    def create(self, request):
        data = CustomerIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        allowed = allowed_brands(request)
        if "brand_id" in fields:
            check_brand(request, fields["brand_id"])
        elif allowed is not None:  # a brand-restricted key's event is at one of its brands, never another's
            if allowed:
                fields["brand_id"] = (
                    settings.LOYALTY_DEFAULT_BRAND if settings.LOYALTY_DEFAULT_BRAND in allowed else min(allowed)
                )
            else:  # a key left with no brand registers without an event
                fields["record_event"] = False
        customer = services.customer_register(**fields, registered_by=request.auth)
        return Response(_profile(self.get_queryset().get(pk=customer.pk), request), status=201)


class TransactionFilter(django_filters.FilterSet):
    reward_id = django_filters.UUIDFilter()
    brand_id = django_filters.CharFilter()
    type = django_filters.ChoiceFilter(choices=Transaction.Type.choices)
    event_id = django_filters.UUIDFilter()
    campaign_id = django_filters.UUIDFilter()
    customer_id = django_filters.CharFilter(field_name="wallet__customer_id")
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")
    date = DayFilter(
        param="date", field_name="created_at", help_text="One day, DD-MM-YYYY (Masivo), in the programme's time zone."
    )
    year = YearFilter(param="year", field_name="created_at", help_text="One year, YYYY, in the programme's time zone.")

    class Meta:
        model = Transaction
        fields = []


@extend_schema_view(
    list=extend_schema(
        summary="The programme-wide ledger (cursor-paged, newest first)",
        responses={
            200: TransactionOut(many=True),
            400: refusal("`invalid_cursor` (a cursor this API did not give out), or an invalid filter or limit."),
        },
    )
)
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
        return self.get_paginated_response(TransactionOut(page, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="One customer's ledger (newest first)",
        responses={200: TransactionOut(many=True), 404: refusal("Unknown customer (`customer_not_found`).")},
    )
)
class CustomerTransactionViewSet(TransactionViewSet):
    """GET /customers/{id}/transactions: one customer's ledger, newest first, `from`/`to` paged."""

    pagination_class = RangePagination

    def get_queryset(self):
        customer_id = self.kwargs["customer_id"]
        if not Customer.objects.filter(pk=customer_id).exists():
            raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
        return super().get_queryset().filter(wallet__customer_id=customer_id).order_by("-id")
