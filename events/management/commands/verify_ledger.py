from django.core.management.base import BaseCommand, CommandError

from events.selectors import ledger_problems
from wallets.models import Transaction, WalletTotal


class Command(BaseCommand):
    help = "Rebuild every total and line from the ledger rows; print any drift and exit non-zero on it."

    def handle(self, *args, **options):
        problems = ledger_problems()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger drift: {len(problems)} problem(s)")
        self.stdout.write(
            f"ledger clean: {WalletTotal.objects.count()} totals and {Transaction.objects.count()} rows agree"
        )
