"""Members and money: customers, their metrics, wallets, wallet lines, the ledger and the totals.

The ledger (`Transaction`) is append-only: rows are never updated or deleted. `WalletTotal` is a
cache of the ledger kept in the same transaction that writes it; `manage.py verify_ledger`
rebuilds it from the rows. The event that caused a movement is stored as a plain indexed UUID so
that this app never imports `events`.
"""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from campaigns.models import ApiKey, Brand, Campaign, Reward, Tier, amount_field
from core.models import TimeStampedModel


class Customer(TimeStampedModel):
    """A programme member, with Masivo's profile fields (wallets.profile has their rules).

    `consent` is null until one is recorded: then every purpose is allowed; once recorded it
    holds all the purposes (`{"purposes": {...}, "vendors": {...}, "consent_string", "version",
    "consent_timestamp"}`)."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        INACTIVE = "INACTIVE"

    class Gender(models.TextChoices):
        MALE = "MALE"
        FEMALE = "FEMALE"

    id = models.CharField(primary_key=True, max_length=255)
    name = models.CharField(max_length=255, blank=True, default="")
    email = models.EmailField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    tags = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    registration_date = models.DateTimeField(default=timezone.now)
    dob = models.DateField(null=True, blank=True)  # date of birth (BIRTHDAY events)
    gender = models.CharField(max_length=8, choices=Gender.choices, blank=True, default="")
    document_type = models.CharField(max_length=50, blank=True, default="")  # with document_number, or neither
    document_number = models.CharField(max_length=50, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")  # free text, as Masivo's
    platforms = models.JSONField(default=list, blank=True)  # distinct strings
    is_anonymous = models.BooleanField(default=False)
    referral_code = models.CharField(max_length=255, blank=True, default="")  # the code it registered with
    consent = models.JSONField(null=True, blank=True, default=None)
    # set when it moved in from another platform (importing: POST /customers/migrate, import_programme)
    imported_at = models.DateTimeField(null=True, blank=True, editable=False)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="customers")  # the base tier at first
    # The API key that registered it (a brand-restricted key lists the customers it registered).
    registered_by = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="registered_customers", editable=False
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.id


class Wallet(TimeStampedModel):
    """Exactly one per customer. Its row is the lock every balance change takes first."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="wallet")

    def __str__(self) -> str:
        return f"wallet of {self.customer_id}"


class WalletLine(TimeStampedModel):
    """One lot of one reward. PENDING lines (their event is held) have remaining 0 until the
    event is fulfilled. A line that is EXPIRED or REVERSED while a held event still reserves part
    of it keeps exactly that reserved part as remaining until the hold ends."""

    class State(models.TextChoices):
        PENDING = "PENDING"
        AVAILABLE = "AVAILABLE"
        EXPIRED = "EXPIRED"
        REVERSED = "REVERSED"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="lines")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rule_id = models.CharField(max_length=64, blank=True, default="")
    budgeted = models.BooleanField(default=False)  # counted against its campaign's budget
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    event_id = models.UUIDField(null=True, blank=True, db_index=True)
    amount = amount_field()
    remaining = amount_field(default=0)
    reserved = amount_field(default=0)
    state = models.CharField(max_length=16, choices=State.choices)
    issued_at = models.DateTimeField()
    expiration_date = models.DateTimeField(null=True, blank=True)
    reservation_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["wallet", "reward", "state"]),
            models.Index(fields=["state", "expiration_date"], condition=Q(state="AVAILABLE"), name="line_due_idx"),
            # The lines a wallet read looks at (wallets.selectors.wallet_view): those with something
            # left. A spent line stays AVAILABLE with remaining 0, so without the second condition a
            # read would cost as much as the wallet's history.
            models.Index(
                fields=["wallet", "reward"], condition=Q(state="AVAILABLE", remaining__gt=0), name="line_live_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="line_amount_gt_0"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="line_remaining_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="line_reserved_gte_0"),
            models.CheckConstraint(condition=Q(reserved__lte=F("remaining")), name="line_reserved_lte_remaining"),
        ]

    def __str__(self) -> str:
        return f"line {self.pk}: {self.remaining}/{self.amount} {self.state}"

    @property
    def free(self):
        return self.remaining - self.reserved


class Transaction(models.Model):
    """An immutable ledger row. `amount` is signed.

    ACCUMULATION, REDEMPTION, EXPIRATION, REVERSAL, ADJUSTMENT and MIGRATION change a line's `remaining`
    (or, with no line, the wallet's debt). RESERVATION and RELEASE change a line's `reserved`.
    """

    class Type(models.TextChoices):
        ACCUMULATION = "ACCUMULATION"
        REDEMPTION = "REDEMPTION"
        RESERVATION = "RESERVATION"
        RELEASE = "RELEASE"
        EXPIRATION = "EXPIRATION"
        REVERSAL = "REVERSAL"
        ADJUSTMENT = "ADJUSTMENT"
        MIGRATION = "MIGRATION"  # a balance brought from another platform (importing)

    RESERVATION_TYPES = (Type.RESERVATION, Type.RELEASE)

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=16, choices=Type.choices)
    amount = amount_field()
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(WalletLine, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    event_id = models.UUIDField(null=True, blank=True, db_index=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cost = amount_field(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["wallet", "reward", "id"])]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="transaction_amount_not_0")]

    def __str__(self) -> str:
        return f"{self.type} {self.amount}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("ledger rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ledger rows are append-only")


class WalletTotal(models.Model):
    """The ledger summed per wallet and reward, kept in the same transaction as the rows.

    balance  = sum of non-reservation rows (= remaining over lines - debt)
    reserved = sum of RESERVATION and RELEASE rows (= reserved over lines)
    debt     = -(sum of rows with no line): points reversed after they were spent
    pending  = amount of PENDING lines (held events' accumulations; no ledger row yet)
    Spendable `total` = balance - reserved, less what sits on lines already past their date.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="totals")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="+")
    balance = amount_field(default=0)
    reserved = amount_field(default=0)
    debt = amount_field(default=0)
    pending = amount_field(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wallet", "reward"], name="one_total_per_wallet_reward"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="total_reserved_gte_0"),
            models.CheckConstraint(condition=Q(debt__gte=0), name="total_debt_gte_0"),
            models.CheckConstraint(condition=Q(pending__gte=0), name="total_pending_gte_0"),
        ]


class MetricBucket(models.Model):
    """A customer's metrics for one month of the programme's time zone at one brand (the brand
    of the events counted). Only RESOLVED events add to it (the engine's TIER_ADJUSTMENT events
    excepted); their reversal subtracts what they added. Programme-wide figures (what campaign
    rules and unrestricted keys see) add up every brand's buckets; a brand-restricted key sees
    its brands' only. A bucket without a brand holds figures of unknown brand (imported)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="metric_buckets")
    month = models.DateField()  # first day of the month
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="metric_buckets")
    number_of_purchases = models.IntegerField(default=0)
    spend_total = amount_field(default=0)
    events = models.JSONField(default=dict)  # {event type: count}
    last_visit = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["month"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "month", "brand"],
                condition=Q(brand__isnull=False),
                name="one_bucket_per_brand_month",
            ),
            models.UniqueConstraint(
                fields=["customer", "month"], condition=Q(brand__isnull=True), name="one_brandless_bucket_per_month"
            ),
        ]
