"""Group commit for the accounting of disclosures.

Nothing is released before its accounting records have committed, and the chain has one writer
at a time (voice/audit/chain.py). With a transaction per read, concurrent reads queue
for the chain's lock one by one: on PostgreSQL each pays its own commit, on SQLite each retries
the write lock from its busy handler, sleeping between tries. Under load that, not the work, is
what a reader waits for.

So a read hands its records to the ``AccountingWriter`` and waits for them. One thread per
writer takes everything queued at that moment and commits it together, as one extension of the
chain, in one transaction: records that arrive while a batch commits go into the next. A caller
learns of its own records only, once they are committed, or gets the error if they are not; a
batch that fails is retried entry by entry, so one bad entry fails only its own caller. Callers
wait on a future: a worker thread with ``record``, the event loop with ``record_async`` (which
holds no thread while it waits).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.audit.service import Disclosures, record_all
from voice.batches import BatchThread
from voice.metrics import ACCOUNTING_QUEUE

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    """One caller's entry: a thread waits on ``done``; the event loop on ``on_loop``."""

    disclosures: Disclosures
    done: Future[None] | None = None
    on_loop: asyncio.Future[None] | None = None

    def take(self) -> bool:
        """False if the caller gave up before the entry was taken: it is not written."""
        if self.on_loop is not None:
            # Read from the writer's thread: a cancel that lands just after this check finds
            # the entry taken, and it is written, as for any entry already taken.
            return not self.on_loop.cancelled()
        return self.done is None or self.done.set_running_or_notify_cancel()

    def settle(self, error: BaseException | None) -> None:
        """Tell a waiting thread (the loop's callers are told together, by ``_settle``)."""
        if self.done is not None and not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)


def _settle_on_loop(settled: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for future, error in settled:
        if future.done():  # cancelled while its batch committed
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class AccountingWriter:
    """Commits accounting records for concurrent callers in shared transactions."""

    def __init__(self, engine: Engine, *, max_batch: int = 512) -> None:
        self._engine = engine
        self._batches = BatchThread(
            "voice-accounting-writer", self._handle, max_batch=max_batch, counted=_counted
        )
        # Held while a batch commits: whatever arrives meanwhile waits for the next one.
        self._write_lock = self._batches.handling
        self.batches = 0  # transactions committed, for tests and the benchmark's report

    def record(self, disclosures: Disclosures) -> None:
        """Return once ``disclosures`` are committed to the accounting; raise if they are not."""
        self._submit(disclosures).result()

    async def record_async(self, disclosures: Disclosures) -> None:
        """``record`` for the event loop."""
        done = asyncio.get_running_loop().create_future()
        self.submit_from_loop([(disclosures, done)])
        await done

    def submit_from_loop(self, entries: list[tuple[Disclosures, asyncio.Future[None]]]) -> None:
        """Queue entries for callers on the running event loop, each settling its own future.

        The futures of one batch are settled together, in one call onto the loop: a wake-up
        of the loop per entry cost the loop more than the entry's share of the commit.
        """
        self._batches.put(
            [_Waiting(disclosures, on_loop=future) for disclosures, future in entries]
        )

    def queued(self) -> int:
        return self._batches.queued()

    def close(self) -> None:
        """Commit what is queued and stop the thread (app shutdown); a later call restarts it."""
        self._batches.close()

    def _submit(self, disclosures: Disclosures) -> Future[None]:
        done: Future[None] = Future()
        self._batches.put([_Waiting(disclosures, done)])
        return done

    def _handle(self, taken: list[_Waiting]) -> None:
        # A caller cancelled before its entry was taken (an async caller whose task was
        # cancelled) will send nothing, so there is nothing to account for. Once taken, an
        # entry can no longer be cancelled: it is written, whoever still waits.
        batch = [w for w in taken if w.take()]
        if not batch:
            return
        outcomes: dict[int, BaseException | None] = {}
        try:
            self._write(batch, outcomes)
        except Exception as exc:
            # The thread must outlive any surprise: callers are waiting on it.
            log.error("accounting writer failed (%s)", type(exc).__name__)
            for waiting in batch:
                outcomes.setdefault(id(waiting), exc)
        _settle(batch, outcomes)

    def _write(self, batch: list[_Waiting], outcomes: dict[int, BaseException | None]) -> None:
        """Commit ``batch``, noting each entry's outcome (None: committed) by its id."""
        try:
            self._commit(batch)
        except Exception as exc:
            if len(batch) > 1:
                log.warning("accounting batch failed (%s); retrying one by one", type(exc).__name__)
                for one in batch:
                    self._write([one], outcomes)
                return
            outcomes[id(batch[0])] = exc
        else:
            self.batches += 1
            for waiting in batch:
                outcomes[id(waiting)] = None

    def _commit(self, batch: list[_Waiting]) -> None:
        with Session(self._engine) as session:
            record_all(session=session, batch=[waiting.disclosures for waiting in batch])
            session.commit()


def _counted(change: int) -> None:
    ACCOUNTING_QUEUE.inc(change)


def _settle(batch: list[_Waiting], outcomes: dict[int, BaseException | None]) -> None:
    """Tell each caller of ``batch`` its own outcome: threads at once, each event loop in one
    call for all of its callers."""
    on_loops: dict[
        asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], BaseException | None]]
    ]
    on_loops = {}
    for waiting in batch:
        error = outcomes.get(id(waiting))
        if waiting.on_loop is None:
            waiting.settle(error)
        else:
            on_loops.setdefault(waiting.on_loop.get_loop(), []).append((waiting.on_loop, error))
    for loop, settled in on_loops.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, settled)
        except RuntimeError:
            # That loop has closed: nobody is left there to tell.
            log.warning("accounting committed for callers whose event loop has closed")
