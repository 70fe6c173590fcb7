"""Coupon codes of COUPONS campaigns and their uses.

A code belongs to one campaign and is unique in the whole programme (a unique constraint on
`code`: two campaigns can never hand out the same text, whatever brand they are of). Codes are
stored upper-case (coupons.codes.normalize) and matched that way. `uses_count` counts the live
uses (a reversed use frees its place): it only moves by a conditional UPDATE under the code
row's lock, so it can never pass `max_uses` (also a check constraint). A use is the
COUPON_REDEMPTION event that redeemed it (one use per event).
"""

from django.db import models
from django.db.models import F, Q

from campaigns.models import Campaign


class CouponCode(models.Model):
    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="coupon_codes")
    code = models.CharField(max_length=64)
    max_uses = models.PositiveIntegerField(default=1)
    max_uses_per_customer = models.PositiveIntegerField(default=1)
    uses_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="coupon_code_unique_in_programme"),
            models.CheckConstraint(condition=Q(max_uses__gte=1), name="coupon_max_uses_gte_1"),
            models.CheckConstraint(condition=Q(max_uses_per_customer__gte=1), name="coupon_per_customer_gte_1"),
            models.CheckConstraint(
                condition=Q(uses_count__gte=0) & Q(uses_count__lte=F("max_uses")), name="coupon_uses_within_max"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def uses_left(self) -> int:
        return self.max_uses - self.uses_count


class CouponUse(models.Model):
    """One redemption of a code by a customer: its event (RESOLVED; REVERSED when undone, then
    `reversed_at` is set and the use no longer counts)."""

    id = models.BigAutoField(primary_key=True)
    code = models.ForeignKey(CouponCode, on_delete=models.PROTECT, related_name="uses")
    customer = models.ForeignKey("wallets.Customer", on_delete=models.PROTECT, related_name="coupon_uses")
    event = models.OneToOneField("events.Event", on_delete=models.PROTECT, related_name="coupon_use")
    used_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-used_at", "-id"]
        indexes = [models.Index(fields=["code", "customer"], name="coupon_use_code_customer")]

    def __str__(self) -> str:
        return f"{self.code_id} by {self.customer_id}"
