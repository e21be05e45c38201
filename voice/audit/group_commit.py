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
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.audit.service import Disclosures, record_all

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    disclosures: Disclosures
    done: Future[None] = field(default_factory=Future)


class AccountingWriter:
    """Commits accounting records for concurrent callers in shared transactions."""

    def __init__(self, engine: Engine, *, max_batch: int = 512) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._ready = threading.Condition()
        # Held for the whole of each batch, taken before the batch leaves the queue: whatever
        # arrives while a batch commits waits for the next one.
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.batches = 0  # transactions committed, for tests and the benchmark's report

    def record(self, disclosures: Disclosures) -> None:
        """Return once ``disclosures`` are committed to the accounting; raise if they are not."""
        self._submit(disclosures).result()

    async def record_async(self, disclosures: Disclosures) -> None:
        """``record`` for the event loop."""
        await asyncio.wrap_future(self._submit(disclosures))

    def close(self) -> None:
        """Commit what is queued and stop the thread (app shutdown); a later call restarts it."""
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._ready:
            self._stopping = False

    def _submit(self, disclosures: Disclosures) -> Future[None]:
        waiting = _Waiting(disclosures)
        with self._ready:
            self._queue.append(waiting)
            if self._thread is None:
                # Started on first use, so an app, a test or a script needs no start-up step.
                self._thread = threading.Thread(
                    target=self._run, name="voice-accounting-writer", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return waiting.done

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    # Decided under the lock: whoever queues after this starts a new thread.
                    self._thread = None
                    return
            with self._write_lock:
                with self._ready:
                    taken = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                # A caller cancelled before its entry was taken (an async caller whose task was
                # cancelled) will send nothing, so there is nothing to account for. Once taken,
                # an entry can no longer be cancelled: it is written, whoever still waits.
                batch = [w for w in taken if w.done.set_running_or_notify_cancel()]
                if batch:
                    try:
                        self._write(batch)
                    except Exception as exc:
                        # The thread must outlive any surprise: callers are waiting on it.
                        log.error("accounting writer failed (%s)", type(exc).__name__)
                        for waiting in batch:
                            if not waiting.done.done():
                                waiting.done.set_exception(exc)

    def _write(self, batch: list[_Waiting]) -> None:
        try:
            self._commit(batch)
        except Exception as exc:
            if len(batch) > 1:
                log.warning("accounting batch failed (%s); retrying one by one", type(exc).__name__)
                for one in batch:
                    self._write([one])
                return
            batch[0].done.set_exception(exc)
        else:
            self.batches += 1
            for waiting in batch:
                waiting.done.set_result(None)

    def _commit(self, batch: list[_Waiting]) -> None:
        with Session(self._engine) as session:
            record_all(session=session, batch=[waiting.disclosures for waiting in batch])
            session.commit()
