"""The lookups' reads: one statement for every lookup of one turn of the event loop.

Each lookup reads its session and its cases in one statement, so that what it answers was
live in one snapshot. On PostgreSQL a statement costs the service and the server far more than
the few rows it returns: sending and planning it, a round trip, its result. So the lookups that
ask in the same turn of the loop (under load, many at once) are read together, by one
statement over all their sessions, and each takes its own rows from it. A session that is not
live, or that is another victim's, has no rows, just as it had none in a statement of its own.

A lookup cancelled before its read starts is left out; a failed read fails every lookup that
waited for it, as a failed read of their own would have.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from sqlalchemy.engine import Engine

from voice.database import DriverRead, read_rows, utcnow

Row = tuple[Any, ...]


class _Wanted(NamedTuple):
    token_hash: str
    victim_id: int
    done: asyncio.Future[list[Row]]


_Key = tuple[Engine, DriverRead, asyncio.AbstractEventLoop]
_waiting: dict[_Key, list[_Wanted]] = {}
# The reads running, so that none is garbage-collected while its lookups wait.
_running: set[asyncio.Task[None]] = set()


async def session_rows(
    engine: Engine, read: DriverRead, *, token_hash: str, victim_id: int
) -> list[Row]:
    """The rows ``read`` gives for one session, without its first two columns.

    ``read`` takes ``token_hashes`` (a ``TextList``) and ``now``, and its first two columns are
    each row's session token hash and victim id. No rows: the session is not live, or is not
    ``victim_id``'s.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Row]] = loop.create_future()
    key = (engine, read, loop)
    queued = _waiting.get(key)
    if queued is None:
        queued = _waiting[key] = []
        # After every callback already due in this turn: their lookups join this read.
        loop.call_soon(_start, key)
    queued.append(_Wanted(token_hash, victim_id, done))
    return await done


def _start(key: _Key) -> None:
    engine, read, loop = key
    wanted = [w for w in _waiting.pop(key, []) if not w.done.cancelled()]
    if wanted:
        task = loop.create_task(_read(engine, read, wanted))
        _running.add(task)
        task.add_done_callback(_running.discard)


async def _read(engine: Engine, read: DriverRead, wanted: list[_Wanted]) -> None:
    parameters = {"token_hashes": sorted({w.token_hash for w in wanted}), "now": utcnow()}
    try:
        rows = await read_rows(engine, read, parameters)
    except Exception as exc:
        for w in wanted:
            if not w.done.done():
                w.done.set_exception(exc)
        return
    except BaseException:
        # The read itself was cancelled (the loop is shutting down): so are its lookups.
        for w in wanted:
            w.done.cancel()
        raise
    by_session: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        by_session.setdefault((row[0], row[1]), []).append(row[2:])
    for w in wanted:
        if not w.done.done():
            w.done.set_result(by_session.get((w.token_hash, w.victim_id), []))
