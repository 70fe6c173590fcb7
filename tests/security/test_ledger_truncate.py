"""Item 19 of "Brand isolation and production hardening": on PostgreSQL the ledger refuses
TRUNCATE as it refuses UPDATE and DELETE (a statement trigger; the row triggers never see a
TRUNCATE). The test settings let the test runner's flush through with a session setting
(`loyalty.allow_truncate`), so this test switches it off for its own transaction."""

import pytest
from django.db import DatabaseError, connection, transaction

from tests.helpers import emit
from wallets.models import Transaction

pytestmark = pytest.mark.django_db


def test_postgres_refuses_truncate_of_the_ledger(customer, brand, star_campaign):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only triggers exist on PostgreSQL only")
    emit(customer, brand, value=10)
    rows = Transaction.objects.count()

    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own deferred FK checks
            cursor.execute("SET LOCAL loyalty.allow_truncate = 'off'")
            cursor.execute("TRUNCATE wallets_transaction CASCADE")

    assert Transaction.objects.count() == rows == 1
