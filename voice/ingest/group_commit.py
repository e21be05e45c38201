"""Group commit for events posted one at a time.

A feed posts its events one request each, many at once. Applied each in its own transaction,
they queue for the database's write lock one by one. On SQLite, one process's writers take
turns (``voice.database.WriterTurns``), and every hand-over of the turn waits for the woken
thread to be scheduled and to win the interpreter lock back from the other requests and the
worker's sends. Under a feed's load that hand-over, not the work, is what an event waits for:
one API process accepted about 25 events a second while each event's own work took a tenth
of that time. On PostgreSQL each event pays its own commit.

So a request hands its event to the ``EventWriter`` and waits for the outcome. One thread
takes everything queued at that moment and applies it in one transaction, each event with
``service.ingest_event`` inside a savepoint of its own, so every event keeps its own outcome:
a receipt, or the error the request answers with (invalid, an id reused, quarantined). One bad
event never fails its neighbours; a group whose commit fails is applied again event by event,
each alone. Nothing is answered before it is committed. Each event runs in its request's
context, so its trace and log fields are the request's.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.batches import BatchThread
from voice.disclosure.policy import Policy
from voice.ingest import service

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    candidate: Any
    policy: Policy
    # The request's context (trace, request id), for the event's spans and log lines.
    context: contextvars.Context
    done: Future[service.Receipt] = field(default_factory=Future)


@dataclass
class _Outcome:
    waiting: _Waiting
    receipt: service.Receipt | None = None
    error: BaseException | None = None


class EventWriter:
    """Applies single events for concurrent requests in shared transactions."""

    def __init__(self, engine: Engine, *, max_batch: int = 32) -> None:
        self._engine = engine
        self._batches = BatchThread("voice-event-writer", self._handle, max_batch=max_batch)
        self.batches = 0  # transactions committed, for tests and the benchmark's report

    def apply(self, candidate: Any, policy: Policy) -> service.Receipt:
        """``service.ingest_event`` for ``candidate``, committed: its receipt, or its error."""
        return self._submit(candidate, policy).result()

    async def apply_async(self, candidate: Any, policy: Policy) -> service.Receipt:
        """``apply`` for the event loop; it holds no thread while it waits."""
        return await asyncio.wrap_future(self._submit(candidate, policy))

    def queued(self) -> int:
        return self._batches.queued()

    def close(self) -> None:
        """Apply what is queued and stop the thread (app shutdown); a later call restarts it."""
        self._batches.close()

    def _submit(self, candidate: Any, policy: Policy) -> Future[service.Receipt]:
        waiting = _Waiting(candidate, policy, contextvars.copy_context())
        self._batches.put([waiting])
        return waiting.done

    def _handle(self, taken: list[_Waiting]) -> None:
        # A request cancelled before its event was taken (the client went away) is not
        # applied. Once taken, an event can no longer be cancelled: it is applied and
        # committed whoever still waits, as it would have been inside its own request.
        batch = [w for w in taken if w.done.set_running_or_notify_cancel()]
        if not batch:
            return
        try:
            self._write(batch)
        except BaseException as exc:
            # The thread must outlive any surprise: requests are waiting on it.
            log.error("event writer failed (%s)", type(exc).__name__)
            for waiting in batch:
                if not waiting.done.done():
                    waiting.done.set_exception(exc)

    def _write(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = self._commit(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].done.set_exception(exc)
                return
            log.warning("event group failed (%s); applying one by one", type(exc).__name__)
            for one in batch:
                self._write([one])
            return
        self.batches += 1
        for outcome in outcomes:
            if outcome.error is not None:
                outcome.waiting.done.set_exception(outcome.error)
            else:
                assert outcome.receipt is not None
                outcome.waiting.done.set_result(outcome.receipt)

    def _commit(self, batch: list[_Waiting]) -> list[_Outcome]:
        with Session(self._engine, expire_on_commit=False) as session:
            outcomes = [w.context.run(_apply_one, session, w) for w in batch]
            session.commit()
        return outcomes


def _apply_one(session: Session, waiting: _Waiting) -> _Outcome:
    """One event in a savepoint of its own: what it wrote stays only if it is kept."""
    savepoint = session.begin_nested()
    try:
        receipt = service.ingest_event(
            session=session, candidate=waiting.candidate, policy=waiting.policy
        )
    except service.EventQuarantined as exc:
        # The quarantine row is the answer's substance: it commits with the group.
        savepoint.commit()
        return _Outcome(waiting, error=exc)
    except Exception as exc:
        # Invalid, an id reused, or the database refused it: nothing of it stays, and its
        # neighbours go on.
        savepoint.rollback()
        return _Outcome(waiting, error=exc)
    savepoint.commit()
    return _Outcome(waiting, receipt=receipt)
