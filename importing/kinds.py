"""The kinds of import, each a record cleaner and a batch writer with the same signatures
(`clean(raw) -> record`, raising importing.records.RecordError; `write(records, *, api_key=None,
brands=None, now=None) -> BatchResult`), shared by the migration API's jobs and `import_programme`."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Kind(NamedTuple):
    clean: Callable
    write: Callable
    key_field: str  # the field a record's answers name it by (errors, rejects)


def kind(name: str) -> Kind:
    """The cleaner and writer of `name` ("customers", "events", "transactions"); KeyError otherwise."""
    if name == "customers":
        from importing.customers import customer_record_clean, customers_import

        return Kind(customer_record_clean, customers_import, "id")
    if name == "events":
        from importing.events import event_record_clean, events_import

        return Kind(event_record_clean, events_import, "key")
    if name == "transactions":
        from importing.transactions import transaction_record_clean, transactions_import

        return Kind(transaction_record_clean, transactions_import, "key")
    raise KeyError(name)


KINDS = ("customers", "events", "transactions")
