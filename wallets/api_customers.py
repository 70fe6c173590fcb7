"""The customer as Masivo has it: the profile fields every customer body shares (registration,
PATCH, identify), and the endpoints of a customer's tags, consent and identification.

- `PATCH /customers/{id}/tags` `{"tags": {...}}` upserts (a key set to null is removed);
  `DELETE /customers/{id}/tags` `{"tags": ["key", ...]}` removes keys (a key the customer lacks is
  no error). Both answer the customer and wallet.
- `GET` / `PATCH /customers/{id}/consent` read and record consent (Masivo's shape, wrapped in
  `consent`; the rules in wallets.profile).
- `PATCH /customers/{id}/identify/anonymous`: an anonymous customer gets its real details,
  `is_anonymous` false and, with `new_id`, a new id (wallets.customers).

A customer is shared by every brand: only an unrestricted key changes one (403 for a
brand-restricted key, README "Security"); reading consent is allowed to every key.
"""

import re
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands
from core.exceptions import NotFound
from core.schema import refusal
from core.serializers import (
    AwareDateTimeField,
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
)
from core.views import EnvelopeMixin
from wallets import customers
from wallets.models import Customer
from wallets.profile import MAX_PLATFORMS, MAX_TAG_KEY, MAX_TAGS, MAX_VENDOR_NAME, MAX_VENDORS, PURPOSES
from wallets.selectors import customer_profile
from wallets.serializers import CustomerConsentOut, CustomerOut

FIRST_DOB = date(1900, 1, 1)
_DOB = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(T.*)?$")


