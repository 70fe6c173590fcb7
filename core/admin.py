"""What every app's back office shares: read-only pages and inlines (ledger rows, histories,
deliveries: written by the services only, shown to operators as they are)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model nobody adds, changes or deletes in the admin; its actions, if any, call services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent, never added or deleted there (set `readonly_fields = fields`)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False
