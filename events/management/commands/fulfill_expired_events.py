from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.services import Source as AuditSource
from audit.services import audit_record, command_actor
from core.exceptions import DomainError
from core.progress import progress
from events.selectors import events_expired_unfulfilled
from events.services import event_fulfill_expired
from events.status import Source


def _moment(text: str, *, end: bool) -> datetime:
    """A date (whole day, programme time zone; --to is inclusive) or an ISO datetime."""
    day = parse_date(text) if len(text) == 10 else None
    if day is not None:
        moment = datetime.combine(day, time.min) + timedelta(days=1 if end else 0)
    else:
        moment = parse_datetime(text)
        if moment is None:
            raise CommandError(f"not a date: {text!r} (YYYY-MM-DD or ISO 8601)")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "Apply late the held events that EXPIRED although the shop fulfilled them, for events "
        "issued between --from and --to (dates inclusive). Each becomes a new RESOLVED event linked "
        "to the expired one; a second run skips those already applied."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="issued_from", required=True)
        parser.add_argument("--to", dest="issued_to", required=True)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, issued_from, issued_to, dry_run, **options):
        start, end = _moment(issued_from, end=False), _moment(issued_to, end=True)
        if end <= start:
            raise CommandError("--to must not be before --from")
        due = list(events_expired_unfulfilled(issued_from=start, issued_to=end))
        failed = 0
        with progress(self, total=len(due), desc="expired events", unit="event") as bar:
            for original in due:
                bar.advance()
                if dry_run:
                    bar.note(f"would fulfil {original.pk} (issued {original.issued_at.isoformat()})")
                    continue
                try:  # not inside audited(): a late fulfilment that fails commits its FAILED event
                    event = event_fulfill_expired(event_id=original.pk, source=Source.COMMAND)
                except DomainError as exc:
                    failed += 1
                    self.stderr.write(f"{original.pk}: not fulfilled: {exc.code}: {exc.details}")
                else:
                    audit_record(
                        actor_name=command_actor("fulfill_expired_events"),
                        source=AuditSource.COMMAND,
                        action="event.fulfill_expired",
                        object_type=original._meta.label_lower,
                        object_id=original.pk,
                        object_repr=str(original),
                        after={"fulfilled_as": str(event.pk), "status": event.status},
                    )
                    bar.note(f"{original.pk}: fulfilled as {event.pk} ({event.status})")
        self.stdout.write(
            f"{len(due) - failed} of {len(due)} expired events fulfilled" + (" (dry run)" if dry_run else "")
        )
        if failed:
            raise CommandError(f"{failed} of {len(due)} expired events could not be fulfilled")
