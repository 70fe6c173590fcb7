"""Members and money in the back office. Customers are added by customer_register (with their
wallet and REGISTRATION event, as the API registers them) and edited by customer_update, through
campaigns.forms.ServiceAdmin (refusals are form errors; every manual write is audited). Wallets,
lines, ledger rows and metrics are read-only: money moves only through the events' services
(the "Adjust balance…" button leads to the events admin's adjustment page).

The customer's page explains its balance: totals per reward, every line (campaign, event,
dates, amount, remaining, reserved, state), its tier and metrics, its latest events and ledger
rows, each list bounded and each in one query (select_related), so the page costs the same
number of queries however long the history. Events are reached through the reverse relation
`customer.events` and admin URL names: this app imports nothing of the events app.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from campaigns.forms import ServiceAdmin
from core.admin import ReadOnlyAdmin, ReadOnlyInline
from wallets.models import Customer, MetricBucket, Transaction, Wallet, WalletLine, WalletTotal
from wallets.selectors import customer_metrics, wallet_summary
from wallets.services import customer_id_problem, customer_register, customer_update

LINES, EVENTS, ROWS = 200, 50, 100  # newest shown on a customer's page
PROFILE = ("name", "email", "status", "dob", "gender", "document_type", "document_number", "country")


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


def _template(name: str, **context) -> str:
    return render_to_string(f"admin/wallets/customer/{name}.html", context)


def _admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    """The id is fixed (the API re-keys an anonymous customer, not the admin); the tier is the
    engine's (worked out from the tiers' entry conditions after each event): neither is on the
    change form. Tags are edited as a whole here: a key the operator removed is removed."""

    list_display = ("id", "name", "email", "status", "registration_date")
    list_filter = ("status",)
    search_fields = ("id", "name", "email")
    list_select_related = ("tier",)
    readonly_fields = (
        "current_tier",
        "adjust_balance",
        "wallet_totals",
        "wallet_lines",
        "metrics",
        "latest_events",
        "latest_transactions",
    )
    audit_name, fixed_fields = "customer", ("id", "registration_date")
    error_fields = {"customer_exists": "id", "document": "document_type"}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wallet", "tier")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CustomerAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": CustomerAddForm.Meta.fields})]
        return [
            (None, {"fields": ("id", "registration_date", "current_tier", *PROFILE, "tags", "metadata")}),
            ("Balance", {"fields": ("adjust_balance", "wallet_totals", "wallet_lines")}),
            ("Metrics", {"fields": ("metrics",)}),
            ("Activity", {"fields": ("latest_events", "latest_transactions")}),
            ("Audit", {"fields": ("audit_trail",)}),
        ]

    def create(self, request, data):
        return customer_register(**{name: value for name, value in data.items() if value is not None})

    def update(self, request, obj, data):
        if "tags" in data:  # customer_update merges tags: the keys removed on the form go as None
            stored = Customer.objects.filter(pk=obj.pk).values_list("tags", flat=True).first() or {}
            data = {**data, "tags": {**dict.fromkeys(set(stored) - set(data["tags"] or {})), **(data["tags"] or {})}}
        return customer_update(customer_id=obj.pk, **data)

    def has_delete_permission(self, request, obj=None):
        return False  # a member's ledger is kept: set the customer INACTIVE instead

    # ---- the page that explains a balance ------------------------------------------------------------

    @admin.display(description="tier")
    def current_tier(self, obj):
        return format_html(
            '{}<div class="help">Set by the engine from the tiers\' entry conditions after each event; '
            "a tier change by hand is not allowed here.</div>",
            obj.tier,
        )

    @admin.display(description="")
    def adjust_balance(self, obj):
        try:
            url = _admin_url("events_event_adjust")
        except NoReverseMatch:  # the events admin has no adjustment page: no button
            return "-"
        return format_html('<a class="button" href="{}?{}">Adjust balance…</a>', url, urlencode({"customer": obj.pk}))

    def _summary(self, obj):
        if not hasattr(obj, "_wallet_summary"):
            obj._wallet_summary = wallet_summary(wallet_id=obj.wallet.pk, now=timezone.now(), with_lines=False)
        return obj._wallet_summary

    @admin.display(description="wallet totals")
    def wallet_totals(self, obj):
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

    @admin.display(description=f"wallet lines (newest {LINES}, every state)")
    def wallet_lines(self, obj):
        lines = list(
            WalletLine.objects.filter(wallet_id=obj.wallet.pk)
            .select_related("reward", "campaign")
            .order_by("-id")[:LINES]
        )
        for line in lines:
            line.event_url = line.event_id and _admin_url("events_event_change", line.event_id)
            line.campaign_url = line.campaign_id and _admin_url("campaigns_campaign_change", line.campaign_id)
        return _template("lines", lines=lines)

    @admin.display(description="metrics (programme-wide)")
    def metrics(self, obj):
        periods = customer_metrics(customer_id=obj.pk, now=timezone.now())
        return _template("metrics", periods=periods)

    @admin.display(description=f"latest events (newest {EVENTS})")
    def latest_events(self, obj):
        events = list(obj.events.order_by("-issued_at", "-id").values("id", "type_id", "status", "issued_at")[:EVENTS])
        for event in events:
            event["url"] = _admin_url("events_event_change", event["id"])
        every = _admin_url("events_event_changelist") + "?" + urlencode({"customer__id": obj.pk})
        return _template("events", events=events, every=every)

    @admin.display(description=f"latest ledger rows (newest {ROWS})")
    def latest_transactions(self, obj):
        rows = list(Transaction.objects.filter(wallet_id=obj.wallet.pk).select_related("reward").order_by("-id")[:ROWS])
        for row in rows:
            row.event_url = row.event_id and _admin_url("events_event_change", row.event_id)
        every = _admin_url("wallets_transaction_changelist") + "?" + urlencode({"wallet__customer__id": obj.pk})
        return _template("transactions", rows=rows, every=every)


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

    def lookup_allowed(self, lookup, value, request=None):
        """`?wallet__customer__id=<id>`: one customer's rows (the link on the customer's page)."""
        return lookup == "wallet__customer__id" or super().lookup_allowed(lookup, value, request)


@admin.register(MetricBucket)
class MetricBucketAdmin(ReadOnlyAdmin):
    list_display = ("customer", "month", "number_of_purchases", "spend_total", "last_visit")
    search_fields = ("customer__id",)
