"""On PostgreSQL the ledger refuses TRUNCATE as it refuses UPDATE and DELETE. Row triggers never
fire on TRUNCATE, so this is a statement trigger. The one way through is the session setting
`loyalty.allow_truncate = on`, which only the test settings set (Django's test flush empties
every table with TRUNCATE between transactional tests); nothing in the engine sets it."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallets_transaction_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('loyalty.allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'wallets_transaction is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallets_transaction_no_truncate
    BEFORE TRUNCATE ON wallets_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION wallets_transaction_no_truncate();
"""
DROP = """
DROP TRIGGER IF EXISTS wallets_transaction_no_truncate ON wallets_transaction;
DROP FUNCTION IF EXISTS wallets_transaction_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)  # no params: the '%' of RAISE is not a placeholder


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0005_customer_tier_required")]
    operations = [migrations.RunPython(forwards, backwards)]
