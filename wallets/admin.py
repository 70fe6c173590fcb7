from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from wallets.models import Customer, MetricBucket, Transaction, Wallet, WalletLine, WalletTotal
from wallets.selectors import wallet_summary
from wallets.services import customer_id_problem, customer_register


class WalletTotalInline(ReadOnlyInline):
    model = WalletTotal
    fields = ("reward", "balance", "reserved", "pending", "debt")
    readonly_fields = fields


class CustomerAddForm(forms.ModelForm):
    """Adding a customer: what customer_register takes (the service registers it, with its wallet
    and its REGISTRATION event at the programme's default brand)."""

    class Meta:
        model = Customer
        fields = ("id", "name", "email", "status", "registration_date", "dob", "gender", "tags", "metadata")

    def clean_id(self):
        problem = customer_id_problem(self.cleaned_data["id"])
        if problem:
            raise forms.ValidationError(problem)
        return self.cleaned_data["id"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "email", "status", "registration_date")
    list_filter = ("status",)
    search_fields = ("id", "name", "email")
    readonly_fields = ("wallet_totals", "wallet_lines")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CustomerAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return CustomerAddForm.Meta.fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        """A new customer is registered by the service, as the API registers one."""
        if change:
            return super().save_model(request, obj, form, change)
        data = {name: value for name, value in form.cleaned_data.items() if value is not None}
        customer = customer_register(**data)
        obj.pk, obj.tier_id, obj.registration_date = customer.pk, customer.tier_id, customer.registration_date
        obj._state.adding = False

    def _summary(self, obj):
        if not hasattr(obj, "_wallet_summary"):
            obj._wallet_summary = wallet_summary(wallet_id=obj.wallet.pk, now=timezone.now(), with_lines=False)
        return obj._wallet_summary

    @admin.display(description="wallet totals")
    def wallet_totals(self, obj):
        if obj.pk is None or not hasattr(obj, "wallet"):
            return "-"
        rows = self._summary(obj)["totals"]
        if not rows:
            return "no rewards yet"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    t["reward"]["name"],
                    t["total"],
                    t["reserved"],
                    t["pending"],
                    t["debt"],
                    t["next_expiration_date"] or "-",
                    t["expiring_amount"],
                )
                for t in rows
            ),
        )
        return format_html(
            "<table><tr><th>reward</th><th>total</th><th>reserved</th><th>pending</th><th>debt</th>"
            "<th>next expiration</th><th>expiring</th></tr>{}</table>",
            body,
        )

    @admin.display(description="wallet lines (newest 200, every state)")
    def wallet_lines(self, obj):
        if obj.pk is None or not hasattr(obj, "wallet"):
            return "-"
        lines = WalletLine.objects.filter(wallet=obj.wallet).select_related("reward").order_by("-id")[:200]
        if not lines:
            return "none"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    line.pk,
                    line.reward.name,
                    line.amount,
                    line.remaining,
                    line.reserved,
                    line.state,
                    line.expiration_date or "never",
                    line.event_id,
                )
                for line in lines
            ),
        )
        return format_html(
            "<table><tr><th>line</th><th>reward</th><th>amount</th><th>remaining</th><th>reserved</th>"
            "<th>state</th><th>expires</th><th>event</th></tr>{}</table>",
            body,
        )


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
