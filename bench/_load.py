"""The load generator: its own process, N concurrent keep-alive connections, fixed request count.

Run as ``python bench/_load.py URL TOKEN CONNECTIONS REQUESTS``; prints one JSON object with the
elapsed seconds, the per-request latencies' p50/p99 (ms), and the count of non-200 answers.
HTTP/1.1 is spoken directly over asyncio streams: a full HTTP client library costs more CPU per
request than the bare baseline server does, and on a 2-core machine would cap both figures.
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
    ordered = sorted(latencies)

    def pct(fraction: float) -> float:
        return ordered[max(1, math.ceil(fraction * len(ordered))) - 1] * 1000

    return {
        "elapsed": elapsed,
        "requests": len(ordered),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "failures": failures,
    }


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    connections, requests = int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(run(url, token, connections, requests))))


if __name__ == "__main__":
    main()
