from django.contrib import admin

from campaigns.forms import CampaignAdminForm, TierAdminForm
from campaigns.models import ApiKey, Brand, Campaign, EventType, Reward, Tier


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "created_at")
    search_fields = ("id", "name")


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "brand", "decimals", "id")
    list_filter = ("type", "brand")
    search_fields = ("name", "id")


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "tracking_only", "built_in")
    readonly_fields = ("built_in",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ("name", "brand", "trigger", "status", "start_date", "end_date", "budget", "budget_used")
    readonly_fields = ("budget_used", "was_active")
    list_filter = ("status", "trigger", "brand")
    search_fields = ("name", "id")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "lookup", "is_unrestricted", "is_active", "last_used_at", "created_at")
    list_filter = ("is_unrestricted", "is_active")
    readonly_fields = ("lookup", "key_hash", "last_used_at")
    filter_horizontal = ("brands",)

    def has_add_permission(self, request):
        return False  # keys are created with `manage.py create_api_key`, which shows the key once


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    form = TierAdminForm
    list_display = ("level", "name", "id")
    ordering = ("level",)
