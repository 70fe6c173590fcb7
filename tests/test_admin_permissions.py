"""Who may do what in the back office: the ledger is read-only for everyone, superusers included."""

import pytest
from django.urls import reverse

from tests.helpers import emit
from wallets.models import Transaction

pytestmark = pytest.mark.django_db


def test_ledger_rows_are_read_only_for_a_superuser_too(admin_client, customer, brand, stars, star_campaign):
    emit(customer, brand, value=30)
    row = Transaction.objects.get()
    before = (row.amount, row.type)

    assert admin_client.get(reverse("admin:wallets_transaction_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:wallets_transaction_add")).status_code == 403
    change = reverse("admin:wallets_transaction_change", args=[row.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and b'name="amount"' not in page.content  # a view, no form field
    admin_client.post(change, {"amount": "999", "type": "ADJUSTMENT"})
    assert (
        admin_client.post(reverse("admin:wallets_transaction_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    row.refresh_from_db()
    assert (row.amount, row.type) == before and Transaction.objects.count() == 1
