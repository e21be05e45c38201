"""A clock that tests move by hand, read through ``voice.database.utcnow``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from voice import database


class FrozenClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    database.set_clock(frozen)
    try:
        yield frozen
    finally:
        database.set_clock(None)
