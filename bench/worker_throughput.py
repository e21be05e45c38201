"""Notifications per second delivered by ``voice.notify.tasks.run_once`` to the file adapters.

Measured: the claim (lease), then per notification the prepare read with the send-time
disclosure filter, the jinja2 render, the real ``FileEmailSender`` / ``FileSmsSender`` write
(fsync + atomic rename) into a temp folder, and the finish with its ``DisclosureRecord``.
Notifications come from ingesting events (untimed) against cases that each have one verified
email link and one verified SMS link, so both channels and both languages are exercised.

Baseline, in the same run: writing the same number of files, byte for byte the size the worker
wrote, with the same atomic write helper (``voice.notify.adapters.file._write_atomically``) and
no database. Worker and baseline alternate in rounds so machine noise lands on both.

Last stdout line: ``{"name", "value", "unit", "baseline", "ratio", "target"}``, ratio =
value / baseline. See bench/README.md.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from _common import (
    Result,
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

from voice.config import Environment, Settings
from voice.database import make_engine, transaction
from voice.disclosure.policy import Policy, cached_policy, default_policy_path
from voice.ingest.service import ingest_batch
from voice.notify import guard, outbox, tasks
from voice.notify.adapters.file import FileEmailSender, FileSmsSender, _write_atomically
from voice.notify.models import NotificationStatus
from voice.notify.tasks import WorkerContext
from voice.worker import make_context

TARGET = 0.1
DEFAULT_NOTIFICATIONS = 1000
QUICK_NOTIFICATIONS = 20
DEFAULT_SUBJECTS = 50
DEFAULT_ROUNDS = 4
NOTIFICATIONS_PER_EVENT = 2


class TimedDeliver:
    """Wraps ``outbox.deliver_batch`` to time each call; ``run_once`` looks it up per call.

    A call delivers the batch ``run_once`` claimed and those it claims while that one sends
    (``more``): prepared in chunks, sent side by side, each settled as it is accepted. Each
    notification is charged the call's time divided by the rows it delivered.
    """

    def __init__(self) -> None:
        self._inner = outbox.deliver_batch
        self.latencies: list[float] = []
        self.outcomes: Counter[str] = Counter()

    def __call__(
        self,
        ctx: WorkerContext,
        kind: outbox.Outbox[Any],
        notification_ids: list[int],
        **options: Any,
    ) -> dict[int, NotificationStatus | None]:
        started = time.perf_counter()
        statuses = self._inner(ctx, kind, notification_ids, **options)
        elapsed = time.perf_counter() - started
        share = elapsed / max(1, len(statuses))
        self.latencies.extend([share] * len(statuses))
        for status in statuses.values():
            self.outcomes[status.value if status is not None else "lease lost"] += 1
        return statuses


def enqueue(engine: Engine, policy: Policy, first: int, count: int, subjects: int) -> int:
    """Ingest ``count`` events in one transaction (untimed); return the notifications queued."""
    events = [follow_up(first + i, subjects) for i in range(count)]
    # A fifth of the synthetic events are releases, all at once: the mass-event guard would
    # (rightly) hold them; this bench measures delivery, so the seed goes around it.
    with guard.suspended(), transaction(engine) as session:
        results = ingest_batch(session=session, candidates=events, policy=policy)
    queued = 0
    for result in results:
        if result.receipt is None or result.receipt.status != "accepted":
            raise RuntimeError(f"seed event {result.index} was not accepted: {result.as_dict()}")
        queued += result.receipt.notifications
    return queued


def outbox_files(outbox: Path) -> set[Path]:
    return {path for path in outbox.rglob("*") if path.is_file()}


def write_baseline(folder: Path, payloads: list[tuple[str, bytes]], first: int) -> float:
    """Write each payload as its own file with the adapters' atomic helper; seconds taken."""
    started = time.perf_counter()
    for offset, (suffix, data) in enumerate(payloads):
        _write_atomically(folder / f"b-{first + offset:08d}{suffix}", data)
    return time.perf_counter() - started


@dataclass
class Totals:
    worker_seconds: float = 0.0
    baseline_seconds: float = 0.0
    batches: int = 0
    file_bytes: list[int] = field(default_factory=list)
    # (worker seconds, baseline seconds) per batch, for the spread of per-batch ratios
    pairs: list[tuple[float, float]] = field(default_factory=list)


