"""Webhook deliveries per second through ``voice.webhooks.tasks.deliver_due`` to a local receiver.

Measured: rounds of ``deliver_due`` until nothing is due: the claim (lease, with the per-case
order check), loading and decrypting the signing secret, the SSRF guard, the Standard Webhooks
signature, the real HTTP POST to a receiver on loopback, and settling each answer with its
attempt row. Deliveries are queued (untimed) one per case per round, spread over many cases so
that the per-case order does not serialise them.

Baseline, in the same run: posting the same bodies, byte for byte, to the same receiver with
the same httpx client and the same concurrency, with no database, signing or guard. The two
alternate in rounds so machine noise lands on both.

Last stdout line: ``{"name", "value", "unit", "baseline", "ratio", "target"}``, ratio =
value / baseline. See bench/README.md.
"""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from _common import (
    Result,
    database_label,
    parse_args,
    quiet_logs,
    report,
    split,
    spread,
    throwaway_database,
    workspace,
)
from _common import booking as booking_event
from sqlalchemy.engine import Engine
from sqlmodel import select

from voice.cases.models import CaseEvent
from voice.config import Environment, Settings
from voice.database import make_engine, transaction, utcnow
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.ingest.service import ingest_event
from voice.pii import keyring
from voice.webhooks import service, tasks
from voice.webhooks.models import EndpointCreate, WebhookDelivery

DEFAULT_DELIVERIES = 2000
QUICK_DELIVERIES = 40
DEFAULT_SUBJECTS = 200
DEFAULT_ROUNDS = 5
TARGET = 0.5


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a partner's server would

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def seed(engine: Engine, subjects: int) -> list[tuple[int, int]]:
    """Book every subject; returns (case id, event id) per case. Never timed."""
    policy = cached_policy(default_policy_path())
    pairs = []
    with transaction(engine) as session:
        for index in range(subjects):
            event = booking_event(index)
            ingest_event(session=session, candidate=event, policy=policy)
            stored = session.exec(
                select(CaseEvent).where(CaseEvent.source_event_id == event["source_event_id"])
            ).one()
            pairs.append((stored.case_id, stored.id or 0))
    return pairs


def queue(engine: Engine, cases: list[tuple[int, int]], count: int) -> list[bytes]:
    """Queue ``count`` deliveries over the cases; returns their bodies. Never timed."""
    bodies = []
    with transaction(engine) as session:
        for n in range(count):
            case_id, event_id = cases[n % len(cases)]
            payload = {
                "type": "custody.booked",
                "timestamp": utcnow().isoformat(),
                "data": {"case_id": case_id, "event": {"event_type": "custody.booked"}},
            }
            for delivery in service.enqueue(
                session=session,
                event_type="custody.booked",
                case_id=case_id,
                event_id=event_id,
                payload_for=lambda _e, p=payload: p,  # type: ignore[misc]
            ):
                bodies.append(tasks.body_of(delivery))
    return bodies


async def drain(engine: Engine, client: httpx.AsyncClient, settings: Settings) -> int:
    sent = 0
    while True:
        stats = await tasks.deliver_due(engine=engine, client=client, settings=settings)
        if stats.claimed == 0:
            return sent
        sent += stats.delivered


async def post_straight(
    client: httpx.AsyncClient, url: str, bodies: list[bytes], width: int
) -> None:
    gate = asyncio.Semaphore(width)

    async def one(body: bytes) -> None:
        async with gate:
            response = await client.post(url, content=body)
            response.raise_for_status()

    await asyncio.gather(*(one(b) for b in bodies))


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0] if __doc__ else "webhook throughput",
        count_flag="deliveries",
        default=DEFAULT_DELIVERIES,
        quick=QUICK_DELIVERIES,
        subjects=DEFAULT_SUBJECTS,
        rounds=DEFAULT_ROUNDS,
    )
    quiet_logs()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    pairs: list[tuple[float, float]] = []
    delivered = 0
    with workspace() as tmp, throwaway_database(args.database, tmp) as db_url:
        settings = Settings(
            environment=Environment.DEVELOPMENT,
            database_url=db_url,
            webhook_allowed_networks=["127.0.0.1/32"],
        )
        keyring.configure(settings)
        engine = make_engine(db_url)
        try:
            label = database_label(engine)
            cases = seed(engine, args.subjects)
            with transaction(engine) as session:
                service.create_endpoint(
                    session=session,
                    endpoint_in=EndpointCreate(
                        url=url,
                        partner_name="bench",
                        partner_contact="bench@partner.example",
                        event_types=["custody.booked"],
                    ),
                    settings=settings,
                )

            async def run() -> None:
                nonlocal delivered
                async with httpx.AsyncClient(timeout=15.0) as client:
                    for size in split(args.deliveries, args.rounds):
                        bodies = queue(engine, cases, size)
                        started = time.perf_counter()
                        delivered += await drain(engine, client, settings)
                        measured = time.perf_counter() - started
                        started = time.perf_counter()
                        await post_straight(client, url, bodies, settings.webhook_concurrency)
                        pairs.append((measured, time.perf_counter() - started))

            asyncio.run(run())
            with engine.connect() as connection:
                done = connection.execute(
                    select(WebhookDelivery.id).where(WebhookDelivery.status == "delivered")
                ).all()
        finally:
            engine.dispose()
            server.shutdown()
    if delivered != args.deliveries or len(done) != args.deliveries:
        raise RuntimeError(f"delivered {delivered} of {args.deliveries}")
    measured_s = sum(m for m, _ in pairs)
    baseline_s = sum(b for _, b in pairs)
    value = args.deliveries / measured_s
    baseline = args.deliveries / baseline_s
    report(
        [
            ("database", label),
            ("deliveries", f"{args.deliveries} over {args.subjects} cases, {len(pairs)} rounds"),
            ("deliver_due", f"{value:.1f} deliveries/s ({measured_s:.3f} s)"),
            ("httpx straight", f"{baseline:.1f} posts/s ({baseline_s:.3f} s)"),
            ("per-round ratio", spread(pairs)),
        ],
        Result("webhook_throughput", value, "deliveries/s", baseline, TARGET),
    )


if __name__ == "__main__":
    main()
