from django.conf import settings
from django.core.management.base import BaseCommand

from core.clock import db_now
from core.progress import progress
from events.selectors import events_due
from events.services import event_expire_due, housekeeping_run
from wallets.models import WalletLine
from wallets.services import wallet_expire_due


class Command(BaseCommand):
    help = (
        "Expire held events past their reservation window and wallet lines past their date, batch "
        "by batch with a progress bar (plain lines when not on a terminal), then run the periodic "
        "task's other jobs once; ends with a one-line summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what is due, change nothing")

    def handle(self, *args, dry_run, **options):
        now = db_now()
        due_lines = WalletLine.objects.filter(state=WalletLine.State.AVAILABLE, expiration_date__lte=now)
        if dry_run:
            events = list(events_due().values_list("id", "reservation_expires_at"))
            for event_id, deadline in events:
                self.stdout.write(f"would expire event {event_id} (due {deadline.isoformat()})")
            lines = due_lines.count()
            self.stdout.write(f"{len(events)} events and {lines} wallet lines are due (dry run: nothing changed)")
            return
        size = settings.LOYALTY_EXPIRY_BATCH_SIZE
        events = 0
        with progress(self, total=events_due().count(), desc="held events", unit="event") as bar:
            while True:  # one batch a turn, so the bar moves; a short batch is the last one due
                batch = event_expire_due(now=now, batch_size=size, max_batches=1)
                events += len(batch)
                bar.advance(len(batch))
                if len(batch) < size:
                    break
        lines = 0
        with progress(self, total=due_lines.count(), desc="wallet lines", unit="line") as bar:
            while expired := wallet_expire_due(now=now, batch_size=size):  # 0: none left, or all held elsewhere
                lines += expired
                bar.advance(expired)
        rest = housekeeping_run(now=now)  # the other jobs; finds little or nothing left to expire
        events, lines = events + rest["events_expired"], lines + rest["lines_expired"]
        self.stdout.write(f"expired {events} events and {lines} wallet lines")
