"""Import jobs and imported history in the back office: read-only pages (issue 14)."""

import pytest
from django.urls import reverse

from importing import services
from importing.models import ImportJob

pytestmark = pytest.mark.django_db


def test_a_job_shows_its_progress_and_every_record_not_imported(admin_client, customer, brand):
    job = services.import_job_create(
        kind="events",
        records=[{"customer_id": "nobody", "brand_id": "0001", "type": "SIGN_UP", "issued_at": "2024-01-01"}],
    )
    services.import_job_run(job_id=job.pk)

    listing = admin_client.get(reverse("admin:importing_importjob_changelist"))
    page = admin_client.get(reverse("admin:importing_importjob_change", args=[job.pk]))

    assert listing.status_code == 200 and "DONE" in listing.content.decode()
    assert page.status_code == 200
    body = page.content.decode()
    assert "unknown_customer" in body and "customer &#x27;nobody&#x27; not found" in body
    assert ImportJob.objects.get().status == "DONE"


def test_nobody_adds_changes_or_deletes_a_job_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:importing_importjob_add")).status_code == 403
    assert admin_client.get(reverse("admin:importing_historicaltransaction_add")).status_code == 403
