"""The migration API's worker side: each task only calls the service, and is safe to run twice
(acks_late may redeliver it): the job goes on from its last committed chunk, or is left alone
when it is finished."""

from celery import shared_task

from importing import services


@shared_task(name="importing.run_import")
def run_import(job_id: str) -> str | None:
    job = services.import_job_run(job_id=job_id)
    return job.status if job else None
