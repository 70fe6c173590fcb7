"""Referral codes and the referrals they make (docs/referrals.md).

A ReferralCode is one customer's code for one REFERRALS campaign (one per customer and campaign:
a constraint, so two requests racing for it create one). A Referral links a referred customer
(`referee`) to the customer whose code it came with (`referrer`): one referrer per referee and
campaign (a constraint), never oneself (a constraint). Its state is kept on its row:

    LINKED (qualified_event_id null) --qualifying event applied--> QUALIFIED (a use of the code counted)
    QUALIFIED --the event resolves--> REWARDED (referrer_event_id: the referrer's REFERRAL event)
    QUALIFIED or REWARDED --the event undone--> LINKED again (the use freed, `undone_at` set)

`uses_count` counts the live qualifications of the code; it never passes `max_uses` (a constraint,
and the increment is one conditional UPDATE: two referees racing for the last use, one wins).
"""

import uuid

from django.db import models
from django.db.models import F, Q

from campaigns.models import Campaign
from core.json import DecimalJSONDecoder, ExactJSONEncoder
from wallets.models import Customer


class ReferralCode(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referral_codes")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="referral_codes")
    code = models.CharField(max_length=32, unique=True)
    uses_count = models.PositiveIntegerField(default=0)
    max_uses = models.PositiveIntegerField(null=True, blank=True)  # the campaign's when requested; null: no limit
    metadata = models.JSONField(default=dict, blank=True, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "campaign"], name="referral_code_one_per_customer_campaign"),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses_count__lte=F("max_uses")),
                name="referral_code_uses_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    class Status(models.TextChoices):
        LINKED = "LINKED"
        QUALIFIED = "QUALIFIED"
        REWARDED = "REWARDED"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="referrals")
    code = models.ForeignKey(ReferralCode, on_delete=models.PROTECT, related_name="referrals")
    referrer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referrals_made")
    referee = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referrals_received")
    linked_at = models.DateTimeField()
    linked_event_id = models.UUIDField(null=True, blank=True)  # the event that carried the code
    qualified_event_id = models.UUIDField(null=True, blank=True, db_index=True)  # plain ids: events sits below
    qualified_at = models.DateTimeField(null=True, blank=True)
    referrer_event_id = models.UUIDField(null=True, blank=True)  # the referrer's REFERRAL event
    rewarded_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)  # the last time a qualification was undone

    class Meta:
        ordering = ["-linked_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "referee"], name="referral_one_referrer_per_campaign"),
            models.CheckConstraint(condition=~Q(referrer=F("referee")), name="referral_not_self"),
        ]
        indexes = [models.Index(fields=["referee", "campaign"]), models.Index(fields=["referrer"])]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.referee_id}"

    @property
    def status(self) -> str:
        if self.qualified_event_id is None:
            return self.Status.LINKED
        return self.Status.REWARDED if self.referrer_event_id else self.Status.QUALIFIED
