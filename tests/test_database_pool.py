"""The PostgreSQL connection pool: reads without a transaction, and a ping only after idling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.databases import DatabaseFactory
from voice import database
from voice.database import make_engine, read_only


@pytest.fixture
def pg_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    engine = make_engine(databases.new_url("postgresql"))
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    """End backend ``pid`` from a connection of a separate engine, as a server restart would."""
    other = sa.create_engine(engine.url)
    with other.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def test_a_read_only_connection_holds_no_transaction_open(pg_engine: Engine) -> None:
    with read_only(pg_engine).connect() as connection:
        connection.execute(sa.text("SELECT 1"))
        status = connection.connection.driver_connection.info.transaction_status  # type: ignore[union-attr]
        assert status.name == "IDLE"
    with pg_engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
        status = connection.connection.driver_connection.info.transaction_status  # type: ignore[union-attr]
        assert status.name == "INTRANS"


def test_the_pool_keeps_a_connection_for_each_request_thread(pg_engine: Engine) -> None:
    # Forty at once (anyio's thread limit), all returned to the pool, none closed.
    held = [pg_engine.connect() for _ in range(40)]
    pids = {int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) for c in held}
    for connection in held:
        connection.close()
    assert pg_engine.pool.checkedin() == 40  # type: ignore[attr-defined]
    again = [pg_engine.connect() for _ in range(40)]
    assert {int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) for c in again} == pids
    for connection in again:
        connection.close()


def test_an_idle_connection_that_died_is_replaced_before_use(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pg_engine)
    _terminate(pg_engine, pid)
    # Every returned connection counts as idle: the next checkout pings, finds it dead and
    # opens another, so the caller never sees the failure.
    monkeypatch.setattr(database, "PING_IDLE_SECONDS", 0.0)
    assert _backend_pid(pg_engine) != pid


def test_a_connection_used_moments_ago_is_not_pinged(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pg_engine)
    _terminate(pg_engine, pid)
    # Not idle long enough for a ping: the dead connection is handed out, and its unit of work
    # fails once. That is the ping the previous test relies on, shown to be the one at work.
    monkeypatch.setattr(database, "PING_IDLE_SECONDS", 3600.0)
    with pytest.raises(sa.exc.OperationalError):
        _backend_pid(pg_engine)
    # SQLAlchemy then discards the dead connection; the next unit of work gets a live one.
    assert _backend_pid(pg_engine) != pid


# The backend's pid, read straight on the driver as embedded reads are (``_pooled_read``).
_BACKEND_PID = database.DriverRead(sa.select(sa.func.pg_backend_pid()))


def _pooled_pid(engine: Engine) -> int:
    [(pid,)] = database._pooled_read(engine, _BACKEND_PID, {})
    return int(pid)


def test_a_pooled_driver_read_on_a_dead_connection_fails_once_as_sqlalchemys_error(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read straight on a pooled connection's driver treats a lost connection as
    SQLAlchemy's execution does: an OperationalError (the API's 503), and the connection is
    not pooled again. Embedded SQLite reads this way; a dead connection is PostgreSQL's to
    show."""
    pid = _pooled_pid(pg_engine)
    _terminate(pg_engine, pid)
    monkeypatch.setattr(database, "PING_IDLE_SECONDS", 3600.0)
    with pytest.raises(sa.exc.OperationalError):
        _pooled_pid(pg_engine)
    assert _pooled_pid(pg_engine) != pid
