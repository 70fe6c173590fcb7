"""Events in the back office: find an event by id, customer or purchase id; see its payload,
result, status history and ledger rows; Fulfill and Reverse call the same services as the API
(Reverse asks for a reason on a confirmation page and needs the `reverse_event` permission)."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.exceptions import DomainError
from core.json import exact_dumps
from events import services
from events.forms import ReverseForm
from events.models import Event, EventTransition
from events.status import Source
from wallets.models import Transaction


class TransitionInline(ReadOnlyInline):
    model = EventTransition
    fields = ("at", "from_status", "to_status", "source", "actor", "reason")
    readonly_fields = fields


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):  # a read-only detail page; the actions below are the only way to act
    list_display = ("id", "type", "status", "customer", "brand", "purchase_id", "fulfilled", "issued_at")
    list_filter = ("status", "type", "brand", "fulfilled", "issued_at")
    search_fields = ("=id", "customer__id", "purchase_id")
    date_hierarchy = "issued_at"
    inlines = [TransitionInline]
    actions = ["fulfill_events", "reverse_events"]
    readonly_fields = (
        "id",
        "customer",
        "brand",
        "type",
        "status",
        "fulfilled",
        "reserve",
        "purchase_id",
        "platform",
        "issued_at",
        "created_at",
        "processing_at",
        "resolved_at",
        "failed_at",
        "cancelled_at",
        "expired_at",
        "reversed_at",
        "reservation_expires_at",
        "reason",
        "error_code",
        "payload",
        "outcome",
        "rewarding_campaigns",
        "ledger_rows",
    )
    exclude = ("data", "result")

    @admin.display(description="payload")
    def payload(self, obj):
        return format_html("<pre>{}</pre>", exact_dumps(obj.data, indent=2, ensure_ascii=False))

    @admin.display(description="result")
    def outcome(self, obj):
        return format_html("<pre>{}</pre>", exact_dumps(obj.result, indent=2, ensure_ascii=False))

    @admin.display(description="ledger rows")
    def ledger_rows(self, obj):
        rows = Transaction.objects.filter(event_id=obj.pk).select_related("reward").order_by("id")
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

    @admin.action(description="Fulfill selected held events", permissions=["fulfill"])
    def fulfill_events(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda e: services.event_fulfill(event_id=e.pk, source=Source.ADMIN, actor=request.user),
            "fulfilled",
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

    def _run(self, request, queryset, call, verb):
        done = 0
        for event in queryset:
            try:
                call(event)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{event.pk}: {exc.details}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} event(s) {verb}.", messages.SUCCESS)
