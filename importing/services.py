"""The migration API's jobs: a call's records are checked at once (400 for a record that could
never be imported, 422 for a history that does not reconcile; nothing stored), stored as a QUEUED
job and written by a Celery worker (importing.tasks) in chunks, each chunk one transaction with
the job's progress, so `GET /migrations/{id}` shows how far it got and a worker that dies mid-way
resumes after the last committed chunk when the task is delivered again (acks_late).

    QUEUED --worker--> RUNNING --> DONE (each record imported, skipped or refused: `errors`)
                                \\-> FAILED (the job itself broke: `error`)
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from core.exceptions import BusinessRuleError, InvalidInput, NotFound
from importing.kinds import kind as kind_of
from importing.models import ImportJob
from importing.records import MAX_BATCH, RecordError
from importing.transactions import unreconciled

log = logging.getLogger(__name__)
CHUNK = 250  # records a worker writes per transaction (and progress step)
MAX_ERRORS_SHOWN = 100  # bad records named in a 400 answer (the call has at most MAX_BATCH)


def records_check(*, kind: str, records: list) -> list[dict]:
    """The cleaned records of a call, or InvalidInput naming every record that can never be
    imported, by its place (`{"customers[3]": "balance[0].amount: ..."}`)."""
    if len(records) > MAX_BATCH:
        raise InvalidInput({kind: f"at most {MAX_BATCH} records a call"})
    clean = kind_of(kind).clean
    cleaned, problems = [], {}
    for index, raw in enumerate(records):
        try:
            cleaned.append(clean(raw))
        except RecordError as exc:
            if len(problems) < MAX_ERRORS_SHOWN:
                problems[f"{kind}[{index}]"] = exc.message
    if problems:
        raise InvalidInput(problems)
    return cleaned


def import_job_create(*, kind: str, records: list, api_key=None, brands: set[str] | None = None) -> ImportJob:
    """Check a migration call (records_check; for transactions, the reconciliation of the
    customers already imported: BusinessRuleError `unreconciled` naming each customer and
    difference) and queue it: the job is stored QUEUED and its task sent once the caller's
    transaction commits."""
    cleaned = records_check(kind=kind, records=records)
    if kind == ImportJob.Kind.TRANSACTIONS:
        problems = unreconciled(cleaned)
        if problems:
            raise BusinessRuleError(
                "; ".join(f"customer {cid!r}: " + "; ".join(found) for cid, found in sorted(problems.items())),
                code="unreconciled",
                customers={cid: found for cid, found in sorted(problems.items())},
            )
    job = ImportJob.objects.create(
        kind=kind,
        api_key=api_key,
        brands=sorted(brands) if brands is not None else None,
        records=records,
        total=len(records),
    )
    from importing.tasks import run_import

    transaction.on_commit(lambda: run_import.delay(str(job.pk)))
    return job


def import_job_get(*, job_id, api_key=None, brands: set[str] | None = None) -> ImportJob:
    """A job, for the key that sent it or an unrestricted key; NotFound otherwise (a restricted
    key's view of another key's job is that of an unknown one)."""
    try:
        job = ImportJob.objects.filter(pk=uuid.UUID(str(job_id))).first()
    except ValueError:
        job = None
    if job is None or (brands is not None and (api_key is None or job.api_key_id != api_key.pk)):
        raise NotFound("migration job not found", code="not_found")
    return job


def import_job_run(*, job_id) -> ImportJob | None:
    """Write a queued job, chunk by chunk (a redelivered task goes on from the last committed
    chunk; a finished job is left as it is). Returns the job, or None if there is no such job."""
    while True:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
            if job is None or job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
                return job
            try:
                _chunk_run(job)
            except Exception as exc:  # the job broke, not a record: say so on the job, then re-raise
                failure = exc
            else:
                failure = None
        if failure is not None:
            log.exception("import job %s failed", job_id, exc_info=failure)
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.FAILED, error=f"{type(failure).__name__}: {failure}", finished_at=timezone.now()
            )
            raise failure
        if job.status == ImportJob.Status.DONE:
            return job


def _chunk_run(job: ImportJob) -> None:
    now = timezone.now()
    start = job.processed
    # a customer's history reconciles as a whole (importing.transactions): one chunk for the call
    size = MAX_BATCH if job.kind == ImportJob.Kind.TRANSACTIONS else CHUNK
    raw = job.records[start : start + size]
    kind = kind_of(job.kind)
    brands = set(job.brands) if job.brands is not None else None
    with transaction.atomic():  # the chunk's writes, or none (the job's progress stays where it was)
        result = kind.write([kind.clean(r) for r in raw], api_key=job.api_key, brands=brands, now=now)
    if job.started_at is None:
        job.started_at = now
    job.status = ImportJob.Status.RUNNING
    job.processed = start + len(raw)
    job.imported += result.imported
    job.skipped += len(result.skipped)
    job.failed += len(result.errors)
    job.errors = job.errors + [
        {**issue.as_dict(), "index": issue.index + start}
        for issue in sorted(result.skipped + result.errors, key=lambda i: i.index)
    ]
    if job.processed >= job.total:
        job.status = ImportJob.Status.DONE
        job.finished_at = timezone.now()
        job.records = []
    job.save()
