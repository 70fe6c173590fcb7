"""The gift-card back office: each GIFT_CARD reward's pool with its codes left (the "Gift card
pools" page), a CSV upload of codes into a pool (through giftcards.services, audited), and every
code with its state (read-only: codes change through the API, the events and the upload only)."""

import csv
import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from audit.services import Source, audited
from campaigns.models import Reward
from core.admin import ReadOnlyAdmin
from core.exceptions import DomainError
from giftcards import selectors, services
from giftcards.models import GiftCardCode, GiftCardPool

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # 10,000 codes of 100 characters with descriptions fit


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text=f"CSV, one code a row: code[,description[,expired_at]] (a first row `code,...` is a header). "
        f"At most {services.MAX_CODES_PER_LOAD:,} codes."
    )
    description = forms.CharField(max_length=255, required=False, help_text="For the rows that give none.")
    expired_at = forms.DateTimeField(required=False, help_text="For the rows that give none; empty: never.")
    reason = forms.CharField(max_length=500, required=False, help_text="Kept in the audit trail.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"at most {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("must be UTF-8 text") from None
        return parse_csv(text)


def parse_csv(text: str) -> list[dict]:
    """The codes of a CSV file as gift_cards_load takes them; raises ValidationError."""
    codes = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() == "code":
            continue
        if len(codes) >= services.MAX_CODES_PER_LOAD:
            raise forms.ValidationError(f"at most {services.MAX_CODES_PER_LOAD:,} codes a file")
        item = {"code": cells[0]}
        if len(cells) > 1 and cells[1]:
            item["description"] = cells[1]
        if len(cells) > 2 and cells[2]:
            moment = parse_datetime(cells[2])
            if moment is None or timezone.is_naive(moment):
                raise forms.ValidationError(f"row {number}: expired_at must be an ISO 8601 datetime with a time zone")
            item["expired_at"] = moment
        codes.append(item)
    if not codes:
        raise forms.ValidationError("the file holds no code")
    return codes


@admin.register(GiftCardPool)
class GiftCardPoolAdmin(ReadOnlyAdmin):
    """One row per GIFT_CARD reward: how many codes are left to hand out, and the upload."""

    list_display = ("name", "brand", "codes_left", "codes_handed_out", "codes_redeemed", "codes_total", "upload")
    list_filter = ("brand",)
    search_fields = ("name", "id")
    fields = ("name", "brand", "id", "codes_left", "codes_handed_out", "codes_redeemed", "codes_total", "upload")
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.pool_counts(
            super().get_queryset(request).filter(type=Reward.Type.GIFT_CARD).select_related("brand")
        )

    @admin.display(description="codes left", ordering="codes_left")
    def codes_left(self, obj):
        return obj.codes_left

    @admin.display(description="handed out", ordering="codes_handed_out")
    def codes_handed_out(self, obj):
        return obj.codes_handed_out

    @admin.display(description="redeemed", ordering="codes_redeemed")
    def codes_redeemed(self, obj):
        return obj.codes_redeemed

    @admin.display(description="total", ordering="codes_total")
    def codes_total(self, obj):
        return obj.codes_total

    @admin.display(description="codes")
    def upload(self, obj):
        codes = reverse("admin:giftcards_giftcardcode_changelist") + f"?reward__id__exact={obj.pk}"
        load = reverse("admin:giftcards_giftcardpool_upload", args=[quote(obj.pk)])
        return format_html('<a href="{}">see codes</a> · <a href="{}">upload CSV</a>', codes, load)

    def get_urls(self):
        view = self.admin_site.admin_view(self.upload_view)
        return [path("<path:object_id>/upload/", view, name="giftcards_giftcardpool_upload"), *super().get_urls()]

    def upload_view(self, request, object_id):
        """Load a CSV of codes into this pool (giftcards.services.gift_cards_load), audited."""
        if not request.user.has_perm("giftcards.add_giftcardcode"):
            raise PermissionDenied
        reward = get_object_or_404(Reward, pk=object_id, type=Reward.Type.GIFT_CARD)
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with audited(
                    actor=request.user,
                    source=Source.ADMIN,
                    action="giftcards.load",
                    obj=reward,
                    reason=data["reason"],
                ) as entry:
                    loaded = services.gift_cards_load(
                        reward_id=reward.pk,
                        codes=data["file"],
                        description=data["description"],
                        expired_at=data["expired_at"],
                    )
                    entry.extra_after = {"codes_added": loaded["added"], "codes_duplicate": len(loaded["duplicates"])}
            except DomainError as exc:
                form.add_error(None, str(exc.details))
            else:
                shown = ", ".join(loaded["duplicates"][:20])
                more = f" (not added, already loaded or repeated: {shown}{'...' if len(loaded['duplicates']) > 20 else ''})"
                self.message_user(
                    request,
                    f"{loaded['added']} code(s) added to {reward.name}; {loaded['left']} left to hand out"
                    + (more if loaded["duplicates"] else "")
                    + ".",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:giftcards_giftcardpool_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Upload gift-card codes: {reward.name}",
            "form": form,
            "reward": reward,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/giftcards/upload.html", context)


@admin.register(GiftCardCode)
class GiftCardCodeAdmin(ReadOnlyAdmin):
    """Every code with its state; read-only (the services write them)."""

    list_display = ("code", "reward", "status", "customer_id", "event_id", "rewarded_at", "redeemed_at", "expired_at")
    list_filter = ("status", "reward")
    search_fields = ("=code", "=customer__id")
    list_select_related = ("reward",)
    show_full_result_count = False  # a pool may hold a million codes
    fields = (
        "code",
        "reward",
        "status",
        "description",
        "expired_at",
        "customer",
        "event",
        "brand",
        "batch",
        "created_at",
        "rewarded_at",
        "redeemed_at",
        "voided_at",
    )
    readonly_fields = fields
