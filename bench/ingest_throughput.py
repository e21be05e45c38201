"""Events per second through ingest: one event per transaction, or whole batches.

``--mode per-event`` (the default) measures ``voice.ingest.service.ingest_event``: validation,
the dedupe lookup, the savepoint, the subject and case fold, and the two outbox rows each event
causes (every case has one verified email link and one verified SMS link), committed one event
at a time as ``POST /api/v1/events`` does for a single event. Baseline, in the same run and on
the same database: storing the very same payloads bare, one ``INSERT`` of the JSON into a plain
``bench_raw_event`` table per event, one transaction each.

``--mode batch`` measures ``voice.ingest.service.ingest_batch`` on batches of ``--batch-size``
events, one transaction per batch, as ``voice ingest`` and an NDJSON or array body do. Its
baseline is one multi-row ``INSERT`` of the same payloads per batch of the same size.

The two sides are interleaved in rounds (alternating which goes first) so machine noise lands
on both.

Last stdout line: ``{"name", "value", "unit", "baseline", "ratio", "target"}``, ratio =
value / baseline. See bench/README.md.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from _common import (
    Result,
    booking,
    database_label,
    follow_up,
    parse_args,
    percentile,
    quiet_logs,
    report,
    seed_cases,
    split,
    spread,
    throwaway_database,
    workspace,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.config import Environment, Settings
from voice.database import JSONType, make_engine
from voice.disclosure.policy import Policy, cached_policy, default_policy_path
from voice.ingest.service import ingest_batch, ingest_event

TARGETS = {"per-event": 0.1, "batch": 0.2}
DEFAULT_EVENTS = 1000
DEFAULT_BATCH_EVENTS = 5000
DEFAULT_BATCH_SIZE = 500
QUICK_EVENTS = 40
DEFAULT_SUBJECTS = 50
DEFAULT_ROUNDS = 20
NOTIFICATIONS_PER_EVENT = 2

_raw_metadata = sa.MetaData()
raw_event = sa.Table(
    "bench_raw_event",
    _raw_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("source_event_id", sa.String(128), nullable=False, unique=True),
    # the same column type as case_event.payload: JSON on SQLite, JSONB on PostgreSQL
    sa.Column("payload", JSONType, nullable=False),
)


@dataclass
class Phase:
    """Time spent on one side; a latency is one transaction's (an event's, or a batch's)."""

    seconds: float = 0.0
    count: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, elapsed: float, count: int = 1) -> None:
        self.seconds += elapsed
        self.count += count
        self.latencies.append(elapsed)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def describe(self, unit: str) -> str:
        per = "event" if len(self.latencies) == self.count else "batch"
        return (
            f"{self.rate:9.1f} {unit} ({self.count} in {self.seconds:.2f} s; "
            f"per {per} p50 {percentile(self.latencies, 0.5) * 1e3:.2f} ms, "
            f"p99 {percentile(self.latencies, 0.99) * 1e3:.2f} ms)"
        )


