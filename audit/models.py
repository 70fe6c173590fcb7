"""The audit trail: one row per manual action (an operator in the admin, or a management command):
who, when, what, on which object, why, and the object before and after. Rows are only ever added
(audit.services.audit_record); the admin shows them read-only."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.json import DecimalJSONDecoder, ExactJSONEncoder


class AuditEntry(models.Model):
    class Source(models.TextChoices):
        ADMIN = "admin", "admin"
        COMMAND = "command", "management command"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="kept when the user is deleted")
    source = models.CharField(max_length=16, choices=Source.choices)
    action = models.CharField(max_length=64, db_index=True, help_text="e.g. campaign.update, event.reverse")
    object_type = models.CharField(max_length=64, help_text="app_label.model")
    object_id = models.CharField(max_length=255)
    object_repr = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder)
    after = models.JSONField(null=True, blank=True, encoder=ExactJSONEncoder, decoder=DecimalJSONDecoder)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_type} {self.object_id}"
