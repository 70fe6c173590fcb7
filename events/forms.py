"""Admin forms: the reason a reversal asks for, and the manual adjustment page's form. They only
parse input; the services judge it (events.services.event_reverse, event_adjust)."""

from django import forms

from campaigns.models import Brand, Reward


class ReverseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000, strip=True)


class AdjustForm(forms.Form):
    """A manual credit (positive amount) or debit (negative) of one reward of one customer."""

    # the service's names for what each field carries (its InvalidInput details name them)
    SERVICE_NAMES = {"customer_id": "customer", "reward_id": "reward", "brand_id": "brand"}

    customer = forms.CharField(max_length=255, strip=True, help_text="the customer's id")
    reward = forms.ModelChoiceField(queryset=Reward.objects.select_related("brand").order_by("name"))
    amount = forms.DecimalField(
        max_digits=17,
        decimal_places=4,
        help_text="positive to credit, negative to debit; at most the reward's decimals",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        strip=True,
        help_text="why: kept on the event, its history and the audit trail",
    )
    expiration_date = forms.DateTimeField(
        required=False, help_text="credits only: when the points expire (never, if empty)"
    )
    brand = forms.ModelChoiceField(
        queryset=Brand.objects.order_by("id"),
        required=False,
        help_text="the brand it is recorded at (default: the reward's, else the programme's default brand)",
    )

    def add_service_error(self, exc) -> None:
        """Show a service's refusal (a DomainError) on the fields it names, or on the form."""
        details = exc.details if isinstance(exc.details, dict) else None
        if details is None:
            field = {
                "customer_not_found": "customer",
                "reward_not_found": "reward",
                "brand_not_found": "brand",
                "insufficient_balance": "amount",
                "wallet_limit": "amount",
                "event_grant_limit": "amount",
                "redemption_lines_limit": "amount",
            }.get(exc.code)
            self.add_error(field, f"{exc.details} ({exc.code})")
            return
        for name, message in details.items():
            field = self.SERVICE_NAMES.get(name, name)
            self.add_error(field if field in self.fields else None, str(message))
