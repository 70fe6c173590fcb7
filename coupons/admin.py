"""The back office of coupons: codes (searchable, with their uses), uses, a page that adds codes
to a COUPONS campaign (coupons.services.coupon_codes_add, audited as `coupon.codes_add`), and
a campaign's codes as CSV, streamed (keyset-paged reads: a million codes never sit in memory).

Codes and uses are never edited here: a use changes only by redeeming or reversing its event.
"""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from audit.services import Source as AuditSource
from audit.services import audited
from campaigns.forms import refusal_to_form
from campaigns.models import Campaign
from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.exceptions import DomainError
from core.ids import is_uuid
from coupons import codes as codegen
from coupons import selectors, services
from coupons.models import CouponCode, CouponUse

CSV_BATCH = 5000


class CouponUseInline(ReadOnlyInline):
    model = CouponUse
    fields = readonly_fields = ("customer", "event", "used_at", "reversed_at")
    ordering = ("-used_at",)


@admin.register(CouponCode)
class CouponCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "campaign", "max_uses", "max_uses_per_customer", "uses_count", "created_at")
    list_filter = ("campaign",)
    search_fields = ("=code",)
    list_select_related = ("campaign",)
    show_full_result_count = False  # a million codes: no second COUNT(*) per page
    fields = readonly_fields = ("code", "campaign", "max_uses", "max_uses_per_customer", "uses_count", "created_at")
    inlines = [CouponUseInline]

    def get_urls(self):
        own = [
            path("add-codes/", self.admin_site.admin_view(self.add_codes_view), name="coupons_couponcode_add_codes"),
            path(
                "export/<uuid:campaign_id>/",
                self.admin_site.admin_view(self.export_view),
                name="coupons_couponcode_export",
            ),
        ]
        return [*own, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_add_codes": _may_add(request)}
        campaign_id = request.GET.get("campaign__id__exact")
        campaign = Campaign.objects.filter(pk=campaign_id).first() if is_uuid(campaign_id) else None
        if campaign is not None:
            extra_context |= {"campaign": campaign, "summary": selectors.codes_summary(campaign=campaign)}
        return super().changelist_view(request, extra_context)

    def add_codes_view(self, request):
        """Generate codes for (or load supplied ones into) a COUPONS campaign."""
        if not _may_add(request):
            raise PermissionDenied
        form = AddCodesForm(
            request.POST if request.method == "POST" else None, initial={"campaign": request.GET.get("campaign")}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            campaign = data["campaign"]
            kwargs = {"max_uses": data["max_uses"], "max_uses_per_customer": data["max_uses_per_customer"]}
            if data["codes"]:
                kwargs["codes"] = data["codes"]
            else:
                kwargs |= {"quantity": data["quantity"], "length": data["length"], "prefix": data["prefix"]}
            try:
                with audited(
                    actor=request.user, source=AuditSource.ADMIN, action="coupon.codes_add", obj=campaign
                ) as entry:
                    added = services.coupon_codes_add(campaign_id=campaign.pk, **kwargs)
                    entry.extra_after = {"codes_added": added, **{k: v for k, v in kwargs.items() if k != "codes"}}
            except DomainError as exc:
                refusal_to_form(form, exc, {"code_exists": "codes", "code_space_exhausted": "length"})
            else:
                self.message_user(request, f"{added} code(s) added to {campaign.name}.", messages.SUCCESS)
                return redirect(f"{reverse('admin:coupons_couponcode_changelist')}?campaign__id__exact={campaign.pk}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Add coupon codes",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/coupons/add_codes.html", context)

    def export_view(self, request, campaign_id):
        """The campaign's codes as CSV (code, max_uses, max_uses_per_customer, uses_count,
        created_at), streamed in id order, CSV_BATCH rows a read."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=campaign_id, type=Campaign.Type.COUPONS)

        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())

        def rows():
            yield writer.writerow(["code", "max_uses", "max_uses_per_customer", "uses_count", "created_at"])
            last = 0
            while True:
                batch = list(
                    CouponCode.objects.filter(campaign=campaign, pk__gt=last)
                    .order_by("pk")
                    .values_list("pk", "code", "max_uses", "max_uses_per_customer", "uses_count", "created_at")[
                        :CSV_BATCH
                    ]
                )
                if not batch:
                    return
                for _pk, *row in batch:
                    row[-1] = row[-1].isoformat()
                    yield writer.writerow(row)
                last = batch[-1][0]

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="coupon-codes-{campaign.pk}.csv"'
        return response


def _may_add(request) -> bool:
    return request.user.has_perm("coupons.add_couponcode")


@admin.register(CouponUse)
class CouponUseAdmin(ReadOnlyAdmin):
    list_display = ("code", "customer_link", "event_link", "used_at", "reversed_at")
    list_filter = ("code__campaign",)
    search_fields = ("=code__code", "=customer__id", "=event__id")
    list_select_related = ("code",)
    show_full_result_count = False

    @admin.display(description="customer")
    def customer_link(self, obj):
        url = reverse("admin:wallets_customer_change", args=[quote(obj.customer_id)])
        return format_html('<a href="{}">{}</a>', url, obj.customer_id)

    @admin.display(description="event")
    def event_link(self, obj):
        url = reverse("admin:events_event_change", args=[quote(obj.event_id)])
        return format_html('<a href="{}">{}</a>', url, obj.event_id)


class AddCodesForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.filter(type=Campaign.Type.COUPONS))
    quantity = forms.IntegerField(
        min_value=1, max_value=codegen.MAX_QUANTITY, required=False, help_text="generated codes"
    )
    length = forms.IntegerField(
        min_value=codegen.MIN_LENGTH, max_value=codegen.MAX_LENGTH, initial=codegen.DEFAULT_LENGTH, required=False
    )
    prefix = forms.CharField(max_length=codegen.MAX_PREFIX, required=False)
    codes = forms.CharField(
        widget=forms.Textarea,
        required=False,
        help_text=f"or your own codes, one a line (at most {codegen.MAX_CUSTOM}); a CSV's first column works too",
    )
    max_uses = forms.IntegerField(min_value=1, max_value=codegen.MAX_USES, initial=1)
    max_uses_per_customer = forms.IntegerField(min_value=1, max_value=codegen.MAX_USES, initial=1)

    def clean_codes(self):
        lines = [line.split(",")[0].strip() for line in (self.cleaned_data.get("codes") or "").splitlines()]
        codes = [c for c in lines if c and c.lower() != "code"]
        if len(codes) > codegen.MAX_CUSTOM:
            raise forms.ValidationError(f"at most {codegen.MAX_CUSTOM} codes at a time")
        return codes

    def clean(self):
        data = super().clean()
        if bool(data.get("quantity")) == bool(data.get("codes")):
            raise forms.ValidationError("Give a quantity to generate, or your own codes (not both).")
        data["length"] = data.get("length") or codegen.DEFAULT_LENGTH
        return data