def drain(ctx: WorkerContext, expected: int, baseline_dir: Path, totals: Totals) -> None:
    """Call ``run_once`` until ``expected`` were claimed, each batch followed by its baseline.

    The baseline writes what the worker's batch just wrote (same count, same bytes) straight
    after it, so both see the same disk and CPU weather. Listing the folder is not timed.
    """
    outbox = ctx.settings.outbox_dir
    claimed = 0
    while claimed < expected:
        before = outbox_files(outbox)
        started = time.perf_counter()
        got = tasks.run_once(ctx)
        worker_seconds = time.perf_counter() - started
        if got == 0:
            raise RuntimeError(f"the worker found nothing due after {claimed} of {expected}")
        claimed += got
        totals.batches += 1
        written = sorted(outbox_files(outbox) - before)
        payloads = [(path.suffix, path.read_bytes()) for path in written]
        baseline_seconds = write_baseline(baseline_dir, payloads, len(totals.file_bytes))
        totals.worker_seconds += worker_seconds
        totals.baseline_seconds += baseline_seconds
        totals.pairs.append((worker_seconds, baseline_seconds))
        totals.file_bytes.extend(len(data) for _, data in payloads)


def count_rows(engine: Engine, table: str, where: str = "") -> int:
    with engine.connect() as connection:
        query = f"select count(*) from {table} {where}"
        return int(connection.execute(sa.text(query)).scalar_one())


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0] if __doc__ else "worker throughput",
        count_flag="notifications",
        default=DEFAULT_NOTIFICATIONS,
        quick=QUICK_NOTIFICATIONS,
        subjects=DEFAULT_SUBJECTS,
        rounds=DEFAULT_ROUNDS,
    )
    quiet_logs()
    policy = cached_policy(default_policy_path())
    # Every event queues one email and one SMS; an odd request is rounded up to the next pair.
    events = math.ceil(args.notifications / NOTIFICATIONS_PER_EVENT)
    timer = TimedDeliver()
    totals = Totals()
    delivered = 0

    with workspace() as tmp, throwaway_database(args.database, tmp) as url:
        settings = Settings(
            environment=Environment.TEST, database_url=url, outbox_dir=tmp / "outbox"
        )
        engine = make_engine(settings.database_url)
        try:
            label = database_label(engine)
            links = seed_cases(engine=engine, policy=policy, subjects=args.subjects)
            ctx = make_context(engine=engine, settings=settings, policy=policy)
            if not isinstance(ctx.email, FileEmailSender) or not isinstance(ctx.sms, FileSmsSender):
                raise RuntimeError("the bench needs the file adapters (VOICE_*_ADAPTER=file)")

            first = 0
            with mock.patch.object(outbox, "deliver_batch", timer):
                for size in split(events, args.rounds):
                    queued = enqueue(engine, policy, first, size, args.subjects)
                    drain(ctx, queued, tmp / "baseline", totals)
                    delivered += queued
                    first += size

            sent = count_rows(engine, "notification", "where status = 'sent'")
            records = count_rows(engine, "disclosure_record")
        finally:
            engine.dispose()

    sizes = totals.file_bytes
    if sent != delivered or records != delivered or len(sizes) != delivered:
        raise RuntimeError(
            f"{delivered} claimed, but {sent} sent, {records} disclosure records, "
            f"{len(sizes)} files; outcomes {dict(timer.outcomes)}"
        )
    value = delivered / totals.worker_seconds
    baseline = delivered / totals.baseline_seconds
    per_batch_claim = (totals.worker_seconds - sum(timer.latencies)) / totals.batches
    latencies = timer.latencies
    result = Result(
        name=f"worker_throughput_{args.database}",
        value=value,
        unit="notifications/s",
        baseline=baseline,
        target=TARGET,
    )
    report(
        [
            ("database", label),
            (
                "workload",
                f"{delivered} notifications ({events} events over {args.subjects} subjects, "
                f"{links} verified links), batch size {settings.worker_batch_size}, "
                f"{args.rounds} enqueue rounds",
            ),
            ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(timer.outcomes.items()))),
            ("rows", f"{sent} sent, {records} disclosure records"),
            (
                "files",
                f"{len(sizes)}, {min(sizes)}..{max(sizes)} bytes, "
                f"mean {sum(sizes) / len(sizes):.0f}",
            ),
            (
                "worker",
                f"{value:9.1f} notifications/s ({delivered} in {totals.worker_seconds:.2f} s, "
                f"{totals.batches} batches)",
            ),
            (
                "per-notification",
                f"p50 {percentile(latencies, 0.5) * 1e3:.2f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1e3:.2f} ms, "
                f"max {max(latencies) * 1e3:.2f} ms (a round's time over its rows)",
            ),
            ("per-batch claim", f"{per_batch_claim * 1e3:.2f} ms (run_once minus deliveries)"),
            (
                "baseline file write",
                f"{baseline:9.1f} files/s ({delivered} in {totals.baseline_seconds:.2f} s)",
            ),
            ("ratio per batch", spread(totals.pairs).replace("rounds", "batches")),
        ],
        result,
    )


if __name__ == "__main__":
    main()
