"""The dashboard's summary tables (issue 10, item 6), filled by backoffice.services.dashboard_rollup.

Both are rolled up from append-only tables (ledger rows, event transitions): a row written
once never changes, so a completed day's figures never change either. Each rollup run
recomputes only a recent window of days (today and yesterday by default) and leaves older
days as they are; `manage.py rollup_dashboard --days N` rebuilds further back.
"""

from django.db import models

from campaigns.models import amount_field


class LedgerDay(models.Model):
    """The ledger rows of one day (programme time zone) of one type, reward and campaign:
    the sum of their positive amounts (`credit`), of their negative ones (`debit`) and how many."""

    day = models.DateField()
    type = models.CharField(max_length=16)
    reward_id = models.UUIDField()
    campaign_id = models.UUIDField(null=True, blank=True)
    credit = amount_field(default=0)
    debit = amount_field(default=0)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        # One row per (day, type, reward, campaign) is the rollup's doing (it runs under the
        # RollupRun lock); no unique constraint, since campaign_id is null for rows of no campaign.
        indexes = [models.Index(fields=["day", "type"])]


class EventStatusDay(models.Model):
    """How many events moved to `status` on `day` (programme time zone): the status changes of
    that day, counted from events.EventTransition (an event emitted RESOLVED counts once as
    RESOLVED; one held then fulfilled counts as PENDING on one day and RESOLVED on another)."""

    day = models.DateField()
    status = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "status"], name="one_status_per_day")]


class RollupRun(models.Model):
    """The one row (pk 1) saying when the rollup last ran: its lock serialises two runs."""

    finished_at = models.DateTimeField(null=True, blank=True)
    first_day = models.DateField(null=True, blank=True)  # the window the last run recomputed
    last_day = models.DateField(null=True, blank=True)
    took_ms = models.PositiveIntegerField(default=0)