@extend_schema_field(
    {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "nullable": True,
        "description": "A date (YYYY-MM-DD) from 1900-01-01 to today, or an ISO 8601 datetime with its time zone "
        "(Masivo's form), of which the date as written is kept. null clears it.",
    }
)
class DobField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        match = _DOB.match(data) if isinstance(data, str) else None
        try:
            day = date(*(int(part) for part in match.groups()[:3])) if match else None
            if day and match.group(4):
                moment = parse_datetime(data)
                day = day if moment is not None and timezone.is_aware(moment) else None
        except ValueError:
            day = None
        if day is None:
            raise serializers.ValidationError("must be a date (YYYY-MM-DD) or an ISO 8601 datetime with a time zone")
        if not FIRST_DOB <= day <= timezone.localdate():
            raise serializers.ValidationError(f"must be between {FIRST_DOB.isoformat()} and today")
        return day

    def to_representation(self, value):
        return value.isoformat() if value else None


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {},
        "maxProperties": MAX_TAGS,
        "description": f"Any JSON values, at most {MAX_TAGS} keys of 1 to {MAX_TAG_KEY} characters.",
    }
)
class TagsField(JSONObjectField):
    def to_internal_value(self, data):
        tags = super().to_internal_value(data)
        if len(tags) > MAX_TAGS:
            raise serializers.ValidationError(f"at most {MAX_TAGS} tags")
        if any(not key or len(key) > MAX_TAG_KEY for key in tags):
            raise serializers.ValidationError(f"tag names have 1 to {MAX_TAG_KEY} characters")
        return tags


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "boolean", "nullable": True},
        "maxProperties": MAX_VENDORS,
        "description": f"Vendor name (1 to {MAX_VENDOR_NAME} characters) -> allowed; merged into the recorded ones, "
        f"null forgets one; at most {MAX_VENDORS}.",
    }
)
class VendorsField(serializers.DictField):
    def __init__(self, **kwargs):
        kwargs.setdefault("child", StrictBooleanField(allow_null=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict) and len(data) > MAX_VENDORS:
            raise serializers.ValidationError(f"at most {MAX_VENDORS} vendors")
        if isinstance(data, dict) and any(not name or len(name) > MAX_VENDOR_NAME for name in data):
            raise serializers.ValidationError(f"vendor names have 1 to {MAX_VENDOR_NAME} characters")
        return super().to_internal_value(data)


ConsentPurposesIn = type(
    "ConsentPurposesIn",
    (StrictSerializer,),
    {
        "__doc__": "The purposes to set; one left out keeps its value (true until recorded false).",
        "__module__": __name__,
        **{purpose: StrictBooleanField(required=False) for purpose in PURPOSES},
    },
)


class ConsentIn(StrictSerializer):
    """Masivo's consent object; what it leaves out keeps its recorded value."""

    purposes = ConsentPurposesIn(required=False)
    vendors = VendorsField(required=False)
    consent_string = StrictCharField(max_length=4096, required=False, allow_blank=True, allow_null=True)
    version = StrictCharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    consent_timestamp = AwareDateTimeField(
        required=False, allow_null=True, help_text="When the customer consented; default: when it is recorded."
    )
    customer_id = StrictCharField(required=False, help_text="Masivo's body carries it: if sent, the customer's id.")

    def validate_consent_timestamp(self, value):
        if value is not None and not (datetime(1970, 1, 1, tzinfo=UTC) <= value <= timezone.now() + timedelta(days=1)):
            raise serializers.ValidationError("must be between 1970 and now")
        return value


def consent_field(**kwargs) -> ConsentIn:
    return ConsentIn(
        required=False, help_text="Recorded over the stored consent (see /customers/{id}/consent).", **kwargs
    )


class ProfileIn(StrictSerializer):
    """Masivo's profile fields. In a PATCH, null (or "") clears a text field."""

    gender = serializers.ChoiceField(choices=Customer.Gender.choices, required=False, allow_null=True)
    dob = DobField()
    document_type = StrictCharField(max_length=50, required=False, allow_blank=True, allow_null=True)
    document_number = StrictCharField(
        max_length=50, required=False, allow_blank=True, allow_null=True, help_text="With document_type, or neither."
    )
    country = StrictCharField(
        max_length=100, required=False, allow_blank=True, allow_null=True, help_text="Free text, as Masivo's."
    )
    platforms = serializers.ListField(
        child=StrictCharField(), max_length=MAX_PLATFORMS, required=False, help_text="Kept once each, in order."
    )
    referral_code = StrictCharField(required=False, allow_blank=True, allow_null=True)
    consent = consent_field()

    def validate(self, attrs):
        consent_id = (attrs.get("consent") or {}).get("customer_id")
        own = {self.initial_data.get("id"), self.context.get("customer_id"), self.initial_data.get("new_id")}
        if consent_id is not None and consent_id not in own:
            raise serializers.ValidationError({"consent": {"customer_id": "must be the customer's id"}})
        return super().validate(attrs)


class CustomerTagsIn(StrictSerializer):
    tags = TagsField(help_text="Upserted into the customer's tags; a key set to null is removed.")


class CustomerTagKeysIn(StrictSerializer):
    tags = serializers.ListField(
        child=StrictCharField(max_length=MAX_TAG_KEY), max_length=MAX_TAGS, help_text="The keys to remove."
    )


class CustomerConsentIn(StrictSerializer):
    consent = ConsentIn()

    def validate(self, attrs):
        consent_id = attrs["consent"].get("customer_id")
        if consent_id is not None and consent_id != self.context.get("customer_id"):
            raise serializers.ValidationError({"consent": {"customer_id": "must be the customer's id"}})
        return attrs


class CustomerIdentifyIn(ProfileIn):
    """What an anonymous customer becomes: its details, the profile fields and, optionally, a new id."""

    frozen = {"id": "the id in the path is the customer's; send `new_id` to change it"}
    new_id = StrictCharField(
        required=False, help_text="The customer's id from now on (its events, wallet and ledger follow)."
    )
    name = StrictCharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=255)
    tags = TagsField(required=False, help_text="Merged into the customer's tags (a key set to null is removed).")
    metadata = JSONObjectField(required=False)


def customer_answer(request, customer_id: str, status: int = 200) -> Response:
    """`{"data": {"customer", "wallet"}}`: the customer and the part of its wallet the key may see."""
    customer = Customer.objects.select_related("wallet", "tier").get(pk=customer_id)
    return Response(
        CustomerOut(customer_profile(customer=customer, brands=allowed_brands(request))).data, status=status
    )


