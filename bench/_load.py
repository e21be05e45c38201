"""The load generator: its own process, speaking HTTP/1.1 over keep-alive connections.

Closed loop: ``python bench/_load.py URL TOKEN CONNECTIONS REQUESTS``. CONNECTIONS connections
each send their next request as soon as the last one is answered, REQUESTS in all.

Open loop: ``python bench/_load.py URL TOKEN open RATE SECONDS``. Request *i* is due at
start + *i* / RATE, sent then whether or not earlier ones were answered (on an idle connection,
or a new one), and timed from when it was due, not from when it could be sent: a server that
falls behind shows as latency instead of slowing the load (no coordinated omission).

Either prints one JSON object: the elapsed seconds, the latencies' p50/p99/max (ms), the count
of non-200 answers, and for the open loop the rates achieved. HTTP/1.1 is spoken directly over
asyncio streams: a full HTTP client library costs more CPU per request than the bare baseline
server does, and on a 2-core machine would cap both figures.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from urllib.parse import urlsplit


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def run(url: str, token: str, connections: int, requests: int) -> dict[str, float]:
    parts = urlsplit(url)
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    failures = 0
    remaining = requests
    streams = [
        await asyncio.open_connection(parts.hostname, parts.port) for _ in range(connections)
    ]
    # Warm every connection before the clock starts.
    await asyncio.gather(*(_one(r, w, request) for r, w in streams))

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status = await _one(reader, writer, request)
            latencies.append(time.perf_counter() - started)
            failures += status != 200

    began = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in streams))
    elapsed = time.perf_counter() - began
    for _, writer in streams:
        writer.close()
    return {
        "elapsed": elapsed,
        "requests": len(latencies),
        **_percentiles(latencies),
        "failures": failures,
    }


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(fraction: float) -> float:
        return ordered[max(1, math.ceil(fraction * len(ordered))) - 1] * 1000

    return {"p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": ordered[-1] * 1000}


# Open connections beyond this wait for an idle one (still timed from when the request was due).
MAX_OPEN_LOOP_CONNECTIONS = 256


async def run_open(url: str, token: str, rate: float, seconds: float) -> dict[str, float]:
    parts = urlsplit(url)
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0
    slots = asyncio.Semaphore(MAX_OPEN_LOOP_CONNECTIONS)
    latencies: list[float] = []
    failures = 0
    # A few warm connections, as a steady client would have.
    for _ in range(8):
        idle.append(await asyncio.open_connection(parts.hostname, parts.port))
        opened += 1
    for reader, writer in idle:
        await _one(reader, writer, request)

    async def send(due: float) -> None:
        nonlocal failures, opened
        async with slots:
            if idle:
                stream = idle.pop()
                try:
                    status = await _one(*stream, request)
                except (asyncio.IncompleteReadError, ConnectionError):
                    # The server closed this keep-alive connection while it sat idle (its
                    # keep-alive timeout): send again on a new one, as an HTTP client does. The
                    # request stays timed from when it was due.
                    stream[1].close()
                    stream = await asyncio.open_connection(parts.hostname, parts.port)
                    opened += 1
                    status = await _one(*stream, request)
            else:
                stream = await asyncio.open_connection(parts.hostname, parts.port)
                opened += 1
                status = await _one(*stream, request)
            latencies.append(time.perf_counter() - due)
            failures += status != 200
            idle.append(stream)

    total = max(1, round(rate * seconds))
    tasks = []
    began = time.perf_counter()
    for i in range(total):
        due = began + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(send(due)))
    sent = time.perf_counter() - began
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    for _, writer in idle:
        writer.close()
    return {
        "elapsed": elapsed,
        "requests": len(latencies),
        **_percentiles(latencies),
        "failures": failures,
        "offered_rate": rate,
        # Sent on schedule (the generator kept up), and answered over the whole run.
        "sent_rate": (total - 1) / sent if total > 1 and sent > 0 else rate,
        "answered_rate": len(latencies) / elapsed,
        "connections": opened,
    }


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    if sys.argv[3] == "open":
        figures = asyncio.run(run_open(url, token, float(sys.argv[4]), float(sys.argv[5])))
    else:
        figures = asyncio.run(run(url, token, int(sys.argv[3]), int(sys.argv[4])))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
