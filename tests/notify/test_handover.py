"""Each hand-over is recorded as soon as its provider accepted it, with its accounting, before
the next message is sent: a crash can repeat only the message in flight."""

from __future__ import annotations

import math
import threading
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from tests.notify.test_outage import queue_release
from voice.audit.models import DisclosureRecord
from voice.config import Settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.notify import breaker, outbox, tasks
from voice.notify.adapters.base import OutgoingEmail
from voice.notify.adapters.memory import MemorySmsSender
from voice.notify.context import WorkerContext
from voice.notify.handover import Gate
from voice.notify.models import BreakerState, Notification, NotificationStatus


@pytest.fixture(autouse=True)
def rounds_end_when_nothing_more_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """A round also ends once it has run ``outbox.ROUND_SECONDS`` of wall-clock time. These
    tests count what one round claims across several batches, so a slow machine must not cut
    a round short: only a short batch ends it here (the lease's quarter still bounds it)."""
    monkeypatch.setattr(outbox, "ROUND_SECONDS", math.inf)


class WatchingEmailSender:
    """Before accepting each message, notes what the database already holds as handed over."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[int, int]] = []
        # Each note goes into ``seen`` in the order of the reads: with the read and the append
        # apart, a thread could read, lose the processor, and append its (older) counts after
        # other threads had read, sent and appended theirs, so that the n-th entry was not the
        # n-th send's and the checks below failed at random under load.
        self._noting = threading.Lock()

    def send(self, *, message: OutgoingEmail) -> str:
        # One statement, so one snapshot: on PostgreSQL two statements each see the commits
        # made before they start, and another thread's hand-over could land between them.
        handed = (
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.provider_ref).is_not(None))
            .scalar_subquery()
        )
        accounted = select(func.count()).select_from(DisclosureRecord).scalar_subquery()
        with self._noting, Session(self.engine) as session:
            row = session.exec(select(handed, accounted)).one()
            self.seen.append((row[0], row[1]))
        return f"accepted-{message.reference}"


def test_every_accepted_message_is_committed_before_the_next_is_sent(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    queue_release(committed_engine, policy, 5)
    watcher = WatchingEmailSender(committed_engine)
    ctx = WorkerContext(
        engine=committed_engine,
        settings=settings.model_copy(update={"worker_send_concurrency": 1}),
        policy=policy,
        email=watcher,
        sms=MemorySmsSender(),
        worker_id="w-handover",
    )

    assert outbox.run_once(ctx, tasks.NOTIFICATIONS) == 5  # one batch

    # The n-th send found the n messages before it handed over and accounted for.
    assert watcher.seen == [(n, n) for n in range(5)]
    with Session(committed_engine) as session:
        statuses = session.exec(select(Notification.status)).all()
    assert set(statuses) == {NotificationStatus.SENT}


def test_with_several_send_threads_no_message_waits_for_the_whole_batch(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    queue_release(committed_engine, policy, 12)
    watcher = WatchingEmailSender(committed_engine)
    ctx = WorkerContext(
        engine=committed_engine,
        settings=settings.model_copy(update={"worker_send_concurrency": 3}),
        policy=policy,
        email=watcher,
        sms=MemorySmsSender(),
        worker_id="w-handover",
    )

    assert outbox.run_once(ctx, tasks.NOTIFICATIONS) == 12

    # Each thread waits for its own hand-over before sending again: at any send, at most
    # the other threads' messages (in flight) are not yet recorded.
    for n, (handed, accounted) in enumerate(watcher.seen):
        assert handed == accounted
        assert handed >= n - (3 - 1)


def test_a_probe_whose_answer_cannot_be_recorded_leaves_no_thread_waiting() -> None:
    now = utcnow()
    gate = Gate({"email:smtp": breaker.Permit(send=False, probe=True)}, now)
    assert gate.admit("email:smtp") is None  # this thread takes the probe
    waiting: list[datetime | None] = []
    other = threading.Thread(target=lambda: waiting.append(gate.admit("email:smtp")))
    other.start()
    gate.unanswered("email:smtp")  # the probe's commit failed
    other.join(timeout=60)
    assert not other.is_alive()
    assert waiting == [now]  # held back for this batch, due again at once


def test_a_probe_that_succeeds_lets_the_rest_of_the_batch_go() -> None:
    now = utcnow()
    gate = Gate({"sms:twilio": breaker.Permit(send=False, probe=True)}, now)
    assert gate.admit("sms:twilio") is None
    admitted: list[datetime | None] = []
    other = threading.Thread(target=lambda: admitted.append(gate.admit("sms:twilio")))
    other.start()
    gate.answered("sms:twilio", BreakerState.CLOSED, now)
    other.join(timeout=60)
    assert admitted == [None]


def test_a_batch_prepared_in_chunks_is_sent_once_and_accounted_for(
    committed_engine: Engine, settings: Settings, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first chunk is sent while the next ones are prepared; every row still goes out once.
    monkeypatch.setattr(outbox, "PREPARE_CHUNK", 4)
    queue_release(committed_engine, policy, 11)
    watcher = WatchingEmailSender(committed_engine)
    ctx = WorkerContext(
        engine=committed_engine,
        settings=settings.model_copy(update={"worker_send_concurrency": 3}),
        policy=policy,
        email=watcher,
        sms=MemorySmsSender(),
        worker_id="w-chunks",
    )

    assert outbox.run_once(ctx, tasks.NOTIFICATIONS) == 11

    assert len(watcher.seen) == 11
    with Session(committed_engine) as session:
        statuses = session.exec(select(Notification.status)).all()
        accounted = session.exec(select(DisclosureRecord.notification_id)).all()
    assert statuses == [NotificationStatus.SENT] * 11
    assert sorted(n or 0 for n in accounted) == _ids(committed_engine)


def _ids(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return sorted(n or 0 for n in session.exec(select(Notification.id)).all())


class CountingClaims:
    """The notifications' outbox, noting how many rows each claim took."""

    def __init__(self) -> None:
        self.claims: list[int] = []

    def claim(self, **options: Any) -> list[int]:
        ids = tasks.NOTIFICATIONS.claim(**options)
        self.claims.append(len(ids))
        return ids

    def __getattr__(self, name: str) -> Any:
        return getattr(tasks.NOTIFICATIONS, name)


