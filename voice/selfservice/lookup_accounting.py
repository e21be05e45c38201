"""Handing the lookups' accounting to the group-commit writer together, once per loop turn.

A lookup waits for its accounting to commit before it answers. Submitted one at a time, between
other requests' reads, each entry woke the writer thread on its own: the "group" commits held
one lookup each, and their fixed cost (a transaction, the chain's head read and moved) was paid
per lookup. Here the entries of one turn of the event loop are queued and handed over in one
stretch, after the turn's other work, so the writer takes them as one batch.

Nothing changes in what is guaranteed: each lookup still waits for its own entry to commit, and
learns of its own failure only. A lookup cancelled before the hand-over sends nothing, so its
entry is dropped, as the writer does for an entry it has not taken yet.
"""

from __future__ import annotations

import asyncio

from voice.audit.group_commit import AccountingWriter
from voice.audit.service import Disclosures

_Entry = tuple[Disclosures, "asyncio.Future[None]"]
_waiting: dict[tuple[AccountingWriter, asyncio.AbstractEventLoop], list[_Entry]] = {}


async def record(writer: AccountingWriter, disclosures: Disclosures) -> None:
    """Return once ``disclosures`` are committed to the accounting; raise if they are not."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    key = (writer, loop)
    queued = _waiting.get(key)
    if queued is None:
        queued = _waiting[key] = []
        # After every callback already due in this turn: their entries join this hand-over.
        loop.call_soon(_hand_over, key)
    queued.append((disclosures, done))
    await done


def _hand_over(key: tuple[AccountingWriter, asyncio.AbstractEventLoop]) -> None:
    writer, _ = key
    # One hand-over for the turn; the writer settles each lookup's own future.
    entries = [(d, done) for d, done in _waiting.pop(key, []) if not done.cancelled()]
    if entries:
        writer.submit_from_loop(entries)
