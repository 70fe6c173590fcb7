from django.core.management.base import BaseCommand, CommandError

from core.progress import progress
from events.selectors import ledger_checks
from wallets.models import Transaction, WalletTotal


class Command(BaseCommand):
    help = (
        "Rebuild every total and line from the ledger rows (and metrics and budgets from their "
        "events); print any drift and exit non-zero on it. Shows each check's progress."
    )

    def handle(self, *args, **options):
        problems = []
        checks = ledger_checks()
        with progress(self, total=len(checks), desc="ledger checks", unit="check") as bar:
            for name, check in checks:
                found = check()
                problems += found
                bar.advance()
                bar.note(f"{name}: {len(found)} problem(s)" if found else f"{name}: clean")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger drift: {len(problems)} problem(s)")
        self.stdout.write(
            f"ledger clean: {WalletTotal.objects.count()} totals and {Transaction.objects.count()} rows agree"
        )
