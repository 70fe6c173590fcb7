"""Import jobs in the back office: read-only (the migration API and `import_programme` write
them), with each record that was not imported and why."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin
from importing.models import HistoricalTransaction, ImportJob

ERRORS_SHOWN = 200


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "status", "total", "processed", "imported", "skipped", "failed", "api_key")
    list_filter = ("kind", "status", "created_at")
    search_fields = ("=id",)
    date_hierarchy = "created_at"
    fields = (
        "id",
        "kind",
        "status",
        "api_key",
        "brands",
        ("total", "processed", "imported", "skipped", "failed"),
        ("created_at", "started_at", "finished_at"),
        "error",
        "record_errors",
    )
    readonly_fields = [name for entry in fields for name in (entry if isinstance(entry, tuple) else (entry,))]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("records").select_related("api_key")

    @admin.display(description="records not imported")
    def record_errors(self, obj):
        if not obj.errors:
            return "none"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.get("index"), e.get("id"), e.get("code"), e.get("message")) for e in obj.errors[:ERRORS_SHOWN]),
        )
        more = f" (the first {ERRORS_SHOWN} of {len(obj.errors)})" if len(obj.errors) > ERRORS_SHOWN else ""
        return format_html(
            "<table><tr><th>record</th><th>key</th><th>code</th><th>why</th></tr>{}</table>{}", rows, more
        )


@admin.register(HistoricalTransaction)
class HistoricalTransactionAdmin(ReadOnlyAdmin):
    """A migrated customer's history from the platform it came from (records, not movements)."""

    list_display = ("created_at", "customer", "type", "amount", "reward", "brand", "key")
    list_filter = ("type", "created_at")
    search_fields = ("=customer__id", "=key")
    date_hierarchy = "created_at"
    list_select_related = ("reward", "brand")
    fields = ("key", "customer", "type", "amount", "reward", "brand", "created_at", "details")
    readonly_fields = fields
    raw_id_fields = ("customer",)
