"""Webhook endpoints (data, managed by API and admin), the outbox of messages to deliver to them,
and each attempt made.

A `WebhookDelivery` is one message for one endpoint: written by the service that makes the
change it announces, in the same transaction (webhooks.outbox), so it exists if and only if the
change was committed. Its id is the `webhook-id` header: the same on every retry, so receivers
de-duplicate by it. Its body is rendered once, when the change is made, and every attempt sends
those bytes.
"""

import base64
import secrets
import uuid

from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel

SECRET_PREFIX = "whsec_"  # Standard Webhooks' form: whsec_ + base64 of the key bytes


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list, help_text="The event names this endpoint receives.")
    # A plain id, not a foreign key: deleting a brand never deletes its endpoints' history, and
    # an endpoint of a deleted brand simply matches nothing (its id is checked when it is set).
    brand_id = models.CharField(
        max_length=64, blank=True, default="", help_text="Only this brand's events; empty: every brand's."
    )
    description = models.CharField(max_length=255, blank=True, default="")
    is_active = models.BooleanField(default=True)
    secret = models.CharField(max_length=128, default=new_secret, editable=False)
    # After a rotation the old secret signs beside the new one until this moment (24 hours).
    previous_secret = models.CharField(max_length=128, blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Since when every attempt failed (none succeeded in between); None while healthy.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=255, blank=True, default="", editable=False)
    # DELETE keeps the row (its deliveries stay visible, and an emit that read the endpoints a
    # moment before the delete still writes a valid delivery row); a deleted endpoint gets nothing.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "PENDING"  # to be sent at next_attempt_at (or being sent: the claim moved it on)
        DELIVERED = "DELIVERED"  # a 2xx answered
        FAILED = "FAILED"  # every attempt of the schedule failed (an operator may redeliver)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    brand_id = models.CharField(max_length=64, blank=True, default="")  # the change's brand, if any
    body = models.TextField()  # the exact bytes sent (UTF-8), signed at each attempt
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="PENDING"), name="webhook_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id} ({self.status})"

    @property
    def message_id(self) -> str:
        """The `webhook-id` header: one per message, the same on every retry."""
        return f"msg_{self.pk.hex}"


class WebhookAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    response_excerpt = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.response_code or self.error} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


class ExpiryNotice(models.Model):
    """A wallet line already announced as REWARDS_EXPIRING (each line is announced once)."""

    line_id = models.BigIntegerField(primary_key=True)
    announced_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"line {self.line_id}"
