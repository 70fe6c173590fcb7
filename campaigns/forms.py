"""Admin forms: the same validation as the API (campaigns.services), so an operator cannot save
a rule the engine would refuse, nor change the rules of a campaign that has started."""

from django import forms
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Tier


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["brand", "name", "type", "status", "trigger", "start_date", "end_date", "budget", "limit", "rules"]

    def clean(self):
        data = super().clean()
        instance = self.instance
        if instance.pk and instance.is_frozen(timezone.now()):
            changed = {f for f in ("rules", "trigger", "brand", "start_date", "type") if f in self.changed_data}
            if changed:
                raise forms.ValidationError(
                    f"The campaign has started: {', '.join(sorted(changed))} cannot change. Copy it instead."
                )
        errors = {}
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            errors["end_date"] = "must not be before start_date"
        errors.update(services.limit_errors(data.get("limit")))
        errors.update(services.rule_errors(data.get("rules"), data.get("brand")))
        if errors:
            raise forms.ValidationError([f"{where}: {problem}" for where, problem in errors.items()])
        data["rules"] = services.with_rule_ids(data.get("rules") or [])
        return data


class TierAdminForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = ["name", "level", "entry_conditions"]

    def clean_entry_conditions(self):
        value = self.cleaned_data.get("entry_conditions") or []
        errors = services.tier_condition_errors(value)
        if errors:
            raise forms.ValidationError([f"{where}: {problem}" for where, problem in errors.items()])
        return value