class ClaimWatchingEmailSender(WatchingEmailSender):
    """Also notes, before each send, how many rows are claimed and not yet handed over."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.outstanding: list[int] = []

    def send(self, *, message: OutgoingEmail) -> str:
        with Session(self.engine) as session:
            leased = session.exec(
                select(func.count())
                .select_from(Notification)
                .where(col(Notification.claimed_by).is_not(None))
            ).one()
        self.outstanding.append(leased)
        return super().send(message=message)


def test_a_round_claims_the_next_batch_while_one_sends_and_no_further(
    committed_engine: Engine, settings: Settings, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "PREPARE_CHUNK", 2)
    queue_release(committed_engine, policy, 10)
    watcher = ClaimWatchingEmailSender(committed_engine)
    batch, threads = 4, 3
    ctx = WorkerContext(
        engine=committed_engine,
        settings=settings.model_copy(
            update={"worker_send_concurrency": threads, "worker_batch_size": batch}
        ),
        policy=policy,
        email=watcher,
        sms=MemorySmsSender(),
        worker_id="w-round",
    )
    counting = CountingClaims()

    assert outbox.run_once(ctx, counting) == 10

    # Batch after batch in one round; the short one says nothing more was due, so no claim
    # follows it.
    assert counting.claims == [4, 4, 2]
    # A claim comes once at most a chunk waits for a thread: never more outstanding than a
    # batch, a chunk and what the threads have in flight.
    assert max(watcher.outstanding) <= batch + 2 + threads
    assert len(watcher.seen) == 10
    for n, (handed, accounted) in enumerate(watcher.seen):
        assert handed == accounted
        assert handed >= n - (threads - 1)
    with Session(committed_engine) as session:
        statuses = session.exec(select(Notification.status)).all()
        accounted_for = session.exec(select(DisclosureRecord.notification_id)).all()
    assert statuses == [NotificationStatus.SENT] * 10
    assert sorted(n or 0 for n in accounted_for) == _ids(committed_engine)


def test_a_round_that_finds_nothing_more_due_ends(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    queue_release(committed_engine, policy, 8)
    ctx = WorkerContext(
        engine=committed_engine,
        settings=settings.model_copy(update={"worker_send_concurrency": 2, "worker_batch_size": 4}),
        policy=policy,
        email=WatchingEmailSender(committed_engine),
        sms=MemorySmsSender(),
        worker_id="w-round",
    )
    counting = CountingClaims()

    assert outbox.run_once(ctx, counting) == 8
    assert counting.claims == [4, 4, 0]
    assert outbox.run_once(ctx, counting) == 0


class CountingReads(CountingClaims):
    """Also notes how many rows each prepare read took."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []

    def prepare(self, session: Session, ctx: WorkerContext, ids: list[int]) -> Any:
        self.reads.append(len(ids))
        return tasks.NOTIFICATIONS.prepare(session, ctx, ids)


def test_once_sends_are_under_way_the_rest_of_each_batch_is_prepared_in_one_read(
    committed_engine: Engine, settings: Settings, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "PREPARE_CHUNK", 2)
    queue_release(committed_engine, policy, 13)
    ctx = WorkerContext(
        engine=committed_engine,
        settings=settings.model_copy(update={"worker_send_concurrency": 3, "worker_batch_size": 5}),
        policy=policy,
        email=WatchingEmailSender(committed_engine),
        sms=MemorySmsSender(),
        worker_id="w-reads",
    )
    counting = CountingReads()

    assert outbox.run_once(ctx, counting) == 13

    # A small first read, so the first sends start at once; then a read per batch, however
    # many rows the batch holds (each read costs its statements and a commit).
    assert counting.claims == [5, 5, 3]
    assert counting.reads == [2, 3, 5, 3]
    with Session(committed_engine) as session:
        statuses = session.exec(select(Notification.status)).all()
        accounted = session.exec(select(DisclosureRecord.notification_id)).all()
    assert statuses == [NotificationStatus.SENT] * 13
    assert sorted(n or 0 for n in accounted) == _ids(committed_engine)
