"""Real races for PostgreSQL tests: threads, one connection each, released by a barrier."""

import threading
from collections import Counter

from django.db import connection


def race(*calls, timeout=30.0):
    """Run each call in its own thread with its own connection, all released at once by a
    barrier. Returns one ("ok", value) or ("error", exception) per call, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            connection.ensure_connection()  # connect before the barrier: the race starts at once
            barrier.wait(timeout)
            outcomes[index] = ("ok", call())
        except BaseException as exc:  # every outcome, errors included, goes back to the test
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung: deadlock or lock wait"
    return outcomes


def kinds(outcomes) -> Counter:
    """How many calls returned, and how many raised each exception class."""
    return Counter("ok" if kind == "ok" else type(value).__name__ for kind, value in outcomes)
