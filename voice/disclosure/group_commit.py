"""Group commit for the accounting of disclosures.

Nothing is released before its accounting records have committed, and the chain has one writer
at a time (voice/disclosure/accounting.py). With a transaction per read, concurrent reads queue
for the chain's lock one by one: on PostgreSQL each pays its own commit, on SQLite each retries
the write lock from its busy handler, sleeping between tries. Under load that, not the work, is
what a reader waits for.

So a read hands its records to the ``AccountingWriter`` and waits. Whichever waiting caller
finds no write in progress becomes the leader: it takes every record queued at that moment and
commits them together, as one extension of the chain, in one transaction. The rest find their
records committed when they get the lock, or lead the next batch. A caller returns only once
its own records are committed, and raises if they are not; a batch that fails is retried one
caller at a time, so one bad entry cannot fail the others. Nothing here needs a thread of its
own: the callers' threads do the work.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.disclosure import accounting
from voice.disclosure.service import Disclosures, accounting_rows


@dataclass
class _Waiting:
    disclosures: Disclosures
    done: bool = False
    error: BaseException | None = None


class AccountingWriter:
    """Commits accounting records for concurrent callers in shared transactions."""

    def __init__(self, engine: Engine, *, max_batch: int = 512) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._queue_lock = threading.Lock()
        # Held by the leader for the whole of its transaction; taking it is how a caller waits.
        self._write_lock = threading.Lock()
        self.batches = 0  # transactions committed, for tests and the benchmark's report

    def record(self, disclosures: Disclosures) -> None:
        """Return once ``disclosures`` are committed to the accounting; raise if they are not."""
        waiting = _Waiting(disclosures)
        with self._queue_lock:
            self._queue.append(waiting)
        while True:
            with self._write_lock:
                if not waiting.done:
                    # Still queued: entries leave the queue only under this lock, and each
                    # leader settles every entry it took before letting go of it.
                    self._lead()
            if waiting.done:
                break
        if waiting.error is not None:
            raise waiting.error

    def _lead(self) -> None:
        with self._queue_lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            self._commit(batch)
        except Exception as exc:
            if len(batch) == 1:
                self._settle(batch, exc)
                return
            for one in batch:
                try:
                    self._commit([one])
                except Exception as single:
                    self._settle([one], single)
                else:
                    self._settle([one], None)
        except BaseException as exc:
            # Interrupted (KeyboardInterrupt, SystemExit): nobody may wait on these forever.
            self._settle(batch, exc)
            raise
        else:
            self._settle(batch, None)
            self.batches += 1

    @staticmethod
    def _settle(batch: list[_Waiting], error: BaseException | None) -> None:
        for waiting in batch:
            waiting.error = error
            waiting.done = True

    def _commit(self, batch: list[_Waiting]) -> None:
        with Session(self._engine) as session:
            rows = []
            refs: dict[tuple[str, str], str] = {}
            for waiting in batch:
                rows.extend(
                    accounting_rows(session=session, disclosures=waiting.disclosures, refs=refs)
                )
            accounting.append_many(session=session, rows=rows)
            session.commit()
