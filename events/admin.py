"""Events in the back office: find an event by id, customer or purchase id; its page leads with
what support needs (the status and its timeline, the customer, the amounts, the campaigns that
fired, the ledger rows, then the payload and result; internal flags last, collapsed). Fulfill
and Reverse call the same services as the API (Reverse asks for a reason on a confirmation page
and needs the `reverse_event` permission), one message per event; the adjustment page
(`admin:events_event_adjust`, permission `adjust_balance`) calls `event_adjust`. Every manual
action is written to the audit trail, which each event's page shows."""

from collections import defaultdict
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from audit.admin import audit_trail_field
from audit.services import Source as AuditSource
from audit.services import audited
from campaigns.models import Campaign
from core.admin import ReadOnlyAdmin
from core.exceptions import DomainError
from core.json import exact_dumps
from events import services
from events.forms import AdjustForm, ReverseForm
from events.models import Event
from events.status import Source
from wallets.models import Transaction, WalletLine

T = Transaction.Type
ZERO = Decimal(0)
AMOUNT_COLUMNS = ("credited", "debited", "reserved", "pending", "reversed", "expired")


def _table(headers, rows) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows)
    )
    return format_html("<table><tr>{}</tr>{}</table>", head, body)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):  # a read-only detail page; the actions below are the only way to act
    list_display = ("id", "type", "status", "customer", "brand", "purchase_id", "fulfilled", "issued_at")
    list_filter = ("status", "type", "brand", "fulfilled", "issued_at")
    search_fields = ("=id", "customer__id", "purchase_id")
    date_hierarchy = "issued_at"
    actions = ["fulfill_events", "reverse_events"]
    change_list_template = "admin/events/event/change_list.html"
    fieldsets = (
        ("Status", {"fields": ("id", "status", "timeline", "reason", "error_code", "audit_trail")}),
        (
            "Customer",
            {
                "fields": (
                    "customer_link",
                    "type",
                    "brand",
                    "purchase_id",
                    "platform",
                    "issued_at",
                    "fulfilled",
                    "reservation_expires_at",
                )
            },
        ),
        ("Amounts", {"fields": ("amounts",)}),
        ("Campaigns and rules that fired", {"fields": ("fired",)}),
        ("Ledger rows", {"fields": ("ledger_rows",)}),
        ("Payload and result", {"fields": ("payload", "outcome")}),
        (
            "Internal",
            {
                "classes": ("collapse",),
                "fields": (
                    "reserve",
                    "queued",
                    "queue_message_id",
                    "replaces",
                    "created_at",
                    "processing_at",
                    "resolved_at",
                    "failed_at",
                    "cancelled_at",
                    "expired_at",
                    "reversed_at",
                    "rewarding_campaigns",
                ),
            },
        ),
    )
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])
    audit_trail = audit_trail_field()

    def get_queryset(self, request):
        # the changelist's columns and the page's fields, in one query (a queryset that selects
        # related rows already is used as it is by the changelist: list_select_related is moot)
        return super().get_queryset(request).select_related("customer", "brand", "type")

    def get_urls(self):
        adjust = path("adjust/", self.admin_site.admin_view(self.adjust_view), name="events_event_adjust")
        return [adjust, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_adjust": request.user.has_perm("events.adjust_balance")}
        return super().changelist_view(request, extra_context)

    # ---- the page -------------------------------------------------------------------------------------

    @admin.display(description="timeline (who, when, why, from where)")
    def timeline(self, obj):
        rows = obj.transitions.select_related("actor").order_by("at", "id")
        cells = (
            (
                t.at,
                t.from_status or "-",
                t.to_status,
                t.source,
                t.actor.get_username() if t.actor else "-",
                t.reason or "-",
            )
            for t in rows
        )
        body = format_html_join(
            "",
            '<tr><td class="field-at">{}</td><td class="field-from_status">{}</td><td class="field-to_status">{}</td>'
            '<td class="field-source">{}</td><td class="field-actor">{}</td><td class="field-reason">{}</td></tr>',
            cells,
        )
        return format_html(
            "<table><tr><th>at</th><th>from</th><th>to</th><th>source</th><th>who</th><th>why</th></tr>{}</table>",
            body,
        )

    @admin.display(description="customer")
    def customer_link(self, obj):
        url = reverse("admin:wallets_customer_change", args=[quote(obj.customer_id)])
        return format_html('<a href="{}">{}</a>', url, obj.customer_id)

    @admin.display(description="amounts per reward")
    def amounts(self, obj):
        """What the event moved of each reward, from its ledger rows and its pending lines."""
        rows, pending = self._moved(obj)
        sums: dict = defaultdict(lambda: dict.fromkeys(AMOUNT_COLUMNS, ZERO))
        names = {}
        for r in rows:
            names[r.reward_id] = r.reward.name
            column = {
                T.ACCUMULATION: "credited",
                T.REDEMPTION: "debited",
                T.RESERVATION: "reserved",
                T.RELEASE: "reserved",
                T.REVERSAL: "reversed",
                T.EXPIRATION: "expired",
            }.get(r.type)
            if column:
                sign = -1 if column in ("debited", "expired") else 1
                sums[r.reward_id][column] += sign * r.amount
        for line in pending:
            names[line.reward_id] = line.reward.name
            sums[line.reward_id]["pending"] += line.amount
        if not sums:
            return "nothing moved"
        return _table(("reward", *AMOUNT_COLUMNS), ((names[k], *v.values()) for k, v in sums.items()))

    @admin.display(description="campaigns and rules")
    def fired(self, obj):
        rows, _pending = self._moved(obj)
        pairs = {(str(c["campaign_id"]), c.get("rule_id") or "") for c in obj.rewarding_campaigns or []}
        pairs |= {(str(r.campaign_id), "") for r in rows if r.campaign_id}
        ruled = {campaign for campaign, rule in pairs if rule}
        pairs = sorted(p for p in pairs if p[1] or p[0] not in ruled)
        if not pairs:
            return "no campaign fired"
        campaigns = {str(pk): c for pk, c in Campaign.objects.in_bulk([c for c, _ in pairs]).items()}

        def link(campaign_id):
            if campaign_id not in campaigns:
                return campaign_id  # deleted since
            url = reverse("admin:campaigns_campaign_change", args=[campaign_id])
            return format_html('<a href="{}">{}</a>', url, campaigns[campaign_id])

        return _table(("campaign", "rule"), ((link(c), rule or "-") for c, rule in pairs))

    @admin.display(description="ledger rows")
    def ledger_rows(self, obj):
        rows, _pending = self._moved(obj)
        if not rows:
            return "none"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r.id, r.type, r.amount, r.reward.name, r.line_id or "debt", r.created_at) for r in rows),
        )
        return format_html(
            "<table><tr><th>id</th><th>type</th><th>amount</th><th>reward</th><th>line</th><th>at</th></tr>{}</table>",
            body,
        )

    @admin.display(description="payload")
    def payload(self, obj):
        return format_html("<pre>{}</pre>", exact_dumps(obj.data, indent=2, ensure_ascii=False))

    @admin.display(description="result")
    def outcome(self, obj):
        return format_html("<pre>{}</pre>", exact_dumps(obj.result, indent=2, ensure_ascii=False))

    def _moved(self, obj):
        """The event's ledger rows and pending lines, read once per page (cached on the object)."""
        if not hasattr(obj, "_admin_moved"):
            rows = list(Transaction.objects.filter(event_id=obj.pk).select_related("reward").order_by("id"))
            pending = list(
                WalletLine.objects.filter(event_id=obj.pk, state=WalletLine.State.PENDING).select_related("reward")
            )
            obj._admin_moved = (rows, pending)
        return obj._admin_moved

    # ---- actions ------------------------------------------------------------------------------------

    @admin.action(description="Fulfill selected held events", permissions=["fulfill"])
    def fulfill_events(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda e: services.event_fulfill(event_id=e.pk, source=Source.ADMIN, actor=request.user),
            "fulfilled",
            "event.fulfill",
        )

    @admin.action(description="Reverse or cancel selected events…", permissions=["reverse"])
    def reverse_events(self, request, queryset):
        if "apply" in request.POST:
            form = ReverseForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                self._run(
                    request,
                    queryset,
                    lambda e: services.event_reverse(
                        event_id=e.pk, reason=reason, source=Source.ADMIN, actor=request.user
                    ),
                    "reversed",
                    "event.reverse",
                    reason=reason,
                )
                return None
        else:
            form = ReverseForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Reverse events",
            "events": queryset,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/events/reverse_confirmation.html", context)

    def has_reverse_permission(self, request):
        return request.user.has_perm("events.reverse_event")

    def has_fulfill_permission(self, request):
        return request.user.has_perm("events.fulfill_event")

    def _run(self, request, queryset, call, verb, action, reason=""):
        """Each event on its own, in its own transaction with its audit entry: one message per
        event, saying what it became or why it did not."""
        for event in queryset:
            try:
                with audited(
                    hidden=Event.AUDIT_HIDDEN,
                    actor=request.user,
                    source=AuditSource.ADMIN,
                    action=action,
                    obj=event,
                    reason=reason,
                ) as entry:
                    entry.obj = call(event)
            except DomainError as exc:
                self.message_user(request, f"{event.pk}: not {verb}: {exc.details}", messages.ERROR)
            else:
                self.message_user(request, f"{event.pk}: {verb}, now {entry.obj.status}.", messages.SUCCESS)

    # ---- the adjustment page --------------------------------------------------------------------------

    def adjust_view(self, request):
        """Credit or debit a customer's reward by hand (events.services.event_adjust)."""
        if not request.user.has_perm("events.adjust_balance"):
            raise PermissionDenied
        form = AdjustForm(
            request.POST if request.method == "POST" else None,
            initial={"customer": request.GET.get("customer", "")},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                event = services.event_adjust(
                    customer_id=data["customer"],
                    reward_id=data["reward"].pk,
                    amount=data["amount"],
                    reason=data["reason"],
                    expiration_date=data["expiration_date"],
                    brand_id=data["brand"].pk if data["brand"] else None,
                    actor=request.user,
                    source=AuditSource.ADMIN,
                )
            except DomainError as exc:
                form.add_service_error(exc)
            else:
                verb = "credited" if data["amount"] > 0 else "debited"
                self.message_user(
                    request,
                    f"{abs(data['amount'])} {data['reward'].name} {verb} to {event.customer_id} (event {event.pk}).",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:events_event_change", args=[quote(event.pk)]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust a customer's balance",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/events/adjust.html", context)
