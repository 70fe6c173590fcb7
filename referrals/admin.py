"""Referral codes and referrals in the back office: read-only lists (codes are requested through
the API, links and rewards follow the referred customers' events; a REFERRALS campaign itself is
edited in the campaign admin, with its `referee_rules` and max uses)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from referrals.models import Referral, ReferralCode


@admin.register(ReferralCode)
class ReferralCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "customer", "campaign", "uses_count", "max_uses", "created_at")
    list_filter = ("campaign",)
    search_fields = ("=code", "customer__id")
    list_select_related = ("campaign",)
    fields = ("id", "code", "customer", "campaign", "uses_count", "max_uses", "metadata", "created_at")
    readonly_fields = fields


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ("referee", "referrer", "campaign", "state", "linked_at", "qualified_at", "rewarded_at")
    list_filter = ("campaign",)
    search_fields = ("referee__id", "referrer__id", "=code__code")
    list_select_related = ("campaign", "code")
    fields = (
        "campaign",
        "code",
        "referrer",
        "referee",
        "state",
        "linked_at",
        "linked_event_id",
        "qualified_event_id",
        "qualified_at",
        "referrer_event_id",
        "rewarded_at",
        "undone_at",
    )
    readonly_fields = fields

    @admin.display(description="status")
    def state(self, obj):
        """LINKED, QUALIFIED (its qualifying event is held) or REWARDED."""
        return obj.status
