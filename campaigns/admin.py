from django import forms
from django.contrib import admin, messages

from campaigns.forms import CampaignAdminForm, TierAdminForm
from campaigns.models import ApiKey, Brand, Campaign, EventType, Reward, Tier
from campaigns.services import api_key_create


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

    def get_fields(self, request, obj=None):
        if obj is None:  # adding: what api_key_create takes
            return ("name", "is_unrestricted", "brands")
        return super().get_fields(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            original_clean = form.clean

            def clean(self):
                data = original_clean(self)
                if not data.get("is_unrestricted") and not data.get("brands"):
                    raise forms.ValidationError("Tick 'unrestricted', or the brands this key may use.")
                if data.get("is_unrestricted") and data.get("brands"):
                    raise forms.ValidationError("An unrestricted key uses every brand: tick no brand.")
                return data

            form.clean = clean
        return form

    def save_model(self, request, obj, form, change):
        """A new key is made by the service (a UUID, stored hashed) and shown once, here."""
        if change:
            return super().save_model(request, obj, form, change)
        brands = [brand.pk for brand in form.cleaned_data.get("brands") or []]
        key, raw = api_key_create(name=form.cleaned_data["name"], brand_ids=brands or None)
        obj.pk, obj.lookup, obj.key_hash, obj.token_secret = key.pk, key.lookup, key.key_hash, key.token_secret
        obj._state.adding = False
        messages.warning(request, f"API key {key.name!r} created. Copy it now, it is shown only once: {raw}")

    def save_related(self, request, form, formsets, change):
        if change:  # a new key's brands were set by api_key_create
            super().save_related(request, form, formsets, change)


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    form = TierAdminForm
    list_display = ("level", "name", "id")
    ordering = ("level",)
