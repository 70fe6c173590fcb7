from django.core.management.base import BaseCommand

from events.services import due_events, expire_due
from wallets.models import WalletLine


class Command(BaseCommand):
    help = "Expire held events past their reservation window and wallet lines past their date."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what is due, change nothing")

    def handle(self, *args, dry_run, **options):
        if dry_run:
            events = list(due_events().values_list("id", "reservation_expires_at"))
            for event_id, deadline in events:
                self.stdout.write(f"would expire event {event_id} (due {deadline.isoformat()})")
            from core.clock import db_now

            lines = WalletLine.objects.filter(state=WalletLine.State.AVAILABLE, expiration_date__lte=db_now()).count()
            self.stdout.write(f"{len(events)} events and {lines} wallet lines are due (dry run: nothing changed)")
            return
        result = expire_due()
        self.stdout.write(f"expired {result['events_expired']} events and {result['lines_expired']} wallet lines")
