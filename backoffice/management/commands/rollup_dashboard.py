from django.core.management.base import BaseCommand, CommandError

from backoffice.services import dashboard_rollup


class Command(BaseCommand):
    help = "Recompute the dashboard's summary rows of the last N days (today included) from the ledger and transitions."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=2, help="days to recompute, today included (default 2)")

    def handle(self, *args, days, **options):
        if not 1 <= days <= 3660:
            raise CommandError("--days must be between 1 and 3660")
        result = dashboard_rollup(days=days)
        self.stdout.write(
            f"rolled up {result['first_day']}..{result['last_day']}: {result['ledger_rows']} ledger rows, "
            f"{result['status_rows']} status rows in {result['took_ms']} ms"
        )
