"""Events the engine records itself in a customer's life (issue 9, item 5): REGISTRATION when a
customer is registered (API, admin, command or any caller of wallets.services.customer_register),
in the same transaction, so a REGISTRATION campaign pays the welcome bonus; BIRTHDAY on the
customer's birthday, once per customer and year (events.BirthdayGreeting's unique constraint:
two workers or a rerun never pay twice).

Both go through the normal emit (events.services.event_emit, source `engine` or `task`), so
campaigns, budgets, limits, consent and metrics apply as for any event (metrics count them).
An event needs a brand: the registration's `brand_id` if it names one (POST /customers: a
brand-restricted key's own brand, see wallets.api); else LOYALTY_DEFAULT_BRAND when it names a
brand; else the programme's first brand (the oldest). A programme without brands records
nothing. A global campaign (no brand) fires whichever brand it is.

A REGISTRATION event is issued at the customer's `registration_date` (never later than now): a
registration dated in the past is paid by the campaigns that ran then, not by today's.
Birthdays are those of ACTIVE customers whose `dob` falls on today in TIME_ZONE; a February 29
birthday falls on February 28 in other years.
"""

from __future__ import annotations

import calendar
import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Brand
from core.exceptions import DomainError, NotFound
from events.models import BirthdayGreeting, Event
from events.services import event_emit
from events.status import Source
from wallets.models import Customer

log = logging.getLogger(__name__)


def lifecycle_brand(brand_id: str | None = None) -> str | None:
    """The brand a lifecycle event is recorded at (see the module docstring); NotFound for a
    `brand_id` that is not a brand."""
    if brand_id:
        if not Brand.objects.filter(pk=brand_id).exists():
            raise NotFound(f"brand {brand_id!r} not found", code="brand_not_found")
        return brand_id
    if settings.LOYALTY_DEFAULT_BRAND and Brand.objects.filter(pk=settings.LOYALTY_DEFAULT_BRAND).exists():
        return settings.LOYALTY_DEFAULT_BRAND
    return Brand.objects.order_by("created_at", "pk").values_list("pk", flat=True).first()


def registration_record(customer: Customer, *, brand_id: str | None = None) -> Event | None:
    """The customer's REGISTRATION event (the hook wallets.services.customer_register calls inside
    its transaction: the customer, its wallet and this event commit together, or none does)."""
    brand = lifecycle_brand(brand_id)
    if brand is None:
        return None
    # issued when the customer registered (a registration dated in the past is paid by the
    # campaigns that ran then, never by today's welcome campaign), never in the future
    issued_at = min(customer.registration_date, timezone.now())
    payload = {"customer_id": customer.pk, "brand_id": brand, "type": "REGISTRATION", "issued_at": issued_at}
    if customer.referral_code:  # the code it registered with links it to its referrer (referrals)
        payload["referral_code"] = customer.referral_code
    return event_emit(payload=payload, source=Source.ENGINE)


def birthdays_record(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Record today's BIRTHDAY events (the housekeeping runs this every minute): for ACTIVE
    customers whose `dob` falls today in TIME_ZONE and who have none this year, at most
    `batch_size` (LOYALTY_EXPIRY_BATCH_SIZE) a run; the next run takes the rest. Each customer is
    one transaction: its BirthdayGreeting row (unique per customer and year: a second worker
    waits for the first one's row, then skips it) and its event. An event the engine refuses is
    stored FAILED and not retried. Returns how many were recorded."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    born = Q(dob__month=today.month, dob__day=today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        born |= Q(dob__month=2, dob__day=29)
    brand = lifecycle_brand()
    if brand is None:
        return 0
    due = (
        Customer.objects.filter(born, status=Customer.Status.ACTIVE)
        .exclude(birthday_greetings__year=today.year)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    recorded = 0
    for customer_id in list(due[: batch_size or settings.LOYALTY_EXPIRY_BATCH_SIZE]):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    BirthdayGreeting.objects.create(customer_id=customer_id, year=today.year)
            except IntegrityError:
                continue  # another run greeted this customer this year
            payload = {"customer_id": customer_id, "brand_id": brand, "type": "BIRTHDAY", "issued_at": now}
            try:
                event_emit(payload=payload, source=Source.TASK)
            except DomainError as exc:  # stored FAILED or refused: greeted all the same, never retried
                log.warning("birthday of %s not rewarded: %s", customer_id, exc)
        recorded += 1
    return recorded
