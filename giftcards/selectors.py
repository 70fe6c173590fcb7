"""Reads of the gift-card pools: a customer's cards, and how full each pool is."""

from django.db.models import Count, Q
from django.db.models.functions import Now

from giftcards.models import GiftCardCode

Status = GiftCardCode.Status


def customer_gift_cards(*, customer_id: str, brands=None, reward_id=None, status=None):
    """The customer's cards, newest first; `brands` (None: all) keeps those handed out by
    events of these brands."""
    cards = GiftCardCode.objects.filter(customer_id=customer_id).order_by("-id")
    if brands is not None:
        cards = cards.filter(brand_id__in=brands)
    if reward_id is not None:
        cards = cards.filter(reward_id=reward_id)
    if status is not None:
        cards = cards.filter(status=status)
    return cards


def pool_counts(rewards_queryset):
    """The rewards annotated with their codes by state: `codes_left` (AVAILABLE, unexpired),
    `codes_total`, `codes_handed_out` (held, granted, redeemed or void), `codes_redeemed`."""
    fresh = Q(gift_card_codes__status=Status.AVAILABLE) & (
        Q(gift_card_codes__expired_at__isnull=True) | Q(gift_card_codes__expired_at__gt=Now())
    )
    return rewards_queryset.annotate(
        codes_left=Count("gift_card_codes", filter=fresh),
        codes_total=Count("gift_card_codes"),
        codes_handed_out=Count("gift_card_codes", filter=~Q(gift_card_codes__status=Status.AVAILABLE)),
        codes_redeemed=Count("gift_card_codes", filter=Q(gift_card_codes__status=Status.REDEEMED)),
    )
