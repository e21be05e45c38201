"""Running one piece of work on several threads at once, for tests of concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_at_once(work: Callable[[], None], threads: int) -> list[BaseException]:
    """Run ``work`` on ``threads`` threads, released together, and wait for all of them: what
    each raised, if anything (a thread's exception would otherwise be lost)."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run() -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return errors
