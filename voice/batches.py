"""One thread that takes a queue's entries in batches: the shape of the service's group commits
(the accounting's ``AccountingWriter``, ingest's ``EventWriter``).

Any thread queues entries; one thread of the queue's own takes everything queued at that moment
(up to ``max_batch``) and hands it to the handler, and whatever arrives meanwhile waits for the
next batch. The thread starts on first use, so an app, a test or a script needs no start-up
step, and ends once ``close`` has been asked and the queue is empty.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")


class BatchThread(Generic[E]):
    def __init__(
        self,
        name: str,
        handle: Callable[[list[E]], None],
        *,
        max_batch: int,
        counted: Callable[[int], None] | None = None,
    ) -> None:
        """``handle`` gets each batch and must tell the entries' callers their outcomes itself;
        ``counted`` hears of every change in the number of entries queued (a gauge's)."""
        self._name = name
        self._handle = handle
        self._max_batch = max_batch
        self._counted = counted
        self._queue: list[E] = []
        self._ready = threading.Condition()
        # Held for the whole of each batch, taken before the batch leaves the queue: whatever
        # arrives while a batch is handled waits for the next one (a test holds it to line
        # entries up).
        self.handling = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def put(self, entries: Sequence[E]) -> None:
        with self._ready:
            self._queue.extend(entries)
            if self._counted is not None:
                self._counted(len(entries))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._ready.notify()

    def queued(self) -> int:
        with self._ready:
            return len(self._queue)

    @property
    def running(self) -> bool:
        """Whether the queue's thread is running now."""
        with self._ready:
            return self._thread is not None

    def close(self) -> None:
        """Handle what is queued and stop the thread (app shutdown); a later ``put`` starts it
        again."""
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._ready:
            self._stopping = False

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    # Decided under the lock: whoever queues after this starts a new thread.
                    self._thread = None
                    return
            with self.handling:
                with self._ready:
                    taken = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                    if self._counted is not None:
                        self._counted(-len(taken))
                try:
                    self._handle(taken)
                except BaseException as exc:
                    # The thread must outlive any surprise: callers are waiting on it. The
                    # handler settles its callers' outcomes, failures included.
                    log.error("%s failed (%s)", self._name, type(exc).__name__)
