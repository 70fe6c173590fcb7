"""Writes to a customer's profile beyond registration and PATCH (wallets.services has those):
tags upserted and removed, consent recorded, and an anonymous customer identified, optionally
under a new id. Each is one transaction under the customer's wallet lock, through
`customer_update`; the rules of the fields are wallets.profile's.

Re-keying (`customer_identify` with `new_id`) changes the customer's primary key in place, and
every row that references the customer follows in the same transaction: the wallet, the metric
buckets, and the rows of the apps above that point at it (events, ...), found through the
model's reverse relations, so this app names none of them. Ledger rows, lines and totals
reference the wallet, whose id does not change: no ledger row is rewritten. An event's stored
payload and result keep the id it was sent with; its `customer_id` is the new one.

Lock order for a re-key: the rows of the apps above that reference the customer (its events,
which every event service locks before the wallet), then the wallet (`wallet_lock`); the
wallet's own rows (metric buckets) are written under the wallet lock, as always. A transaction
that was waiting for the wallet of the old id finds none and answers `customer_not_found`.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from core.exceptions import Conflict, InvalidInput
from core.unset import UNSET
from wallets.announce import customer_announce
from wallets.locks import wallet_lock
from wallets.models import Customer, MetricBucket, Wallet
from wallets.services import customer_id_problem, customer_update

OWN = (Wallet, MetricBucket)  # written under the wallet lock: never locked before it


def customer_tags_set(*, customer_id: str, tags: dict) -> Customer:
    """Upsert the tags (a key set to None is removed). Raises NotFound, InvalidInput (MAX_TAGS)."""
    return customer_update(customer_id=customer_id, tags=tags)


def customer_tags_remove(*, customer_id: str, keys: list[str]) -> Customer:
    """Remove the tags of these keys (a key the customer lacks is no error). Raises NotFound."""
    return customer_update(customer_id=customer_id, tags=dict.fromkeys(keys))


def customer_consent_set(*, customer_id: str, consent: dict) -> Customer:
    """Record consent over what is stored (wallets.profile.consent_merged). Raises NotFound,
    InvalidInput (MAX_VENDORS)."""
    return customer_update(customer_id=customer_id, consent=consent)


def customer_identify(*, customer_id: str, new_id: str | None = UNSET, **fields: Any) -> Customer:
    """Identify an anonymous customer: set the given fields (name, email, tags, metadata and the
    profile fields), `is_anonymous` false and, with `new_id`, re-key it (module docstring). One
    transaction: the customer's events, then its wallet, locked first. Raises InvalidInput (an
    unreadable `new_id`), NotFound, Conflict (`customer_not_anonymous`; `customer_exists` for a
    `new_id` that is taken)."""
    rekey = new_id not in (UNSET, None, customer_id)
    if rekey and (problem := customer_id_problem(new_id)):
        raise InvalidInput({"new_id": problem})
    previous_id = customer_id
    with transaction.atomic():
        referencing = _referencing(customer_id)
        for rows, _column in referencing:
            if rows.model not in OWN:
                list(rows.select_for_update().values_list("pk", flat=True))
        wallet_lock(customer_id=customer_id)  # NotFound for an unknown customer
        if not Customer.objects.filter(pk=customer_id, is_anonymous=True).exists():
            raise Conflict(f"customer {customer_id!r} is not anonymous", code="customer_not_anonymous")
        if rekey:
            _rekey(customer_id, new_id, referencing)
            customer_id = new_id
        customer = customer_update(customer_id=customer_id, is_anonymous=False, **fields)
        customer_announce("CUSTOMER_ANONYMOUS_TO_REGISTERED", customer, brand_id=None, previous_id=previous_id)
        return customer


def _referencing(customer_id: str) -> list:
    """(rows, column) of every model that references the customer: those of the apps above first
    (in a fixed order), then the wallet's own."""
    relations = sorted(
        Customer._meta.related_objects,
        key=lambda rel: (rel.related_model in OWN, rel.related_model._meta.label, rel.field.name),
    )
    return [
        (rel.related_model._base_manager.filter(**{rel.field.attname: customer_id}), rel.field.attname)
        for rel in relations
        if rel.field.concrete
    ]


def _rekey(old: str, new: str, referencing: list) -> None:
    """Change the customer's primary key and point every referencing row at it (foreign keys are
    checked at commit, by which time nothing points at the old id)."""
    try:
        with transaction.atomic():
            Customer.objects.filter(pk=old).update(id=new)
    except IntegrityError:
        raise Conflict(f"customer {new!r} already exists", code="customer_exists") from None
    for rows, column in referencing:
        rows.model._base_manager.filter(**{column: old}).update(**{column: new})
