from django.core.management.base import BaseCommand, CommandError

from audit.services import Source as AuditSource
from audit.services import audited, command_actor
from core.exceptions import DomainError
from events.models import Event
from events.selectors import event_get
from events.services import event_fulfill
from events.status import Source


class Command(BaseCommand):
    help = "Fulfill held events by id, each written to the audit trail. Exits non-zero if any could not be fulfilled."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="+")

    def handle(self, *args, event_ids, **options):
        failed = 0
        for event_id in event_ids:
            try:
                with audited(
                    hidden=Event.AUDIT_HIDDEN,
                    actor_name=command_actor("fulfill_event"),
                    source=AuditSource.COMMAND,
                    action="event.fulfill",
                    obj=event_get(event_id=event_id),
                ) as entry:
                    entry.obj = event = event_fulfill(event_id=event_id, source=Source.COMMAND)
            except DomainError as exc:
                failed += 1
                self.stderr.write(f"{event_id}: not fulfilled: {exc.code}: {exc.details}")
            else:
                self.stdout.write(f"{event.pk}: {event.status}")
        if failed:
            raise CommandError(f"{failed} of {len(event_ids)} events not fulfilled")
