"""An open-loop HTTP load (issue 11, item 2): requests sent on a fixed schedule, whatever the
server's answers do, each one's latency measured from the time it was *scheduled*.

Why not wrk or hey: wrk is a closed loop (each of its connections waits for an answer before
sending again, so a slow answer delays the next request and hides the wait: coordinated omission);
hey's `-q` is a rate limit per worker on the same closed loop; wrk2 (which fixes this) is not
packaged by Debian. This generator is stdlib asyncio: the i-th request is due at start + i/rate;
it goes out on an idle keep-alive connection or, when every open one is busy, on a new one (up to
`max_connections`; past that it waits for one, and that wait counts in its latency, as it would
for a real client). Latency = answer received - due time, so a server stall shows up in every
request that was due during it. At the rates it is used for (half the measured capacity: tens
to a few hundred per second) its own CPU is a small part of one core.
"""

import asyncio
import time
from collections.abc import Callable


async def _exchange(reader, writer, raw: bytes) -> int:
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _run(host, port, rate, seconds, make_request, max_connections):
    idle: list = []
    opened = 0
    available = asyncio.Condition()
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)

    async def one(i: int):
        nonlocal opened, errors
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        async with available:
            while not idle and opened >= max_connections:
                await available.wait()
            conn = idle.pop() if idle else None
            if conn is None:
                opened += 1
        try:
            if conn is not None:
                try:
                    status = await _exchange(*conn, make_request(i))
                except (OSError, asyncio.IncompleteReadError):
                    # the server closed this keep-alive connection while it sat idle (gunicorn's
                    # keepalive): what a real client does, send again on a new one
                    conn[1].close()
                    conn = None
            if conn is None:
                conn = await asyncio.open_connection(host, port)
                status = await _exchange(*conn, make_request(i))
            if status >= 400:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            if conn is not None:
                conn[1].close()
            conn = None
        latencies.append(time.perf_counter() - due)
        async with available:
            if conn is None:
                opened -= 1
            else:
                idle.append(conn)
            available.notify()

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    for _reader, writer in idle:
        writer.close()
    return latencies, errors, elapsed, opened


def open_loop(
    host: str,
    port: int,
    rate: float,
    seconds: float,
    make_request: Callable[[int], bytes],
    max_connections: int = 64,
) -> dict:
    """Send `rate` x `seconds` requests (`make_request(i)`: the raw HTTP/1.1 request bytes) on a
    fixed schedule; their latency percentiles (ms, from the due time), errors and achieved rate."""
    latencies, errors, elapsed, connections = asyncio.run(
        _run(host, port, rate, seconds, make_request, max_connections)
    )
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "errors": errors,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000,
        "connections": connections,
    }
