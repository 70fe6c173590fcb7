"""Moving a programme in from another platform (issue "Bring your programme", SPEC section 8,
Migration): the jobs the migration API queues, and what an import keeps to apply nothing twice.

A customer is imported once (wallets.Customer.imported_at marks it); an event or a historical
transaction once per record key (the unique `key` below): sending the same batch again, or
running `import_programme` again on the same file, creates nothing twice.
"""

import uuid

from django.db import models

from campaigns.models import ApiKey, Brand, Reward, amount_field
from core.json import DecimalJSONDecoder, StoredJSONEncoder
from events.models import Event
from wallets.models import Customer


class ImportJob(models.Model):
    """One call of the migration API (at most 1,000 records), run by a Celery worker."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers"
        EVENTS = "events"
        TRANSACTIONS = "transactions"

    class Status(models.TextChoices):
        QUEUED = "QUEUED"
        RUNNING = "RUNNING"
        DONE = "DONE"
        FAILED = "FAILED"  # the job itself broke (a bug or the database): `error` says why

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    brands = models.JSONField(null=True, blank=True)  # the key's brands when it was sent (null: every brand)
    # what is still to import (emptied when done), its numbers exact decimals as they were sent
    records = models.JSONField(default=list, blank=True, encoder=StoredJSONEncoder, decoder=DecimalJSONDecoder)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # already imported
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"index", "id", "code", "message"}]
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.id} ({self.status})"


class ImportedEvent(models.Model):
    """A historical event imported under its record key (the record's `id`, else its brand,
    type and purchase id, else a digest of the record)."""

    key = models.CharField(max_length=300, unique=True)
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="+")


class HistoricalTransaction(models.Model):
    """A ledger row of the customer's history on the platform it came from: a record, not a
    movement (the wallet's balance came with the customer as MIGRATION rows, which these must sum
    to). Exported with the ledger; never counted in a total."""

    key = models.CharField(max_length=300, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="+")
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=32)
    amount = amount_field()
    created_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True, encoder=StoredJSONEncoder, decoder=DecimalJSONDecoder)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["customer", "reward"])]
