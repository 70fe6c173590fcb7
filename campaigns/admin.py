"""The programme in the back office. Every add, change and delete calls the service the API
calls (campaigns.services) through campaigns.forms.ServiceAdmin: a refusal is a form error
(or, for a delete, an error message) and nothing is stored; every manual write is one audit
entry, listed on the object's change page.

Decisions:
- What a service keeps fixed is read-only once the object exists: a brand's id, a reward's
  type, decimals and brand, an event type's name. A campaign's frozen fields (rules, trigger,
  brand, start, type once it has started) stay editable on the form and the service refuses a
  change to them, so an operator sees why.
- The base tier and the built-in event types are never deleted: their services refuse.
- API keys are revoked (action, or the button on the key's page), never deleted: the row stays
  as the record of what used the API. Revoking is for good; whether a key is unrestricted is
  fixed when it is made. The raw key is shown once, in a message; the audit trail never holds
  the key's hash or its token secret.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns import services
from campaigns.forms import ServiceAdmin
from campaigns.models import ApiKey, Brand, Campaign, EventType, Reward, Tier


def _pk(value):
    return None if value is None else value.pk


@admin.register(Brand)
class BrandAdmin(ServiceAdmin):
    list_display = ("id", "name", "created_at")
    search_fields = ("id", "name")
    fields = ("id", "name")
    audit_name, fixed_fields, error_fields = "brand", ("id",), {"brand_exists": "id"}

    def create(self, request, data):
        return services.brand_create(id=data["id"], name=data["name"])

    def update(self, request, obj, data):
        return services.brand_update(brand_id=obj.pk, name=data["name"])

    def remove(self, request, obj):
        services.brand_delete(brand_id=obj.pk)


@admin.register(Reward)
class RewardAdmin(ServiceAdmin):
    """`type`, `decimals` and `brand` are fixed once the reward exists (amounts issued depend
    on them); `conditions` and `attributes` are checked by reward_create / reward_update."""

    list_display = ("name", "type", "brand", "decimals", "id")
    list_filter = ("type", "brand")
    search_fields = ("name", "id")
    fields = ("brand", "name", "type", "decimals", "conditions", "attributes")
    audit_name, fixed_fields, error_fields = "reward", ("type", "decimals", "brand"), {"brand_id": "brand"}

    def create(self, request, data):
        return services.reward_create(
            brand_id=_pk(data.get("brand")),
            name=data["name"],
            type=data["type"],
            decimals=data["decimals"],
            conditions=data.get("conditions") or {},
            attributes=data.get("attributes") or {},
        )

    def update(self, request, obj, data):
        changes = {k: data[k] or {} for k in ("conditions", "attributes") if k in data}
        if "name" in data:
            changes["name"] = data["name"]
        return services.reward_update(reward_id=obj.pk, **changes)

    def remove(self, request, obj):
        services.reward_delete(reward_id=obj.pk)


@admin.register(EventType)
class EventTypeAdmin(ServiceAdmin):
    """A type triggering campaigns (PURCHASE, any built-in) cannot become tracking-only:
    event_type_update refuses it."""

    list_display = ("name", "tracking_only", "built_in")
    fields = ("name", "tracking_only", "built_in")
    readonly_fields = ("built_in",)
    audit_name, fixed_fields = "event_type", ("name",)
    error_fields = {"event_type_exists": "name", "in_use": "tracking_only"}

    def create(self, request, data):
        return services.event_type_create(name=data["name"], tracking_only=data["tracking_only"])

    def update(self, request, obj, data):
        return services.event_type_update(name=obj.pk, tracking_only=data["tracking_only"])

    def remove(self, request, obj):
        services.event_type_delete(name=obj.pk)


@admin.register(Campaign)
class CampaignAdmin(ServiceAdmin):
    """Saved by campaign_create / campaign_update, which validate the rules, refuse a change
    of a started campaign's rules, trigger, brand, start or type, and a budget below what the
    campaign already granted; only the changed fields are sent."""

    list_display = (
        "name",
        "brand",
        "trigger",
        "running",
        "status",
        "start_date",
        "end_date",
        "budget",
        "budget_used",
        "budget_left",
    )
    fields = (
        *("brand", "name", "type", "status", "trigger", "start_date", "end_date", "budget", "limit", "rules"),
        *("referee_rules", "referral_max_uses"),  # REFERRALS campaigns (campaigns.services.referral_fields)
    )
    readonly_fields = ("running", "budget_used", "budget_left", "was_active")
    list_filter = ("status", "trigger", "brand")
    search_fields = ("name", "id")
    audit_name = "campaign"
    error_fields = {"brand_id": "brand", "brand_not_found": "brand"}

    def get_fields(self, request, obj=None):
        return [
            *super().get_fields(request, obj),
            *(("running", "budget_used", "budget_left", "was_active") if obj else ()),
        ]

    @admin.display(description="now")
    def running(self, obj):
        """RUNNING, PAUSED, SCHEDULED or FINISHED: what the status and the dates make of it now."""
        return obj.derived_status(timezone.now())

    @admin.display(description="budget left")
    def budget_left(self, obj):
        return "no budget" if obj.budget is None else obj.budget_remaining

    @staticmethod
    def _arguments(data):
        out = {k: v for k, v in data.items() if k not in ("brand", "trigger", "rules")}
        if "brand" in data:
            out["brand_id"] = _pk(data["brand"])
        if "trigger" in data:
            out["trigger"] = _pk(data["trigger"])
        if "rules" in data:
            out["rules"] = data["rules"] or []
        if "referee_rules" in data:
            out["referee_rules"] = data["referee_rules"] or []
        return out

    def create(self, request, data):
        args = self._arguments(data)
        return services.campaign_create(**{"brand_id": None, "rules": [], **args})

    def update(self, request, obj, data):
        return services.campaign_update(campaign_id=obj.pk, **self._arguments(data))

    def remove(self, request, obj):
        services.campaign_delete(campaign_id=obj.pk)


@admin.register(Tier)
class TierAdmin(ServiceAdmin):
    """The base tier (level 1, where every customer starts) keeps its level and is never
    deleted (tier_update, tier_delete)."""

    list_display = ("level", "name", "id")
    fields = ("name", "level", "entry_conditions")
    ordering = ("level",)
    audit_name, error_fields = "tier", {"tier_level_taken": "level"}

    def create(self, request, data):
        return services.tier_create(
            name=data["name"], level=data["level"], entry_conditions=data.get("entry_conditions") or []
        )

    def update(self, request, obj, data):
        if "entry_conditions" in data:
            data = {**data, "entry_conditions": data["entry_conditions"] or []}
        return services.tier_update(tier_id=obj.pk, **data)

    def remove(self, request, obj):
        services.tier_delete(tier_id=obj.pk)


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "is_unrestricted", "brands")

    def clean(self):
        data = super().clean()
        if not data.get("is_unrestricted") and not data.get("brands"):
            raise forms.ValidationError("Tick 'unrestricted', or the brands this key may use.")
        if data.get("is_unrestricted") and data.get("brands"):
            raise forms.ValidationError("An unrestricted key uses every brand: tick no brand.")
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceAdmin):
    """Made by api_key_create (shown once), renamed and re-branded by api_key_update, revoked
    by api_key_revoke; never deleted (module docstring)."""

    list_display = ("name", "lookup", "is_unrestricted", "is_active", "last_used_at", "created_at")
    list_filter = ("is_unrestricted", "is_active")
    fields = ("name", "brands", "is_unrestricted", "is_active", "lookup", "last_used_at", "created_at")
    readonly_fields = ("is_unrestricted", "is_active", "lookup", "last_used_at", "created_at")
    filter_horizontal = ("brands",)
    actions = ["revoke_keys"]
    audit_name, audit_hidden = "api_key", ApiKey.SECRETS

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ApiKeyAddForm.Meta.fields if obj is None else [*self.fields, "audit_trail"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self.readonly_fields, *(("brands",) if obj.is_unrestricted else ()), "audit_trail")

    def create(self, request, data):
        brands = [brand.pk for brand in data.get("brands") or []]
        key, raw = services.api_key_create(name=data["name"], brand_ids=brands or None)
        messages.warning(request, f"API key {key.name!r} created. Copy it now, it is shown only once: {raw}")
        return key

    def update(self, request, obj, data):
        changes = {"name": data["name"]} if "name" in data else {}
        if "brands" in data and not obj.is_unrestricted:
            changes["brand_ids"] = [brand.pk for brand in data["brands"]]
        return services.api_key_update(key_id=obj.pk, **changes)

    # ---- revoking ---------------------------------------------------------------------------------

    def _revoke(self, request, key) -> None:
        with self.audit(request, "api_key.revoke", key) as entry:
            entry.obj = services.api_key_revoke(key_id=key.pk)

    @admin.action(description="Revoke the selected keys (for good)", permissions=["change"])
    def revoke_keys(self, request, queryset):
        keys = list(queryset.filter(is_active=True))
        for key in keys:
            self._revoke(request, key)
        self.message_user(request, f"{len(keys)} key(s) revoked.", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.revoke_view))
        return [path("<path:object_id>/revoke/", view, name="campaigns_apikey_revoke"), *super().get_urls()]

    def revoke_view(self, request, object_id):
        key = get_object_or_404(ApiKey, pk=object_id)
        if not self.has_change_permission(request, key):
            raise PermissionDenied
        self._revoke(request, key)
        self.message_user(request, f"API key {key.name!r} revoked: the API refuses it from now on.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:campaigns_apikey_change", args=[key.pk]))
