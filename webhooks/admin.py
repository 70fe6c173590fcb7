"""Webhooks in the back office. Endpoints are added, changed and deleted through
webhooks.services, as the API does (a service refusal is shown on the form, nothing stored);
a new secret is shown once, in a message. Deliveries are read-only: their attempts, their body,
and Redeliver."""

import json
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html

from audit.admin import audit_trail_field
from audit.services import Source, audit_record, audited
from campaigns.models import Brand
from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.exceptions import DomainError
from core.json import exact_dumps
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.names import NAMES

SECRETS = ("secret", "previous_secret")  # never written to the audit trail


class EndpointForm(forms.ModelForm):
    """What endpoint_create and endpoint_update take; the URL and the events are checked by the
    services' own rules (url_problem, events_problem), anything else they refuse is put on the
    form by WebhookEndpointAdmin."""

    events = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {text}") for name, text in NAMES.items()], widget=forms.CheckboxSelectMultiple
    )
    brand_id = forms.ChoiceField(
        label="Brand", required=False, help_text="Only this brand's events; empty: every brand's."
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "brand_id", "description", "is_active")
        widgets = {"url": forms.URLInput(attrs={"size": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand_id"].choices = [("", "every brand"), *Brand.objects.values_list("pk", "name")]

    def clean_url(self):
        if self.instance.pk and "url" not in self.changed_data:
            return self.cleaned_data["url"]  # as stored (maybe http, allowed when it was set)
        problem = services.url_problem(self.cleaned_data["url"])
        if problem:
            raise forms.ValidationError(problem)
        return self.cleaned_data["url"]

    def clean_events(self):
        problem = services.events_problem(list(self.cleaned_data["events"]))
        if problem:
            raise forms.ValidationError(problem)
        return list(self.cleaned_data["events"])


class ServiceRefused(Exception):
    """save_model's service refused: the add/change view shows the form again with the refusal."""

    def __init__(self, error: DomainError):
        self.error = error


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "brand", "subscribed", "is_active", "health", "created_at")
    list_filter = ("is_active", "brand_id")
    search_fields = ("url", "description", "=id")
    actions = ["rotate_secret", "redeliver_failed"]
    readonly_fields = (
        "id",
        "health",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
        "audit_trail",
    )
    audit_trail = audit_trail_field()

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    @admin.display(description="brand")
    def brand(self, obj):
        return obj.brand_id or "every brand"

    @admin.display(description="events")
    def subscribed(self, obj):
        return ", ".join(obj.events)

    @admin.display(description="health")
    def health(self, obj):
        if obj.disabled_at:
            return format_html('<strong style="color:#ba2121">Disabled: {}</strong>', obj.disabled_reason)
        if not obj.is_active:
            return "Inactive (set so)"
        if obj.failing_since:
            return format_html('<span style="color:#ba2121">Failing since {}</span>', obj.failing_since)
        return "OK"

    # ---- writes go through the services ------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:  # rolled back; show the form again, with why
            request._webhook_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_webhook_refusal", None)
        if refusal is None:
            return form

        class Refused(form):
            def clean(self):
                data = super().clean()
                details = refusal.details
                if isinstance(details, dict):
                    for name, problem in details.items():
                        self.add_error(name if name in self.fields else None, str(problem))
                else:
                    self.add_error("brand_id" if refusal.code == "brand_not_found" else None, str(details))
                return data

        return Refused

    def _audited(self, request, action: str, endpoint):
        """Each manual change is an audit entry in its transaction, the secrets left out."""
        return audited(
            actor=request.user, source=Source.ADMIN, action=f"webhook_endpoint.{action}", obj=endpoint, hidden=SECRETS
        )

    def save_model(self, request, obj, form, change):
        names = form.changed_data if change else EndpointForm.Meta.fields  # unchanged: not checked again
        data = {name: form.cleaned_data[name] for name in names if name in EndpointForm.Meta.fields}
        existing = WebhookEndpoint.objects.get(pk=obj.pk) if change else None
        try:
            with self._audited(request, "update" if change else "create", existing) as entry:
                if change:
                    saved = services.endpoint_update(endpoint=existing, **data)
                else:
                    saved = services.endpoint_create(**data)
                entry.obj = saved
        except DomainError as error:
            raise ServiceRefused(error) from error
        obj.pk = saved.pk
        obj._state.adding = False
        if not change:
            messages.warning(
                request,
                f"Webhook {saved.url} created. Copy its signing secret now, it is shown only once: {saved.secret}",
            )

    def delete_model(self, request, obj):
        with self._audited(request, "delete", obj):
            services.endpoint_delete(endpoint=obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)

    def get_deleted_objects(self, objs, request):
        """Deleting keeps the row and its deliveries (the admin still shows them): only the
        endpoint itself is listed on the confirmation page."""
        return [str(obj) for obj in objs], {WebhookEndpoint._meta.verbose_name_plural: len(objs)}, set(), []

    # ---- actions ---------------------------------------------------------------------------------------

    @admin.action(description="Rotate the signing secret (the old one signs for 24 more hours)", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            with self._audited(request, "rotate_secret", endpoint) as entry:
                entry.obj = rotated = services.endpoint_rotate_secret(endpoint=endpoint)
            messages.warning(request, f"New signing secret of {rotated.url}, shown only once: {rotated.secret}")

    @admin.action(description="Redeliver the failed deliveries", permissions=["change"])
    def redeliver_failed(self, request, queryset):
        queued = 0
        for endpoint in queryset:
            with self._audited(request, "redeliver_failed", endpoint) as entry:
                count = services.endpoint_redeliver_failed(endpoint=endpoint)
                entry.extra_after = {"deliveries_queued": count}
            queued += count
        self.message_user(request, f"{queued} failed deliveries queued again.", messages.SUCCESS)


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("at", "response_code", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):  # read-only; Redeliver is the one way to act
    list_display = (
        "message_id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_response_code",
        "created_at",
    )
    list_filter = ("status", "event", "endpoint")
    search_fields = ("=id", "endpoint__url")
    list_select_related = ("endpoint",)
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    actions = ["redeliver"]
    fields = (
        "id",
        "message_id",
        "endpoint",
        "event",
        "brand_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_response_code",
        "last_error",
        "delivered_at",
        "created_at",
        "pretty_body",
    )
    readonly_fields = fields

    @admin.display(description="webhook-id")
    def message_id(self, obj):
        return obj.message_id

    @admin.display(description="body")
    def pretty_body(self, obj):
        try:
            text = exact_dumps(json.loads(obj.body, parse_float=Decimal), indent=2, ensure_ascii=False)
        except ValueError:
            text = obj.body
        return format_html("<pre>{}</pre>", text)

    @admin.action(description="Redeliver the selected deliveries", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        deliveries = list(queryset.order_by("created_at"))
        with transaction.atomic():  # the requeue and its audit entries commit together
            queued = services.deliveries_redeliver(deliveries=queryset.order_by("created_at"))
            for delivery in deliveries:
                audit_record(
                    actor=request.user,
                    source=Source.ADMIN,
                    action="webhook_delivery.redeliver",
                    object_type=delivery._meta.label_lower,
                    object_id=delivery.pk,
                    object_repr=str(delivery),
                    before={"status": delivery.status},
                )
        self.message_user(request, f"{queued} deliveries queued again.", messages.SUCCESS)

    def has_redeliver_permission(self, request):
        return request.user.has_perm("webhooks.change_webhookdelivery")
