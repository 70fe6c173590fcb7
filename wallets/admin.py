from django.contrib import admin

from wallets.models import Customer, MetricBucket, Transaction, Wallet, WalletLine, WalletTotal


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WalletTotalInline(admin.TabularInline):
    model = WalletTotal
    fields = ("reward", "balance", "reserved", "pending", "debt")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "email", "status", "registration_date")
    list_filter = ("status",)
    search_fields = ("id", "name", "email")


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "created_at")
    search_fields = ("customer__id",)
    inlines = [WalletTotalInline]


@admin.register(WalletLine)
class WalletLineAdmin(ReadOnlyAdmin):
    list_display = ("id", "wallet", "reward", "amount", "remaining", "reserved", "state", "expiration_date")
    list_filter = ("state", "reward")
    search_fields = ("wallet__customer__id", "event_id")


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "amount", "reward", "wallet", "line", "event_id", "created_at")
    list_filter = ("type", "reward")
    search_fields = ("wallet__customer__id", "event_id")


@admin.register(MetricBucket)
class MetricBucketAdmin(ReadOnlyAdmin):
    list_display = ("customer", "month", "number_of_purchases", "spend_total", "last_visit")
    search_fields = ("customer__id",)
