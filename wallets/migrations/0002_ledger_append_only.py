"""On PostgreSQL the database itself refuses UPDATE and DELETE on ledger rows, whatever code
(or person with psql) tries. SQLite relies on the model's save()/delete() guard."""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallets_transaction_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'wallets_transaction is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallets_transaction_append_only
    BEFORE UPDATE OR DELETE ON wallets_transaction
    FOR EACH ROW EXECUTE FUNCTION wallets_transaction_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS wallets_transaction_append_only ON wallets_transaction;
DROP FUNCTION IF EXISTS wallets_transaction_append_only();
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
    dependencies = [("wallets", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