def customer_to_change(request, customer_id: str) -> str:
    """The id of a customer the request may change: 404 for an unknown one, 403 for a
    brand-restricted key (a customer's fields are read by every brand's campaigns and screens)."""
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
    if allowed_brands(request) is not None:
        raise PermissionDenied("only an unrestricted API key may change a customer's shared state")
    return customer_id


def _valid(serializer_class, request, customer_id: str) -> dict:
    data = serializer_class(data=request.data, context={"customer_id": customer_id})
    data.is_valid(raise_exception=True)
    return data.validated_data


FORBIDDEN = refusal("A brand-restricted key (`permission_denied`): a customer is shared by every brand.")
UNKNOWN = refusal("Unknown customer (`customer_not_found`).")


class CustomerTagsView(EnvelopeMixin, APIView):
    delete_takes_body = True  # core.schema.ApiSchema documents it

    @extend_schema(
        summary="Upsert a customer's tags",
        request=CustomerTagsIn,
        description=f"Each tag given is set (a key set to null is removed); the others stay. A customer holds at "
        f"most {MAX_TAGS} tags.",
        responses={200: CustomerOut, 403: FORBIDDEN, 404: UNKNOWN},
    )
    def patch(self, request, customer_id):
        customer_to_change(request, customer_id)
        data = _valid(CustomerTagsIn, request, customer_id)
        customers.customer_tags_set(customer_id=customer_id, tags=data["tags"])
        return customer_answer(request, customer_id)

    @extend_schema(
        summary="Remove some of a customer's tags",
        request=CustomerTagKeysIn,
        description="The tags of the keys given are removed (a key the customer lacks is no error).",
        responses={200: CustomerOut, 403: FORBIDDEN, 404: UNKNOWN},
    )
    def delete(self, request, customer_id):
        customer_to_change(request, customer_id)
        data = _valid(CustomerTagKeysIn, request, customer_id)
        customers.customer_tags_remove(customer_id=customer_id, keys=data["tags"])
        return customer_answer(request, customer_id)


class CustomerConsentView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Read a customer's consent",
        description="Until a consent is recorded every purpose is true (and `consent_string`, `version`, "
        "`consent_timestamp` are null). Any key may read it.",
        responses={200: CustomerConsentOut, 404: UNKNOWN},
    )
    def get(self, request, customer_id):
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
        return Response(CustomerConsentOut({"consent": customer}).data)

    @extend_schema(
        summary="Record a customer's consent",
        request=CustomerConsentIn,
        description="Changes only what it names: a purpose left out keeps its value, `vendors` merge by name (null "
        "forgets one), `consent_string` and `version` are replaced when given, `consent_timestamp` is the one sent "
        "or the moment it is recorded. With `behavioral_campaigns: false` the customer's events are stored and "
        "answered as usual but no campaign is evaluated for them (they grant nothing; redemptions still apply).",
        responses={200: CustomerConsentOut, 403: FORBIDDEN, 404: UNKNOWN},
    )
    def patch(self, request, customer_id):
        customer_to_change(request, customer_id)
        data = _valid(CustomerConsentIn, request, customer_id)
        customer = customers.customer_consent_set(customer_id=customer_id, consent=data["consent"])
        return Response(CustomerConsentOut({"consent": customer}).data)


class CustomerIdentifyView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Identify an anonymous customer",
        request=CustomerIdentifyIn,
        description="For a customer registered with `is_anonymous: true`: sets the fields given (name, email, tags "
        "merged, metadata, the profile fields) and `is_anonymous` false. With `new_id` the customer takes that id "
        "from now on, with its events, wallet, lines, metrics and ledger following (the ledger rows reference the "
        "wallet and are not rewritten; an event's stored payload keeps the id it was sent with); the old id is "
        "unknown afterwards (404, also for events sent to it). One transaction, under the wallet's lock.",
        responses={
            200: CustomerOut,
            403: FORBIDDEN,
            404: UNKNOWN,
            409: refusal("`customer_not_anonymous`, or `customer_exists` (`new_id` is taken)."),
        },
    )
    def patch(self, request, customer_id):
        customer_to_change(request, customer_id)
        data = _valid(CustomerIdentifyIn, request, customer_id)
        customer = customers.customer_identify(customer_id=customer_id, **data)
        return customer_answer(request, customer.pk)
