"""The audit trail in the back office: its own read-only list, and `audit_trail_html(obj)` for
any object's page (a read-only field: `readonly_fields = (..., "audit_trail")` with
`audit_trail = audit_trail_field()`)."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from audit.models import AuditEntry
from audit.services import entries_for
from core.admin import ReadOnlyAdmin
from core.json import exact_dumps


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "source", "action", "object_type", "object_id", "object_repr", "reason")
    list_filter = ("source", "action", "object_type", "at")
    search_fields = ("=object_id", "actor_name", "reason", "object_repr")
    date_hierarchy = "at"
    fields = ("at", "actor_name", "source", "action", "object_type", "object_id", "object_repr", "reason", "changes")
    readonly_fields = fields

    @admin.display(description="before → after")
    def changes(self, obj):
        return changes_html(obj.before, obj.after)


def changes_html(before, after):
    """The fields that differ, one row each (every field when one side is missing)."""
    before, after = before or {}, after or {}
    names = [n for n in dict.fromkeys([*before, *after]) if before.get(n) != after.get(n)]
    if not names:
        return "no field changed"
    body = format_html_join(
        "",
        "<tr><td>{}</td><td><pre>{}</pre></td><td><pre>{}</pre></td></tr>",
        (
            (
                n,
                "-" if n not in before else exact_dumps(before[n], indent=1),
                "-" if n not in after else exact_dumps(after[n], indent=1),
            )
            for n in names
        ),
    )
    return format_html("<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>", body)


def audit_trail_html(obj):
    if obj is None or obj.pk is None:
        return "-"
    rows = list(entries_for(obj))
    if not rows:
        return "no manual action recorded"
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((e.at, e.actor_name, e.source, e.action, e.reason or "-") for e in rows),
    )
    return format_html("<table><tr><th>at</th><th>who</th><th>from</th><th>what</th><th>why</th></tr>{}</table>", body)


def audit_trail_field():
    """A read-only admin field listing the object's audit entries (newest 50)."""
    return admin.display(description="audit trail (manual actions)")(lambda self, obj: audit_trail_html(obj))
