"""`manage.py import_programme FILE`: a programme's customers, events or transactions from a file
(docs/importing.md), read as a stream and written in batches, each batch one transaction.

Stopping it (Ctrl-C, a crash) loses at most the batch being written: it rolls back. Running it
again on the same file resumes: what was imported is skipped ("already imported"), nothing is
written twice. Rejected records go to FILE.rejected.jsonl (one JSON object a line: `line`, `id`,
`code`, `message`, `record`), rewritten by every run; the command exits non-zero when there are
any, or when it was interrupted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from audit.services import Source, audit_record, command_actor
from core.json import ExactJSONEncoder
from core.progress import progress
from importing.kinds import KINDS
from importing.kinds import kind as kind_of
from importing.reading import FORMATS, FileError, file_format, records_read
from importing.records import RecordError

MAX_BATCH_SIZE = 50_000


class Rejects:
    """FILE.rejected.jsonl, created at the first reject (a stale one is removed at the start)."""

    def __init__(self, path: Path):
        self.path, self.count, self._file = path, 0, None
        path.unlink(missing_ok=True)

    def add(self, line: int, record_id, code: str, message: str, raw) -> None:
        if self._file is None:
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        entry = {"line": line, "id": record_id, "code": code, "message": message, "record": raw}
        self._file.write(json.dumps(entry, cls=ExactJSONEncoder, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _record_id(raw, key_field: str):
    if isinstance(raw, dict):
        for name in ("id", key_field, "customer_id"):
            if isinstance(raw.get(name), str):
                return raw[name][:300]
    return None


class Command(BaseCommand):
    help = (
        "Import a programme's customers (with balances and metrics), historical events or transactions from a "
        "JSON Lines or CSV file (docs/importing.md), in batches of one transaction each. Run it again to resume; "
        "rejected records go to FILE.rejected.jsonl. Exits non-zero if any record was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--kind", choices=KINDS, default="customers")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, help="default: from the file's extension")
        parser.add_argument("--batch", type=int, default=5000, help="records a transaction (default 5000)")

    def handle(self, *args, file, kind, fmt, batch, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        if not 1 <= batch <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch: from 1 to {MAX_BATCH_SIZE}")
        try:
            fmt = file_format(path, fmt)
        except FileError as exc:
            raise CommandError(str(exc))
        self.kind_name, self.kind = kind, kind_of(kind)
        self.rejects = Rejects(path.with_name(path.name + ".rejected.jsonl"))
        self.stats = {"read": 0, "imported": 0, "already imported": 0, "rejected": 0}
        started, stopped, failure = time.monotonic(), None, None
        try:
            with progress(self, total=None, desc=f"{kind} read", unit="record") as self.bar:
                self._run(path, fmt, batch)
        except KeyboardInterrupt:
            stopped = "interrupted"
        except FileError as exc:
            stopped, failure = "stopped", str(exc)
        finally:
            self.rejects.close()
        elapsed = time.monotonic() - started
        self.stats["rejected"] = self.rejects.count
        self._summary(path, fmt, elapsed, stopped)
        if failure:
            raise CommandError(f"{path.name}: {failure} (run again once fixed: what was imported is skipped)")
        if stopped:
            raise CommandError("interrupted: the batch being written was rolled back; run again to resume")
        if self.rejects.count:
            raise CommandError(f"{self.rejects.count} records rejected: see {self.rejects.path}")

    def _run(self, path: Path, fmt: str, batch: int) -> None:
        pending: list[tuple[int, object, dict]] = []
        # a customer's history reconciles as a whole (importing.transactions): never split its run of lines
        group = "customer_id" if self.kind_name == "transactions" else None
        for number, raw in records_read(path, kind=self.kind_name, fmt=fmt):
            self.stats["read"] += 1
            if isinstance(raw, RecordError):
                self.rejects.add(number, None, raw.code, raw.message, None)
                continue
            try:
                cleaned = self.kind.clean(raw)
            except RecordError as exc:
                self.rejects.add(number, _record_id(raw, self.kind.key_field), exc.code, exc.message, raw)
                continue
            if len(pending) >= batch and (group is None or pending[-1][2][group] != cleaned[group]):
                self._write(pending)
                pending = []
            pending.append((number, raw, cleaned))
        self._write(pending)

    def _write(self, pending: list) -> None:
        if not pending:
            return
        result = self.kind.write([cleaned for _number, _raw, cleaned in pending], now=timezone.now())
        self.stats["imported"] += result.imported
        self.stats["already imported"] += len(result.skipped)
        for issue in result.errors:
            number, raw, _cleaned = pending[issue.index]
            self.rejects.add(number, issue.id, issue.code, issue.message, raw)
        self.bar.advance(len(pending))

    def _summary(self, path: Path, fmt: str, elapsed: float, stopped: str | None) -> None:
        s = self.stats
        rate = s["read"] / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            f"{self.kind_name}: read {s['read']}, imported {s['imported']}, already imported "
            f"{s['already imported']}, rejected {s['rejected']} in {elapsed:.1f} s ({rate:,.0f} records/s)"
            + (f" ({stopped})" if stopped else "")
        )
        if self.rejects.count:
            self.stdout.write(f"rejected records: {self.rejects.path}")
        if s["read"] or stopped:
            with transaction.atomic():
                audit_record(
                    actor_name=command_actor("import_programme"),
                    source=Source.COMMAND,
                    action=f"import.{self.kind_name}",
                    object_type="importing.file",
                    object_id=str(path.resolve())[:255],
                    object_repr=path.name,
                    after={
                        "format": fmt,
                        **{name.replace(" ", "_"): n for name, n in s.items()},
                        "elapsed_seconds": round(elapsed, 1),
                        "stopped": stopped,
                    },
                )
