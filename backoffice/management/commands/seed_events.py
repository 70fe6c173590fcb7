import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.seeding import seed_events
from core.progress import progress


class Command(BaseCommand):
    help = (
        "Benchmark data: N PURCHASE events of new customers of brand DASH over the last 35 days, with their "
        "ledger rows, written directly (backoffice.seeding). Refuses to run unless DEBUG is on (local settings) "
        "or --yes-really is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=35, help="the events' span, ending now")
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument("--yes-really", action="store_true", help="run even with DEBUG off (not on production!)")

    def handle(self, *args, events, customers, days, seed, yes_really, **options):
        if not (settings.DEBUG or yes_really):
            raise CommandError("seed_events writes benchmark data: it runs with DEBUG on, or with --yes-really")
        if events < 0 or customers < 1 or days < 1:
            raise CommandError("--events >= 0, --customers >= 1 and --days >= 1")
        started = time.monotonic()
        with progress(self, total=events, desc="events built", unit="event") as bar:
            result = seed_events(
                events=events, customers=customers, now=timezone.now(), days=days, seed=seed, advance=bar.advance
            )
        took = time.monotonic() - started
        self.stdout.write(", ".join(f"{v} {k}" for k, v in result.items()) + f" written in {took:.1f} s")
