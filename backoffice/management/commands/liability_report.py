from django.core.management.base import BaseCommand, CommandError

from backoffice.liability import as_json, as_table, write_csv
from backoffice.selectors import liability_report
from campaigns.models import Brand


class Command(BaseCommand):
    help = (
        "The outstanding liability now: per reward and brand, what wallets hold available, reserved, "
        "pending (held grants), past their date (awaiting the expiry sweep) and in debt, with the money "
        "value at each reward's conversion factor, and totals (docs/export.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--brand", help="only this brand's rows (its id)")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")

    def handle(self, *args, brand, format, **options):
        if brand is not None and not Brand.objects.filter(pk=brand).exists():
            raise CommandError(f"unknown brand {brand!r}")
        report = liability_report(brand_id=brand)
        if format == "csv":
            write_csv(report, self.stdout._out)
        elif format == "json":
            self.stdout.write(as_json(report))
        else:
            self.stdout.write(as_table(report))
