"""Gift-card codes: the pool of a GIFT_CARD reward, loaded by the operator, handed out one by one
by the campaigns that grant the reward (giftcards.granting).

A code's life:

    AVAILABLE (in the pool) --grant--> GRANTED (the customer's) --redeem--> REDEEMED
    AVAILABLE --grant of a held event--> HELD --fulfil--> GRANTED
                                         HELD --cancel / expire--> AVAILABLE (back in the pool)
    GRANTED --its event reversed--> VOID (the customer saw it: never handed out again)

A code is unique in the whole programme (a constraint): the customer's endpoint names a card by
its code alone, and two providers' codes colliding is a loading mistake worth refusing. The
"next free code of a reward" is a partial index (reward, id) over the AVAILABLE rows, so taking
one stays an index probe with a million codes loaded.
"""

from django.db import models
from django.db.models import Q

from campaigns.models import Brand, Reward
from events.models import Event
from wallets.models import Customer

MAX_CODE = 100  # characters of a code
MAX_DESCRIPTION = 255


class GiftCardCode(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "AVAILABLE"
        HELD = "HELD"
        GRANTED = "GRANTED"
        REDEEMED = "REDEEMED"
        VOID = "VOID"

    id = models.BigAutoField(primary_key=True)
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="gift_card_codes")
    code = models.CharField(max_length=MAX_CODE)
    description = models.CharField(max_length=MAX_DESCRIPTION, blank=True, default="")
    expired_at = models.DateTimeField(null=True, blank=True)  # after it the card is worthless (never handed out)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    # who holds it, through which event, for which brand (the event's: brand-restricted keys see theirs)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="gift_cards", db_index=False
    )
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    batch = models.UUIDField(editable=False)  # the load that added it (answers which codes a load added)
    created_at = models.DateTimeField(auto_now_add=True)
    rewarded_at = models.DateTimeField(null=True, blank=True)  # became the customer's (GRANTED)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="giftcard_code_unique"),
            models.CheckConstraint(
                condition=Q(status="AVAILABLE", customer__isnull=True, event__isnull=True)
                | (~Q(status="AVAILABLE") & Q(customer__isnull=False)),
                name="giftcard_holder_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["reward", "id"], condition=Q(status="AVAILABLE"), name="giftcard_pool_next"),
            models.Index(fields=["customer", "id"], name="giftcard_customer"),
        ]

    def __str__(self) -> str:
        return self.code


class GiftCardPool(Reward):
    """A GIFT_CARD reward seen as its pool of codes (the admin's "codes left" page)."""

    class Meta:
        proxy = True
        verbose_name = "gift card pool"
