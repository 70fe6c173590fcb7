from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from audit.services import Source, command_actor
from core.exceptions import DomainError
from events.services import event_adjust


class Command(BaseCommand):
    help = (
        "Credit (positive AMOUNT) or debit (negative AMOUNT) one reward of a customer by hand, with a "
        "reason: a RESOLVED ADJUSTMENT event, written to the audit trail. Exits non-zero if refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("customer_id")
        parser.add_argument("reward_id")
        parser.add_argument("amount", help="a decimal number; negative (e.g. -5) to debit")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--brand", dest="brand_id", default=None, help="the brand it is recorded at")
        parser.add_argument("--expires", default=None, help="credits only: an ISO 8601 date-time with its offset")

    def handle(self, *args, customer_id, reward_id, amount, reason, brand_id, expires, **options):
        expiration_date = None
        if expires:
            expiration_date = parse_datetime(expires)
            if expiration_date is None:
                raise CommandError(f"--expires {expires!r} is not an ISO 8601 date-time")
        try:
            event = event_adjust(
                customer_id=customer_id,
                reward_id=reward_id,
                amount=amount,
                reason=reason,
                brand_id=brand_id,
                expiration_date=expiration_date,
                actor_name=command_actor("adjust_balance"),
                source=Source.COMMAND,
            )
        except DomainError as exc:
            raise CommandError(f"{customer_id}: not adjusted: {exc.code}: {exc.details}") from exc
        self.stdout.write(f"{event.pk}: {event.status} {amount} of {reward_id} for {customer_id}")
