"""Progress of the long management commands: a tqdm bar on a terminal (on stderr, so stdout
stays the command's report), plain lines when the output is not a terminal (a log, a pipe, cron),
and one summary line at the end, written by the command itself.

    with progress(self, total=count, desc="held events") as bar:
        for batch in batches():
            ...
            bar.advance(len(batch))
            bar.note("something worth a line")   # above the bar, or a plain line
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from tqdm import tqdm

PLAIN_EVERY_SECONDS = 5.0  # a plain line at most this often (and one at the end)


class _Bar:
    def __init__(self, command, *, total: int | None, desc: str, unit: str):
        self.command, self.total, self.desc, self.unit = command, total, desc, unit
        self.done = 0
        err = command.stderr
        self.tty = bool(getattr(err, "isatty", lambda: False)())
        self._bar = tqdm(total=total, desc=desc, unit=unit, file=err._out, dynamic_ncols=True) if self.tty else None
        self._last_line = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif time.monotonic() - self._last_line >= PLAIN_EVERY_SECONDS:
            self._plain()

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.command.stdout._out)
        else:
            self.command.stdout.write(text)

    def _plain(self) -> None:
        of = f" of {self.total}" if self.total is not None else ""
        self.command.stdout.write(f"{self.desc}: {self.done}{of} {self.unit}s")
        self._last_line = time.monotonic()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.done:
            self._plain()


@contextmanager
def progress(command, *, total: int | None, desc: str, unit: str = "item"):
    """A bar for `command` (a BaseCommand: its stdout and stderr) over `total` items."""
    bar = _Bar(command, total=total, desc=desc, unit=unit)
    try:
        yield bar
    finally:
        bar.close()
