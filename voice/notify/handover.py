"""Recording each hand-over as soon as its provider has answered, and the breaker's gate.

A batch's sends run side by side. Each sending thread hands its outcome to one writer thread
and waits until the writer has committed it, before it sends anything else. So a crash
(``kill -9``) repeats at most the message each thread has in flight, under the same
reference and Message-ID, and never a message whose hand-over was already accepted. The writer
commits whatever outcomes are waiting at that moment together (group commit): the sent state,
the accounting of disclosures (in the same commit, invariant 4) and the breaker's count.

The gate holds the breakers' word for the batch: a channel whose breaker is open is not sent
to (its rows go back to due), a half-open one sends a single probe first.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from voice.database import transaction
from voice.notify import breaker
from voice.notify.context import WorkerContext
from voice.notify.models import BreakerState

log = logging.getLogger(__name__)

R = TypeVar("R")
# Outcomes committed together at most; more wait for the next commit.
MAX_GROUP = 64
# How long the writer waits, once an outcome is in, for the other sends in flight to answer
# too. A commit costs far more than a row in it, and small groups (3 or 4 rows out of 8
# threads) had made the commits, not the sends, what a batch waited for.
LINGER_SECONDS = 0.02


class Gate:
    """Which channels this batch may send to, kept current as the writer commits answers."""

    def __init__(self, permits: dict[str, breaker.Permit], now: datetime) -> None:
        self._permits = dict(permits)
        self._now = now
        self._probing: set[str] = set()
        self._changed = threading.Condition()

    def asked(self) -> set[str]:
        """The channels whose breakers this gate has heard from."""
        with self._changed:
            return set(self._permits)

    def add(self, permits: dict[str, breaker.Permit]) -> None:
        """The word of breakers asked later in the batch, for channels not asked before."""
        with self._changed:
            for key, permit in permits.items():
                self._permits.setdefault(key, permit)
            self._changed.notify_all()

    def admit(self, key: str) -> datetime | None:
        """None to send now; else the time until which the row should wait."""
        with self._changed:
            while True:
                permit = self._permits[key]
                if permit.send:
                    return None
                if not permit.probe:
                    return permit.wait_until or self._now
                if key not in self._probing:
                    self._probing.add(key)
                    return None
                # The probe is out: wait for its answer rather than defer the whole batch.
                self._changed.wait()

    def unanswered(self, key: str) -> None:
        """An answer could not be recorded: hold the channel back for this batch, so that no
        thread waits for a probe's answer that will not come."""
        with self._changed:
            self._permits[key] = breaker.Permit(send=False, wait_until=self._now)
            self._changed.notify_all()

    def answered(self, key: str, state: BreakerState, retry_at: datetime) -> None:
        with self._changed:
            if state is BreakerState.OPEN:
                self._permits[key] = breaker.Permit(send=False, wait_until=retry_at)
            elif state is BreakerState.CLOSED and key in self._probing:
                self._permits[key] = breaker.SEND
            self._changed.notify_all()


@dataclass
class _Waiting(Generic[R]):
    item: R
    result: Any
    key: str
    done: Future[None] = field(default_factory=Future)


class HandOver(Generic[R]):
    """One writer thread for a batch: commits outcomes as they come, in small groups."""

    def __init__(self, ctx: WorkerContext, outbox: Any, gate: Gate) -> None:
        self._ctx = ctx
        self._outbox = outbox
        self._gate = gate
        self._queue: list[_Waiting[R]] = []
        self._ready = threading.Condition()
        self._stopping = False
        # Sends started and not yet taken into a commit (``started``).
        self._in_flight = 0
        self.outcomes: dict[int, Any] = {}
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="voice-handover", daemon=True)
        self._thread.start()

    def started(self) -> None:
        """A send has begun: the writer waits a little for its answer (``LINGER_SECONDS``)."""
        with self._ready:
            self._in_flight += 1

    def abandoned(self) -> None:
        """A send that ``started`` will hand nothing over."""
        with self._ready:
            self._in_flight -= 1
            self._ready.notify()

    def submit(self, item: R, result: Any, key: str) -> None:
        """Return once the outcome is committed; raise if it could not be."""
        waiting = _Waiting(item, result, key)
        with self._ready:
            self._queue.append(waiting)
            self._ready.notify()
        waiting.done.result()

    def close(self) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                deadline = time.monotonic() + LINGER_SECONDS
                while len(self._queue) < min(self._in_flight, MAX_GROUP) and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                # Answers submitted without ``started`` (none today) must not count below zero.
                self._in_flight = max(0, self._in_flight - len(group))
            try:
                self._commit(group)
            except Exception:
                # One bad outcome must not sink the others: each alone, and its own error.
                for waiting in group:
                    try:
                        self._commit([waiting])
                    except Exception as exc:
                        log.error("hand-over not recorded (%s)", type(exc).__name__)
                        self._gate.unanswered(waiting.key)
                        waiting.done.set_exception(exc)

    def _commit(self, group: list[_Waiting[R]]) -> None:
        ctx = self._ctx
        now = ctx.now()
        with transaction(ctx.engine) as session:
            outcomes = self._outbox.settle(
                session, ctx, [w.item for w in group], [w.result for w in group]
            )
            states = _count(session, ctx, group, now)
        self.commits += 1
        self.outcomes.update(outcomes)
        retry_at = now + timedelta(seconds=ctx.settings.breaker_cooldown_seconds)
        for key, state in states.items():
            self._gate.answered(key, state, retry_at)
        for waiting in group:
            waiting.done.set_result(None)


def healthy(result: Any) -> bool:
    """Did the provider answer? Accepted, or refused for good (it was up to refuse)."""
    return result.provider_ref is not None or not result.retryable


def _count(
    session: Any, ctx: WorkerContext, group: list[_Waiting[R]], now: datetime
) -> dict[str, BreakerState]:
    """Count a group's answers on each breaker, in order: only the last healthy answer and the
    failures after it matter, so a group of successes costs one statement for all channels."""
    states: dict[str, BreakerState] = {}
    healthy_only: list[str] = []
    for key in dict.fromkeys(w.key for w in group):
        answers = [healthy(w.result) for w in group if w.key == key]
        last_ok = max((n for n, ok in enumerate(answers) if ok), default=-1)
        counted = answers[max(0, last_ok) :]
        if counted == [True]:
            healthy_only.append(key)
            continue
        for ok in counted:
            states[key] = breaker.record(
                session=session, key=key, healthy=ok, now=now, settings=ctx.settings
            )
    breaker.record_healthy(session=session, keys=healthy_only, now=now)
    states.update(dict.fromkeys(healthy_only, BreakerState.CLOSED))
    return states
