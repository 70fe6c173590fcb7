from django.core.management.base import BaseCommand, CommandError

from audit.services import Source as AuditSource
from audit.services import audited, command_actor
from core.exceptions import DomainError
from events.models import Event
from events.selectors import event_get
from events.services import event_reverse
from events.status import Source


class Command(BaseCommand):
    help = "Reverse a resolved event (or cancel a held one), with a reason written to the audit trail."

    def add_arguments(self, parser):
        parser.add_argument("event_id")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, event_id, reason, **options):
        try:
            with audited(
                hidden=Event.AUDIT_HIDDEN,
                actor_name=command_actor("reverse_event"),
                source=AuditSource.COMMAND,
                action="event.reverse",
                obj=event_get(event_id=event_id),
                reason=reason.strip(),
            ) as entry:
                entry.obj = event = event_reverse(event_id=event_id, reason=reason, source=Source.COMMAND)
        except DomainError as exc:
            raise CommandError(f"{event_id}: not reversed: {exc.code}: {exc.details}") from exc
        self.stdout.write(f"{event.pk}: {event.status}")