def store_raw(engine: Engine, event: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(
            raw_event.insert().values(
                source=event["source"], source_event_id=event["source_event_id"], payload=event
            )
        )


def store_raw_many(engine: Engine, events: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(
            raw_event.insert().values(
                [
                    {
                        "source": e["source"],
                        "source_event_id": e["source_event_id"],
                        "payload": e,
                    }
                    for e in events
                ]
            )
        )


def ingest_many(
    engine: Engine, policy: Policy, events: list[dict[str, Any]], batch_size: int
) -> list[tuple[str, int]]:
    with Session(engine, expire_on_commit=False) as session:
        results = ingest_batch(
            session=session, candidates=events, policy=policy, batch_size=batch_size
        )
        session.commit()
    outcomes: list[tuple[str, int]] = []
    for result in results:
        receipt = result.receipt
        if receipt is None or receipt.status == "quarantined":
            raise RuntimeError(f"event {result.index} was not stored: {result.as_dict()}")
        outcomes.append((receipt.status, getattr(receipt, "notifications", 0)))
    return outcomes


def ingest(engine: Engine, policy: Policy, event: dict[str, Any]) -> tuple[str, int]:
    # As the API does: a session per request, one commit at the end of the work.
    with Session(engine, expire_on_commit=False) as session:
        receipt = ingest_event(session=session, candidate=event, policy=policy)
        session.commit()
    return receipt.status, receipt.notifications


@dataclass(frozen=True)
class Mode:
    """How events go in: one per transaction (``batch_size`` 0), or in batches."""

    batch_size: int

    def chunks(self, events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        size = self.batch_size or 1
        return [events[i : i + size] for i in range(0, len(events), size)]


def run_baseline(mode: Mode, engine: Engine, events: list[dict[str, Any]], phase: Phase) -> None:
    for chunk in mode.chunks(events):
        started = time.perf_counter()
        if mode.batch_size:
            store_raw_many(engine, chunk)
        else:
            store_raw(engine, chunk[0])
        phase.add(time.perf_counter() - started, len(chunk))


def run_ingest(
    mode: Mode,
    engine: Engine,
    policy: Policy,
    events: list[dict[str, Any]],
    phase: Phase,
    status: str,
) -> int:
    notifications = 0
    for chunk in mode.chunks(events):
        started = time.perf_counter()
        if mode.batch_size:
            outcomes = ingest_many(engine, policy, chunk, mode.batch_size)
        else:
            outcomes = [ingest(engine, policy, chunk[0])]
        phase.add(time.perf_counter() - started, len(chunk))
        for event, (outcome, count) in zip(chunk, outcomes, strict=True):
            if outcome != status:
                raise RuntimeError(f"{event['source_event_id']}: expected {status}, got {outcome}")
            notifications += count
    return notifications


def count_rows(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"select count(*) from {table}")).scalar_one())


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0] if __doc__ else "ingest throughput",
        count_flag="events",
        default=DEFAULT_EVENTS,
        quick=QUICK_EVENTS,
        subjects=DEFAULT_SUBJECTS,
        rounds=DEFAULT_ROUNDS,
        extra=_mode_options,
    )
    batch_size = args.batch_size if args.mode == "batch" else 0
    if batch_size < 0:
        raise SystemExit("--batch-size must be positive")
    if args.mode == "batch" and not args.quick and args.events == DEFAULT_EVENTS:
        args.events = DEFAULT_BATCH_EVENTS
    if batch_size and args.rounds == DEFAULT_ROUNDS:
        args.rounds = -(-args.events // batch_size)  # one batch per round
    mode = Mode(batch_size)
    quiet_logs()
    policy = cached_policy(default_policy_path())
    events = [follow_up(i, args.subjects) for i in range(args.events)]
    ingest_phase, baseline_phase, replay_phase = Phase(), Phase(), Phase()

    with workspace() as tmp, throwaway_database(args.database, tmp) as url:
        settings = Settings(
            environment=Environment.TEST, database_url=url, outbox_dir=tmp / "outbox"
        )
        engine = make_engine(settings.database_url)
        try:
            label = database_label(engine)
            _raw_metadata.create_all(engine)
            links = seed_cases(engine=engine, policy=policy, subjects=args.subjects)
            # Warm the baseline's statement cache as seeding warmed ingest's; untimed.
            run_baseline(mode, engine, [booking(i) for i in range(args.subjects)], Phase())

            notifications = 0
            offset = 0
            pairs: list[tuple[float, float]] = []
            for round_no, size in enumerate(split(args.events, args.rounds)):
                chunk = events[offset : offset + size]
                offset += size
                ingest_before, baseline_before = ingest_phase.seconds, baseline_phase.seconds
                if round_no % 2:
                    notifications += run_ingest(
                        mode, engine, policy, chunk, ingest_phase, "accepted"
                    )
                    run_baseline(mode, engine, chunk, baseline_phase)
                else:
                    run_baseline(mode, engine, chunk, baseline_phase)
                    notifications += run_ingest(
                        mode, engine, policy, chunk, ingest_phase, "accepted"
                    )
                pairs.append(
                    (
                        ingest_phase.seconds - ingest_before,
                        baseline_phase.seconds - baseline_before,
                    )
                )

            # Replays: an upstream system resending what it already sent (every 4th event).
            replays = events[::4]
            run_ingest(mode, engine, policy, replays, replay_phase, "duplicate")

            stored_events = count_rows(engine, "case_event")
            stored_notifications = count_rows(engine, "notification")
        finally:
            engine.dispose()

    expected = args.events * NOTIFICATIONS_PER_EVENT
    if notifications != expected or stored_notifications != expected:
        raise RuntimeError(
            f"expected {expected} notification rows, receipts said {notifications}, "
            f"the table holds {stored_notifications}"
        )
    suffix = "_batch" if mode.batch_size else ""
    result = Result(
        name=f"ingest_throughput{suffix}_{args.database}",
        value=ingest_phase.rate,
        unit="events/s",
        baseline=baseline_phase.rate,
        target=TARGETS[args.mode],
    )
    shape = f"batches of {mode.batch_size}" if mode.batch_size else "one event per transaction"
    report(
        [
            ("database", label),
            (
                "workload",
                f"{args.events} events over {args.subjects} subjects, {links} verified links, "
                f"{args.rounds} interleaved rounds, {shape}",
            ),
            ("rows", f"{stored_events} case_event (incl. seed), {stored_notifications} outbox"),
            ("ingest", ingest_phase.describe("events/s")),
            (
                "baseline raw insert" + (" (multi-row)" if mode.batch_size else ""),
                baseline_phase.describe("events/s"),
            ),
            ("replay (duplicate)", replay_phase.describe("replays/s")),
            ("ratio per round", spread(pairs)),
        ],
        result,
    )


def _mode_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=sorted(TARGETS),
        default="per-event",
        help="one event per transaction (default), or batches through ingest_batch",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"events per batch in batch mode ({DEFAULT_BATCH_SIZE})",
    )


if __name__ == "__main__":
    main()
