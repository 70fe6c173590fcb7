"""`manage.py export_ledger`: the ledger of a period, and optionally a snapshot of every wallet's
totals and the customers' imported history, for a data warehouse or an auditor (docs/export.md).

It lives in the back office, the top layer, because the imported history
(importing.HistoricalTransaction) sits above the wallets; the streaming itself is wallets.export.
Everything is read in one snapshot (wallets.export.consistent_snapshot), chunk by chunk, and
each file is written as FILE.part and renamed when complete: a failed export leaves no file that
looks whole. Progress goes to stderr (a bar on a terminal, plain lines otherwise), so the data can
go to stdout.
"""

import os
from contextlib import contextmanager
from types import SimpleNamespace

from django.core.management.base import BaseCommand, CommandError

from core.clock import db_now
from core.progress import progress
from importing.models import HistoricalTransaction
from wallets import export

HISTORY = [
    ("id", "id"),
    ("key", "key"),
    ("created_at", "created_at"),
    ("type", "type"),
    ("amount", "amount"),
    ("customer_id", "customer_id"),
    ("reward_id", "reward_id"),
    ("brand_id", "brand_id"),
    ("details", "details"),
]
STDOUT = "-"


class Command(BaseCommand):
    help = (
        "Stream the ledger rows created from --from (inclusive) to --to (a date: that day included; a "
        "date-time: exclusive), in the programme's time zone, as CSV or JSON lines, with --customers a "
        "snapshot of every wallet's totals now and with --history the imported history of the period."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD or an ISO 8601 date-time")
        parser.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (included) or a date-time (excluded)")
        parser.add_argument("--format", choices=export.FORMATS, default="csv")
        parser.add_argument("--output", default=STDOUT, help="the ledger's file (default: stdout)")
        parser.add_argument("--customers", help="also write the wallets' totals now to this file")
        parser.add_argument("--history", help="also write the period's imported history rows to this file")
        parser.add_argument(
            "--chunk-size", type=int, default=export.CHUNK, help=f"rows per query (default {export.CHUNK})"
        )

    def handle(self, *args, start, end, format, output, customers, history, chunk_size, **options):
        try:
            start, end = export.parse_bound(start, end=False), export.parse_bound(end, end=True)
        except export.BadBound as exc:
            raise CommandError(str(exc))
        if end <= start:
            raise CommandError("--to must be after --from")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        targets = [
            (name, path) for name, path in (("ledger", output), ("customers", customers), ("history", history)) if path
        ]
        paths = [os.path.abspath(p) if p != STDOUT else p for _n, p in targets]
        if len(set(paths)) < len(paths):
            raise CommandError("--output, --customers and --history must name different files (one may be -)")
        for _name, path in targets:
            if path != STDOUT and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise CommandError(f"no such directory for {path!r}")
        to_stdout = STDOUT in paths
        # the bar's plain lines are written to its command's stdout: give it stderr for both
        bar_target = SimpleNamespace(stdout=self.stderr, stderr=self.stderr)
        written = []
        with export.consistent_snapshot():
            now = db_now()
            streams = {
                "ledger": lambda: export.ledger_stream(start=start, end=end, chunk_size=chunk_size),
                "customers": lambda: export.snapshot_stream(now=now, chunk_size=chunk_size),
                "history": lambda: export.period_stream(
                    HistoricalTransaction.objects.filter(created_at__gte=start, created_at__lt=end),
                    HISTORY,
                    chunk_size=chunk_size,
                ),
            }
            for name, path in targets:
                stream = streams[name]()
                with self._opened(path) as out, progress(bar_target, total=stream.total, desc=name, unit="row") as bar:
                    writer = export.Writer(out, fmt=format, columns=stream.columns)
                    for row in stream.rows:
                        writer.write(row)
                        bar.advance()
                written.append(f"{writer.rows} {name} rows to {'stdout' if path == STDOUT else path}")
        summary = f"exported {start.isoformat()} to {end.isoformat()} (as of {now.isoformat()}): " + ", ".join(written)
        (self.stderr if to_stdout else self.stdout).write(summary)

    @contextmanager
    def _opened(self, path: str):
        if path == STDOUT:
            yield self.stdout._out
            return
        part = f"{path}.part"
        try:
            out = open(part, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {path!r}: {exc.strerror}")
        try:
            with out:
                yield out
        except BaseException:
            os.unlink(part)
            raise
        os.replace(part, path)
