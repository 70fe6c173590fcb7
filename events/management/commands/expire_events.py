from django.core.management.base import BaseCommand

from core.clock import db_now
from events.selectors import events_due
from events.services import housekeeping_run
from wallets.models import WalletLine


class Command(BaseCommand):
    help = "Expire held events past their reservation window and wallet lines past their date."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what is due, change nothing")

    def handle(self, *args, dry_run, **options):
        if dry_run:
            events = list(events_due().values_list("id", "reservation_expires_at"))
            for event_id, deadline in events:
                self.stdout.write(f"would expire event {event_id} (due {deadline.isoformat()})")
            lines = WalletLine.objects.filter(state=WalletLine.State.AVAILABLE, expiration_date__lte=db_now()).count()
            self.stdout.write(f"{len(events)} events and {lines} wallet lines are due (dry run: nothing changed)")
            return
        result = housekeeping_run()
        self.stdout.write(f"expired {result['events_expired']} events and {result['lines_expired']} wallet lines")
