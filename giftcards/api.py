"""The gift-card endpoints:

- `POST /rewards/{id}/gift-cards` `{"codes": ["ABC-1", {"code": "ABC-2", "description", "expired_at"}],
  "description", "expired_at"}`: load codes into a GIFT_CARD reward's pool (at most 10,000 a
  call; a code already in the programme, or twice in the list, answered in `duplicates`).
- `GET /customers/{id}/rewards/gift-cards`: the customer's cards (Masivo's shape), newest first,
  `from`/`to` paged, filters `reward_id`, `status`.
- `POST /customers/{id}/rewards/gift-cards/{code}/redeem`: mark one used, once (409 after).

Brand isolation: a brand-restricted key loads codes into its brands' rewards only (another
brand's reward is unknown, a global one needs an unrestricted key: 403) and sees and redeems the
cards that events of its brands handed out; any other card answers like an unknown one.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.auth import allowed_brands, check_brand
from campaigns.models import Reward
from core.exceptions import InvalidInput, NotFound
from core.ids import is_uuid
from core.schema import refusal
from core.serializers import AwareDateTimeField, StrictCharField, StrictSerializer
from core.views import EnvelopeMixin
from events.serializers import GiftCardOut
from giftcards import selectors, services
from giftcards.granting import card_view
from giftcards.models import MAX_CODE, MAX_DESCRIPTION, GiftCardCode
from wallets.models import Customer

CODE_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_CODE, "pattern": r"^[^\s/]+$"}


class GiftCardCodeIn(StrictSerializer):
    code = StrictCharField(max_length=MAX_CODE)
    description = StrictCharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True)
    expired_at = AwareDateTimeField(required=False, allow_null=True)


@extend_schema_field(
    {
        "oneOf": [
            CODE_SCHEMA,
            {
                "type": "object",
                "required": ["code"],
                "properties": {
                    "code": CODE_SCHEMA,
                    "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
                    "expired_at": {"type": "string", "format": "date-time", "nullable": True},
                },
            },
        ],
        "description": "A code, or a code with its own description and expiry.",
    }
)
class CodeItemField(serializers.Field):
    def to_internal_value(self, data):
        if isinstance(data, str):
            data = {"code": data}
        item = GiftCardCodeIn(data=data)
        if not isinstance(data, dict) or not item.is_valid():
            raise serializers.ValidationError(item.errors if isinstance(data, dict) else "a code or an object")
        return dict(item.validated_data)


class GiftCardsLoadIn(StrictSerializer):
    codes = serializers.ListField(
        child=CodeItemField(), min_length=1, max_length=services.MAX_CODES_PER_LOAD, help_text="The codes to add."
    )
    description = StrictCharField(
        max_length=MAX_DESCRIPTION, required=False, allow_blank=True, help_text="For the codes that name none."
    )
    expired_at = AwareDateTimeField(
        required=False, allow_null=True, help_text="For the codes that name none; in the future. null: never."
    )


class GiftCardsLoadOut(serializers.Serializer):
    reward_id = serializers.UUIDField()
    added = serializers.IntegerField()
    duplicates = serializers.ListField(
        child=serializers.CharField(), help_text="Codes not added: already in the programme, or twice in the list."
    )
    left = serializers.IntegerField(help_text="Codes of the pool still to hand out (unexpired).")


class GiftCardsLoadView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Load gift-card codes into a GIFT_CARD reward's pool",
        request=GiftCardsLoadIn,
        description=f"Adds up to {services.MAX_CODES_PER_LOAD:,} codes a call (1 to {MAX_CODE} printable characters, "
        "no spaces, no `/`). A code is unique in the whole programme: one already loaded "
        "(in any reward) or repeated in the list is not added and is listed in `duplicates`. Campaigns granting "
        "the reward hand the codes out oldest first, one per card granted.",
        responses={
            201: GiftCardsLoadOut,
            403: refusal("A brand-restricted key and a global reward (`permission_denied`)."),
            404: refusal("Unknown reward, or another brand's (`reward_not_found`)."),
            422: refusal("Not a GIFT_CARD reward (`not_a_gift_card_reward`)."),
        },
    )
    def post(self, request, reward_id):
        brands = allowed_brands(request)
        data = GiftCardsLoadIn(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        if brands is not None:
            reward = Reward.objects.filter(pk=reward_id).only("brand_id").first() if is_uuid(reward_id) else None
            if reward is not None and reward.brand_id is None:
                check_brand(request, None)  # 403: a global reward is the unrestricted keys' to fill
        loaded = services.gift_cards_load(
            reward_id=reward_id,
            codes=data["codes"],
            description=data.get("description", ""),
            expired_at=data.get("expired_at"),
            brands=brands,
        )
        return Response(GiftCardsLoadOut(loaded).data, status=201)


class CustomerGiftCardsView(EnvelopeMixin, GenericAPIView):
    queryset = GiftCardCode.objects.none()  # for the schema's path parameters; the rows: selectors

    @extend_schema(
        summary="List a customer's gift cards",
        description="The codes the customer's events were handed, newest first (Masivo's shape, plus `status`): "
        "HELD while the event is held, GRANTED, REDEEMED, VOID once the event was reversed. A brand-restricted key "
        "sees the cards handed out by its brands' events.",
        parameters=[
            OpenApiParameter("reward_id", {"type": "string", "format": "uuid"}, required=False),
            OpenApiParameter(
                "status", {"type": "string", "enum": [s for s in GiftCardCode.Status.values if s != "AVAILABLE"]}
            ),
        ],
        responses={200: GiftCardOut(many=True), 404: refusal("Unknown customer (`customer_not_found`).")},
    )
    def get(self, request, customer_id):
        if not Customer.objects.filter(pk=customer_id).exists():
            raise NotFound(f"customer {customer_id!r} not found", code="customer_not_found")
        reward_id = request.query_params.get("reward_id")
        status = request.query_params.get("status")
        if reward_id is not None and not is_uuid(reward_id):
            raise InvalidInput({"reward_id": "must be a reward id (a UUID)"})
        if status is not None and (status not in GiftCardCode.Status.values or status == "AVAILABLE"):
            raise InvalidInput({"status": "one of HELD, GRANTED, REDEEMED, VOID"})
        cards = selectors.customer_gift_cards(
            customer_id=customer_id, brands=allowed_brands(request), reward_id=reward_id, status=status
        )
        page = self.paginate_queryset(cards)
        return self.get_paginated_response([card_view(c) for c in page])


class GiftCardRedeemView(EnvelopeMixin, APIView):
    @extend_schema(
        summary="Redeem one of a customer's gift cards",
        request=None,
        description="Marks the card used (`redeemed_at`, status REDEEMED), once: a second time answers 409. The "
        "wallet does not move (the grant's line records the card handed out). Another customer's card, or "
        "another brand's for a brand-restricted key, answers like an unknown one.",
        responses={
            200: GiftCardOut,
            404: refusal("`customer_not_found`, `gift_card_not_found`."),
            409: refusal("`gift_card_already_redeemed`; `gift_card_not_redeemable` (held, or void)."),
            422: refusal("`gift_card_expired`."),
        },
    )
    def post(self, request, customer_id, code):
        card = services.gift_card_redeem(customer_id=customer_id, code=code, brands=allowed_brands(request))
        return Response(card_view(card))
