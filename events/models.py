"""Customer events and their lifecycle (SPEC section 2). The transition table lives here;
`events.status.event_transition` is the only code that moves an event along it."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from campaigns.models import ApiKey, Brand, EventType
from core.exceptions import InvalidTransition
from core.json import DecimalJSONDecoder, ExactJSONEncoder, StoredJSONEncoder
from wallets.models import Customer


class Event(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        PROCESSING = "PROCESSING"
        RESOLVED = "RESOLVED"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"
        EXPIRED = "EXPIRED"
        REVERSED = "REVERSED"

    NEW = ""  # the "from" of an event's first transition (it is being inserted)
    # PENDING is both "held" (fulfilled: false) and "queued" (?async=true): a queued event goes
    # PENDING -> PROCESSING (the worker) -> RESOLVED, or back to PENDING when it is a held one.
    TRANSITIONS = {
        NEW: {Status.PENDING, Status.RESOLVED, Status.FAILED},
        Status.PENDING: {Status.PROCESSING, Status.RESOLVED, Status.CANCELLED, Status.EXPIRED},
        Status.PROCESSING: {Status.PENDING, Status.RESOLVED, Status.FAILED},
        Status.RESOLVED: {Status.REVERSED},
    }
    LIVE = (Status.PENDING, Status.PROCESSING, Status.RESOLVED)
    TIMESTAMP_OF = {
        Status.PROCESSING: "processing_at",
        Status.RESOLVED: "resolved_at",
        Status.FAILED: "failed_at",
        Status.CANCELLED: "cancelled_at",
        Status.EXPIRED: "expired_at",
        Status.REVERSED: "reversed_at",
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="events")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="events")
    type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="events", db_column="type")
    status = models.CharField(max_length=16, choices=Status.choices)
    fulfilled = models.BooleanField(default=True)
    reserve = models.PositiveSmallIntegerField(default=1)
    # ?async=true: stored PENDING and queued until a worker applies it (event_process_queued)
    queued = models.BooleanField(default=False)
    queue_message_id = models.CharField(max_length=64, blank=True, default="")
    # `fulfill_expired_events`: the expired held event this one applies late (at most once)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by")
    purchase_id = models.CharField(max_length=255, null=True, blank=True)
    platform = models.CharField(max_length=255, blank=True, default="")
    # Amounts are stored as exact decimal numbers and read back as Decimals (core.json).
    data = models.JSONField(default=dict, encoder=StoredJSONEncoder, decoder=DecimalJSONDecoder)  # the payload
    result = models.JSONField(  # accumulations, redemptions, wallet, customer
        default=dict, blank=True, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder
    )
    rewarding_campaigns = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True, default="")  # why it failed, was cancelled or reversed
    error_code = models.CharField(max_length=64, blank=True, default="")
    issued_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reservation_expires_at = models.DateTimeField(null=True, blank=True)

    # left out of the audit trail's before/after snapshots (the status, dates and reason tell
    # what an operator changed; the payload and result never change and can be large)
    AUDIT_HIDDEN = ("data", "result")

    class Meta:
        ordering = ["-issued_at", "-created_at"]
        permissions = [
            ("reverse_event", "Can reverse or cancel events"),
            ("fulfill_event", "Can fulfill events"),
            ("adjust_balance", "Can adjust a customer's balance by hand"),
        ]
        indexes = [
            models.Index(fields=["customer", "issued_at"]),
            models.Index(fields=["purchase_id"]),
            models.Index(
                fields=["reservation_expires_at"],
                condition=Q(status="PENDING", fulfilled=False, queued=False),
                name="event_held_due_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "type", "purchase_id"],
                condition=Q(status__in=["PENDING", "PROCESSING", "RESOLVED"]) & Q(purchase_id__isnull=False),
                name="one_live_event_per_purchase",
            ),
            models.CheckConstraint(condition=Q(reserve__gte=1) & Q(reserve__lte=365), name="event_reserve_1_365"),
        ]

    def __str__(self) -> str:
        return f"{self.type_id} {self.id} ({self.status})"

    def ensure_can_become(self, status: str, *, action: str) -> None:
        """Raises InvalidTransition unless the table allows this event to move to `status`."""
        if status not in self.TRANSITIONS.get(self.status, set()):
            raise InvalidTransition(action=action, status=self.status)


class EventTransition(models.Model):
    """The status history of an event, with who did it and why (the audit trail)."""

    class Source(models.TextChoices):
        API = "api", "api"
        ADMIN = "admin", "admin"
        COMMAND = "command", "command"
        TASK = "task", "task"
        ENGINE = "engine", "engine"  # the engine's own events (TIER_ADJUSTMENT)
        IMPORT = "import", "import"  # historical events brought from another platform (importing)

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=32, choices=Source.choices, default=Source.API)
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        # the dashboard's rollup reads a window of days (backoffice.services): a range, not a scan
        indexes = [models.Index(fields=["at"], name="eventtransition_at")]


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed for the same key and
    body. Scoped to the API key that sent it (any form of its credential); kept 24 hours (purged by the periodic task).
    The unique constraint, not a lookup, decides which of two concurrent requests runs."""

    scope = models.CharField(max_length=64)  # "key:<API key id>" (SHA-256 of the credential before)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(default=b"")
    content_type = models.CharField(max_length=100, default="application/json")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_record_per_idempotency_key")]


class CustomerCode(models.Model):
    """A customer's one-time code (POST /auth/totp, events.codes): live while unspent and
    unexpired; unique among unspent codes (an expired one is spent when its code is drawn again)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=12)
    metadata = models.JSONField(default=dict, blank=True, encoder=StoredJSONEncoder, decoder=DecimalJSONDecoder)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=Q(used_at__isnull=True), name="one_unspent_code")
        ]


class BirthdayGreeting(models.Model):
    """A customer's BIRTHDAY event of one year was recorded (events.lifecycle): the unique
    constraint makes it once per customer and year, whoever runs the housekeeping."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="birthday_greetings")
    year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "year"], name="one_birthday_a_year")]
