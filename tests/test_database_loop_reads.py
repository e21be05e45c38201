"""``database.read_rows``: the lookup's statement on the event loop, on both databases, with no
worker thread; on PostgreSQL on the loop's own asyncio connections."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.databases import DatabaseFactory
from tests.factories import booking, case_of, victim_with_link
from voice import database
from voice.database import AnyOf, DriverRead, TextList, make_engine, read_rows, transaction
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.victims.models import Victim

_VICTIMS = Victim.__table__  # type: ignore[attr-defined]
_BY_CODE = DriverRead(
    sa.select(_VICTIMS.c.id, _VICTIMS.c.victim_code)
    .where(AnyOf(_VICTIMS.c.victim_code, sa.bindparam("codes", type_=TextList)))
    .order_by(_VICTIMS.c.id)
)
_PID = DriverRead(sa.select(sa.func.pg_backend_pid()))


@pytest.fixture
def victims(committed_engine: Engine, policy: Policy) -> list[Victim]:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        case = case_of(session)
        made = [victim_with_link(session, case)[0] for _ in range(3)]
    return made


@pytest.fixture
def pg_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    engine = make_engine(databases.new_url("postgresql"))
    yield engine
    engine.dispose()


def _no_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a read went to a worker thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", refused)


def test_any_of_matches_the_listed_values_on_either_database(
    committed_engine: Engine, victims: list[Victim], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_threads(monkeypatch)
    first, _, third = victims
    codes = [str(third.victim_code), str(first.victim_code), "V-NONE-NONE"]

    async def read(values: list[str]) -> list[tuple[Any, ...]]:
        return await read_rows(committed_engine, _BY_CODE, {"codes": values})

    found = asyncio.run(read(codes))
    assert found == [(first.id, first.victim_code), (third.id, third.victim_code)]
    assert asyncio.run(read([])) == []


def test_the_loop_keeps_its_connections_and_uses_no_thread(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_threads(monkeypatch)

    async def pids() -> set[int]:
        # More reads at once than the loop keeps connections: the others wait their turn.
        many = database.LOOP_READ_CONNECTIONS * 3
        rows = await asyncio.gather(*(read_rows(pg_engine, _PID, {}) for _ in range(many)))
        again = await read_rows(pg_engine, _PID, {})
        found = {row[0][0] for row in rows}
        assert again[0][0] in found
        return found

    assert len(asyncio.run(pids())) <= database.LOOP_READ_CONNECTIONS


def test_a_read_on_a_dead_connection_fails_once_as_sqlalchemys_error(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on the engine's pool: an OperationalError (the API's 503), and the connection goes."""
    monkeypatch.setattr(database, "PING_IDLE_SECONDS", 3600.0)

    async def reads() -> None:
        pid = (await read_rows(pg_engine, _PID, {}))[0][0]
        _terminate(pg_engine, pid)
        with pytest.raises(sa.exc.OperationalError) as failed:
            await read_rows(pg_engine, _PID, {})
        assert failed.value.connection_invalidated
        assert (await read_rows(pg_engine, _PID, {}))[0][0] != pid

    asyncio.run(reads())


def test_an_idle_connection_that_died_is_replaced_before_use(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_IDLE_SECONDS", 0.0)

    async def reads() -> None:
        pid = (await read_rows(pg_engine, _PID, {}))[0][0]
        _terminate(pg_engine, pid)
        assert (await read_rows(pg_engine, _PID, {}))[0][0] != pid

    asyncio.run(reads())


def test_a_statement_error_is_sqlalchemys_and_the_connection_stays(pg_engine: Engine) -> None:
    broken = DriverRead(sa.select(sa.text("no_such_column")).select_from(_VICTIMS))

    async def reads() -> None:
        pid = (await read_rows(pg_engine, _PID, {}))[0][0]
        with pytest.raises(sa.exc.DBAPIError) as failed:
            await read_rows(pg_engine, broken, {})
        assert not failed.value.connection_invalidated
        assert (await read_rows(pg_engine, _PID, {}))[0][0] == pid

    asyncio.run(reads())


def test_a_cancelled_read_does_not_leave_its_connection_to_the_next(pg_engine: Engine) -> None:
    slow = DriverRead(sa.select(sa.func.pg_sleep(30)))

    async def reads() -> None:
        pid = (await read_rows(pg_engine, _PID, {}))[0][0]
        reading = asyncio.create_task(read_rows(pg_engine, slow, {}))
        # Until the statement is on its way: the connection is then mid-exchange.
        while not _running_sleep(pg_engine, pid):
            await asyncio.sleep(0)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert (await read_rows(pg_engine, _PID, {}))[0][0] != pid

    asyncio.run(reads())


def test_connections_of_a_closed_loop_or_a_disposed_engine_are_closed(pg_engine: Engine) -> None:
    def kept() -> list[Any]:
        by_loop = getattr(pg_engine, "_voice_loop_reads", {})
        return [connection for reads in by_loop.values() for connection, _ in reads._idle]

    asyncio.run(read_rows(pg_engine, _PID, {}))
    first = kept()
    assert len(first) == 1
    assert not first[0].closed
    # The next loop's first read closes what the closed one kept.
    asyncio.run(read_rows(pg_engine, _PID, {}))
    assert first[0].closed
    second = kept()
    assert len(second) == 1
    assert not second[0].closed
    pg_engine.dispose()
    assert second[0].closed
    assert kept() == []


def _running_sleep(engine: Engine, pid: int) -> bool:
    with engine.connect() as connection:
        state = connection.execute(
            sa.text("SELECT query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar()
    return state is not None and "pg_sleep" in state


def _terminate(engine: Engine, pid: int) -> None:
    other = sa.create_engine(engine.url)
    with other.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
