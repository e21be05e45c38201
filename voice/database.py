"""Engine, sessions and the column types shared by every domain.

SQLite (the embedded default) and PostgreSQL run the same code and the same migrations; the few
places where the two differ are handled here, once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def _system_clock() -> datetime:
    return datetime.now(UTC)


# Every timestamp the service takes comes through ``utcnow``, so a test moves time with
# ``set_clock`` instead of waiting for it (idle timeouts, back-off, expiries).
_clock: Callable[[], datetime] = _system_clock


def utcnow() -> datetime:
    return _clock()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Read the time from ``clock`` from now on; None goes back to the system clock."""
    global _clock
    _clock = clock or _system_clock


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no timezone-aware type and hands back naive values; normalising here keeps
    comparisons and arithmetic identical on both databases.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SecondsBetween(sa.sql.functions.FunctionElement[float]):
    """``(later - earlier).total_seconds()`` of two UTCDateTime expressions, in SQL: the same
    float, to the microsecond, on both databases.

    PostgreSQL subtracts timestamps exactly. SQLite keeps a timestamp as the text
    ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's format, always six digits), and its own date
    functions round to the millisecond; so whole seconds and microseconds are taken apart,
    subtracted as integers, and divided once, as Python does.
    """

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"

    def __init__(self, later: sa.ColumnElement[datetime], earlier: sa.ColumnElement[datetime]):
        super().__init__(later, earlier)


@compiles(SecondsBetween, "postgresql")
def _seconds_between_postgresql(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(SecondsBetween, "sqlite")
def _seconds_between_sqlite(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    def micros(arg: sa.ColumnElement[datetime]) -> str:
        # Each use of an argument is rendered on its own: a bound one is bound twice.
        whole = f"CAST(strftime('%s', substr({compiler.process(arg, **kw)}, 1, 19)) AS INTEGER)"
        micro = f"CAST(substr({compiler.process(arg, **kw)}, 21, 6) AS INTEGER)"
        return f"({whole} * 1000000 + {micro})"

    later, earlier = element.clauses
    return f"(({micros(later)} - {micros(earlier)}) / 1000000.0)"


# A list of strings bound as one parameter (for ``AnyOf``): a text array on PostgreSQL, a JSON
# array on SQLite.
TextList: sa.types.TypeEngine[Any] = sa.JSON().with_variant(ARRAY(sa.Text()), "postgresql")


class AnyOf(sa.sql.functions.FunctionElement[bool]):
    """``column IN (the values of the list parameter)``, with the list bound as one parameter
    (``TextList``): the statement's text is the same for any number of values, so it is
    compiled and prepared once. PostgreSQL compares with ``= ANY`` of an array, SQLite reads
    the JSON array with ``json_each``."""

    type = sa.Boolean()
    inherit_cache = True
    name = "any_of"

    def __init__(self, column: sa.ColumnElement[Any], values: sa.BindParameter[Any]):
        super().__init__(column, values)


@compiles(AnyOf, "postgresql")
def _any_of_postgresql(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"{column} = ANY({values})"


@compiles(AnyOf, "sqlite")
def _any_of_sqlite(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(arg, **kw) for arg in element.clauses)
    # Both parts are compiled SQL (a column, a bound parameter), never values.
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs to psycopg 3, the only PostgreSQL driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# Marks an engine (see ``read_only``) whose transactions only read.
READ_ONLY = "voice_read_only"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            # As many connections as the request threads that may hold one: a connection
            # opened past the pool is closed again on return, and a new SQLite connection
            # costs its PRAGMAs and a fresh page cache.
            pool_size=40,
            max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    # Sized like SQLite's, for the same reason: past the pool, every checkout opened a new
    # server connection (a fork on the server) and closed it again, and under 64 concurrent
    # lookups that churn, not the reads, was what the requests waited for.
    engine = sa.create_engine(url, echo=echo, pool_size=40, max_overflow=20)
    _ping_idle_connections(engine)
    return engine


# A connection back in the pool for longer than this is pinged before it is used again.
PING_IDLE_SECONDS = 5.0
_IDLE_SINCE = "voice_idle_since"


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before reuse only if it has been idle.

    A ping on every checkout (``pool_pre_ping``) cost a round trip per read, as much as the
    read itself. A connection returned moments ago has just proved itself, so only one that
    sat idle (long enough for a server restart or a dropped socket) is checked. A dead one is
    replaced before anyone sees it; one that dies in the gap fails its unit of work once, and
    SQLAlchemy then discards every connection that was in the pool with it.
    """

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool closes this connection and checks out a fresh one instead.
            raise sa.exc.DisconnectionError(str(exc)) from exc


def read_only(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that only read.

    On SQLite these begin DEFERRED instead of IMMEDIATE: in WAL mode a reader works on its own
    snapshot and neither waits for the writer nor holds it up. Only for reads: a write inside
    such a transaction fails with SQLITE_BUSY once another write has committed since its
    snapshot began. PostgreSQL's readers never block writers; there they run in autocommit mode.
    """
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        # A read's statements need no transaction around them: under READ COMMITTED each
        # statement takes its own snapshot either way. Without one, a read costs its one
        # round trip instead of three (BEGIN with the first statement, then ROLLBACK).
        options["isolation_level"] = "AUTOCOMMIT"
    return _kept_options(engine, _READ_ONLY_ENGINE, options)


def _kept_options(engine: Engine, name: str, options: dict[str, Any]) -> Engine:
    """``engine.execution_options(**options)``, made once per engine and kept on it as
    ``name``: building an option engine costs more than a SQLite read does."""
    found: Engine | None = getattr(engine, name, None)
    if found is None:
        found = engine.execution_options(**options)
        setattr(engine, name, found)
    return found


_READ_ONLY_ENGINE = "_voice_read_only_engine"
WRITES_FIRST = "voice_writes_first"


def writes_first(engine: Engine) -> Engine:
    """The same engine (same pool) for the outbox worker: on SQLite its write transactions go
    before the other writers of its process that are waiting for the lock.

    Sending what was accepted comes before accepting more. In one process (``voice serve``
    with its worker), a backlog of ingest requests had every worker transaction wait behind
    dozens of them, so that the notices of accepted events waited minutes while the API kept
    accepting; an upstream feed retries, a victim waits. A database server has no such queue.
    """
    if engine.dialect.name != "sqlite" or engine.get_execution_options().get(WRITES_FIRST):
        return engine
    return _kept_options(engine, _WRITES_FIRST_ENGINE, {WRITES_FIRST: True})


_WRITES_FIRST_ENGINE = "_voice_writes_first_engine"

T = TypeVar("T")


async def run_read(engine: Engine, read: Callable[..., T], /, *args: Any) -> T:
    """Run ``read(connection, *args)``, a short read-only unit of work, for the event loop.

    On embedded SQLite it runs right here, on the loop. A WAL snapshot read of a few indexed
    rows takes less time than handing it to a worker thread and back, and it does not wait for
    the writer (``read_only``). A database server is across a network, so there the read runs
    on a worker thread. Writes always go to a worker thread: they can wait on a lock.

    (PostgreSQL reads on an asyncio connection instead of a thread were measured: through
    SQLAlchemy's asyncio adaptation they cost more CPU per lookup than the thread's hop.)
    """
    if engine.dialect.name == "sqlite":
        return _read(engine, read, *args)
    return await anyio.to_thread.run_sync(_read, engine, read, *args)


def _read(engine: Engine, read: Callable[..., T], /, *args: Any) -> T:
    with read_only(engine).connect() as connection:
        return read(connection, *args)


class DriverConnection(NamedTuple):
    """A pooled connection as its driver (sqlite3, psycopg) has it, for ``DriverRead``."""

    driver: Any
    dialect: Dialect


class _Compiled(NamedTuple):
    sql: str
    # The values the statement carries itself (a comparison with a constant).
    fixed: dict[str, Any]
    # Positional drivers (sqlite3's qmark) take the values in this order; None: by name.
    order: tuple[str, ...] | None
    binds: dict[str, Callable[[Any], Any] | None]
    results: tuple[Callable[[Any], Any] | None, ...]


class DriverRead:
    """A prebuilt SELECT run straight on the driver's connection (``read_rows``).

    For the busiest read there is, the self-service lookup: going through SQLAlchemy's
    execution (a Connection and its transaction, the statement's cache key, the parameters'
    processing, a result object) cost several times what the database took to run it. The
    statement is compiled once per dialect, by SQLAlchemy, and its parameters go through
    the same type processing; the rows come back as the driver gives them, and ``typed``
    turns one into the values SQLAlchemy would have returned, for a caller that needs more
    than the raw values.
    """

    def __init__(self, statement: sa.Select[Any]) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            binds: dict[str, Callable[[Any], Any] | None] = {
                name: param.type.dialect_impl(dialect).bind_processor(dialect)
                for param, name in compiled.bind_names.items()
            }
            fixed = {
                name: param.effective_value
                for param, name in compiled.bind_names.items()
                if not param.required
            }
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self._statement.selected_columns
            )
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string, fixed, order, binds, results
            )
        return found

    def bound(self, dialect: Dialect, parameters: dict[str, Any]) -> tuple[str, Any]:
        """The statement's SQL for ``dialect`` and ``parameters`` as its driver takes them."""
        compiled = self._for(dialect)
        given = {**compiled.fixed, **parameters}
        values = {
            name: process(given[name]) if process is not None else given[name]
            for name, process in compiled.binds.items()
        }
        if compiled.order is None:
            return compiled.sql, values
        return compiled.sql, [values[name] for name in compiled.order]

    def rows(
        self, connection: DriverConnection, parameters: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Every row, as the driver returns it."""
        sql, values = self.bound(connection.dialect, parameters)
        cursor = connection.driver.cursor()
        try:
            cursor.execute(sql, values)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def typed(self, dialect: Dialect, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """``row`` (from ``rows``) with the values SQLAlchemy would have returned."""
        return tuple(
            process(value) if process is not None else value
            for process, value in zip(self._for(dialect).results, row, strict=True)
        )


def _pooled_read(engine: Engine, read: DriverRead, parameters: dict[str, Any]) -> list[Any]:
    """``read``'s rows on a connection from the pool (so its events run as for any checkout),
    with no transaction opened: sqlite3 is in autocommit mode already (``_configure_sqlite``),
    and a single statement reads one consistent snapshot on its own (in WAL mode, without
    waiting for the writer)."""
    dialect = engine.dialect
    pooled = engine.raw_connection()
    try:
        return read.rows(DriverConnection(pooled.driver_connection, dialect), parameters)
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own execution would: a lost connection is not pooled again, and the
        # error is SQLAlchemy's (an OperationalError answers 503).
        raise _sqlalchemy_error(
            dialect, exc, pooled.dbapi_connection, None, pooled.invalidate, None, None
        ) from exc
    finally:
        pooled.close()


async def read_rows(
    engine: Engine, read: DriverRead, parameters: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """``read``'s rows for ``parameters``, as the driver returns them, for the event loop.

    The one way both databases run the lookup's statement (the same SQL, compiled once per
    dialect, with the same bound values); only the execution differs by driver. On embedded
    SQLite it runs right here, on the loop, on a pooled connection (``_pooled_read``): a read
    there takes less than a hop to a worker thread would. On PostgreSQL it runs
    on an asyncio connection of the loop's own (``_LoopReads``), with no hop to a worker
    thread and back: under 64 concurrent lookups that hop, and the worker threads' contention
    for the interpreter, cost more than the read. No transaction is opened (autocommit): one
    statement reads one consistent snapshot on its own.
    """
    if engine.dialect.name == "postgresql":
        return await _loop_reads(engine).rows(read, parameters)
    return _pooled_read(engine, read, parameters)


# How many asyncio connections each event loop keeps for ``read_rows``, per engine: a read
# takes well under a millisecond on the server, so a few carry any load one process can make,
# and lookups beyond them wait on the loop, holding nothing.
LOOP_READ_CONNECTIONS = 8
_LOOP_READS = "_voice_loop_reads"


def _loop_reads(engine: Engine) -> _LoopReads:
    loop = asyncio.get_running_loop()
    by_loop: dict[asyncio.AbstractEventLoop, _LoopReads] | None = getattr(engine, _LOOP_READS, None)
    if by_loop is None:
        by_loop = {}
        setattr(engine, _LOOP_READS, by_loop)

        @sa.event.listens_for(engine, "engine_disposed")
        def _on_dispose(_engine: Engine) -> None:
            for reads in by_loop.values():
                reads.close()
            by_loop.clear()

    reads = by_loop.get(loop)
    if reads is None:
        # A loop that has closed (a test's ``asyncio.run``, a test client's portal) will read
        # no more: its connections are closed here rather than left to the garbage collector.
        for old in [old for old in by_loop if old.is_closed()]:
            by_loop.pop(old).close()
        reads = by_loop[loop] = _LoopReads(engine, LOOP_READ_CONNECTIONS)
    return reads


class _LoopReads:
    """PostgreSQL connections (psycopg's ``AsyncConnection``, in autocommit) of one event loop.

    Connected on demand, up to ``size``; a read waits for a free one. As in the engine's pool
    (``_ping_idle_connections``), a connection idle for ``PING_IDLE_SECONDS`` is pinged before
    it is used again, and one the driver reports lost is dropped, its read failing once with
    SQLAlchemy's error.
    """

    def __init__(self, engine: Engine, size: int) -> None:
        self._dialect = engine.dialect
        self._args = engine.dialect.create_connect_args(engine.url)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[Any, float]] = []
        self._closed = False

    async def rows(self, read: DriverRead, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        sql, values = read.bound(self._dialect, parameters)
        async with self._slots:
            connection = await self._take()
            try:
                # Prepared on first use: the server plans the lookup once per connection.
                cursor = await connection.execute(sql, values, prepare=True)
                rows: list[tuple[Any, ...]] = await cursor.fetchall()
            except self._dialect.loaded_dbapi.Error as exc:
                invalidated = self._dialect.is_disconnect(exc, connection, None)
                self._give_back(connection, usable=not invalidated)
                raise sa.exc.DBAPIError.instance(
                    sql,
                    None,
                    exc,
                    self._dialect.loaded_dbapi.Error,
                    connection_invalidated=invalidated,
                    dialect=self._dialect,
                ) from exc
            except BaseException:
                # Cancelled in mid-exchange: what the server still sends would reach the next
                # read, so the connection goes.
                self._give_back(connection, usable=False)
                raise
            self._give_back(connection, usable=True)
            return rows

    async def _take(self) -> Any:
        while self._idle:
            connection, idle_since = self._idle.pop()
            if connection.closed:
                continue
            if time.monotonic() - idle_since < PING_IDLE_SECONDS:
                return connection
            try:
                await connection.execute("SELECT 1")
            except self._dialect.loaded_dbapi.Error:
                _finish(connection)
                continue
            return connection
        cargs, cparams = self._args
        return await self._dialect.loaded_dbapi.AsyncConnection.connect(
            *cargs, **cparams, autocommit=True
        )

    def _give_back(self, connection: Any, *, usable: bool) -> None:
        if usable and not self._closed and not connection.closed:
            self._idle.append((connection, time.monotonic()))
        else:
            _finish(connection)

    def close(self) -> None:
        """Close the idle connections; those in use close as their reads end."""
        self._closed = True
        for connection, _ in self._idle:
            _finish(connection)
        self._idle.clear()


def _finish(connection: Any) -> None:
    # Synchronous, so that it may run from a disposal or with the connection's loop gone.
    connection.pgconn.finish()


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over.
    # BEGIN IMMEDIATE takes the write lock up front, so two processes (API and worker) wait on
    # busy_timeout instead of failing with SQLITE_BUSY when a read turns into a write.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    turns = WriterTurns()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Straight to the driver: through exec_driver_sql, with its events and result object,
        # a BEGIN cost as much CPU as the read it opened.
        driver = connection.connection.driver_connection
        assert driver is not None
        if connection.get_execution_options().get(READ_ONLY):
            driver.execute("BEGIN")
            return
        # The writers of this process queue here, in order, rather than in SQLite's busy
        # handler, which polls with growing sleeps: under load the lock sat free while every
        # waiter slept, and a thread with few writes (the worker's) lost to many request
        # threads. Held until the connection returns to the pool, after its COMMIT.
        first = bool(connection.get_execution_options().get(WRITES_FIRST))
        if not connection.info.get(_TURN) and turns.acquire(timeout=_TURN_TIMEOUT, first=first):
            connection.info[_TURN] = True
        driver.execute("BEGIN IMMEDIATE")

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_TURN, False):
            turns.release()

    _savepoints_to_the_driver(engine.dialect)


def _savepoints_to_the_driver(dialect: Dialect) -> None:
    """SAVEPOINT and RELEASE go straight to the driver, as BEGIN does.

    SQLAlchemy emits each through a full statement execution: a new clause object, compiled
    every time, with its events and result object. That cost more CPU than everything SQLite
    does for a one-event savepoint (ingest takes one per event). A driver error goes the usual
    way again, so that it is raised as SQLAlchemy's own error, as before.
    """
    usual_savepoint, usual_release = dialect.do_savepoint, dialect.do_release_savepoint
    quote = dialect.identifier_preparer.quote

    def savepoint(connection: sa.Connection, name: str) -> None:
        try:
            _driver(connection).execute(f"SAVEPOINT {quote(name)}")
        except dialect.loaded_dbapi.Error:
            usual_savepoint(connection, name)

    def release(connection: sa.Connection, name: str) -> None:
        try:
            _driver(connection).execute(f"RELEASE SAVEPOINT {quote(name)}")
        except dialect.loaded_dbapi.Error:
            usual_release(connection, name)

    dialect.do_savepoint = savepoint  # type: ignore[method-assign]
    dialect.do_release_savepoint = release  # type: ignore[method-assign]


def _driver(connection: sa.Connection) -> Any:
    driver = connection.connection.driver_connection
    assert driver is not None
    return driver


_TURN = "voice_writer_turn"
# As long as SQLite's busy_timeout: past it, the writer goes on to SQLite's own lock.
_TURN_TIMEOUT = 30.0


class WriterTurns:
    """A first-come, first-served lock for one process's SQLite writers, with a front queue.

    Each waiter blocks on a lock of its own, and a release hands the turn straight to the
    longest waiting, so no turn is lost between writers. Writers asking ``first`` (the
    outbox worker's, ``writes_first``) go before every other waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._busy = False
        self._front: deque[threading.Lock] = deque()
        self._back: deque[threading.Lock] = deque()

    def acquire(self, *, timeout: float, first: bool = False) -> bool:
        with self._mutex:
            if not self._busy:
                self._busy = True
                return True
            mine = threading.Lock()
            mine.acquire()
            queue = self._front if first else self._back
            queue.append(mine)
        if mine.acquire(timeout=timeout):
            return True
        with self._mutex:
            if mine in queue:
                queue.remove(mine)
                return False
        # Handed over just as the wait ran out: the turn is ours.
        return True

    def release(self) -> None:
        with self._mutex:
            if self._front:
                self._front.popleft().release()
            elif self._back:
                self._back.popleft().release()
            else:
                self._busy = False


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Below this many rows a plain INSERT costs no more than a COPY and its extra statement.
_COPY_FROM_ROWS = 20


class OutOfOrder(RuntimeError):
    """The database numbered a multi-row insert's rows out of their order; nothing of the
    insert may be kept (the caller's savepoint rolls it back)."""


def insert_rows(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` ``rows`` (all with the same keys) into ``table``: on PostgreSQL, many rows
    go in as one ``COPY``. A multi-row ``INSERT`` there binds every value as a parameter of
    its own, and the driver's rewriting of so many placeholders costs more than the insert.
    On SQLite many rows go to the driver's ``executemany`` bound by ``_bound``."""
    if _copies(session, rows):
        _copy(session, table, rows)
    elif _binds_itself(session, rows):
        names = list(rows[0])
        session.connection().exec_driver_sql(
            _insert_sql(session, table, names, rows=1),
            _bound(session, table, names, rows),
        )
    elif rows:
        # Straight on the driver: SQLAlchemy's execution cost more than inserting a few rows.
        statement = _INSERTS.get(table)
        if statement is None:
            statement = _INSERTS[table] = SessionStatement(table.insert())
        statement.executemany(session, rows)


# The plain inserts of ``insert_rows``, one per table, made at first use.
_INSERTS: dict[sa.Table, SessionStatement] = {}


def insert_numbered(
    session: Session, table: sa.Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> list[int]:
    """``INSERT`` ``rows`` into ``table`` and return their new ids, which rise in the order of
    ``rows``, as inserting them one after another would number them. ``key`` names columns that
    tell the rows apart (a unique key).

    On PostgreSQL many rows take their ids from the table's sequence first, then go in with
    one ``COPY`` (as in ``insert_rows``). Elsewhere one ``INSERT … RETURNING`` hands back the ids
    with the keys; asking for them in order instead (``sort_by_parameter_order``) makes SQLite
    insert one row per statement. Should the ids not follow the rows, ``OutOfOrder`` is raised.
    """
    id_column = table.c.id
    if _copies(session, rows):
        sequence = sa.func.pg_get_serial_sequence(table.name, id_column.name)
        ids = sorted(
            session.scalars(
                sa.select(sa.func.nextval(sequence)).select_from(
                    sa.func.generate_series(1, len(rows))
                )
            )
        )
        with_ids = [{id_column.key: id_, **row} for id_, row in zip(ids, rows, strict=True)]
        _copy(session, table, with_ids)
        return ids
    if _binds_itself(session, rows):
        found = _insert_returning(session, table, rows, key)
    else:
        returning = table.insert().returning(id_column, *(table.c[name] for name in key))
        found = {tuple(found[1:]): found[0] for found in session.execute(returning, rows)}
    numbered = [found[tuple(row[name] for name in key)] for row in rows]
    if any(later <= earlier for earlier, later in itertools.pairwise(numbered)):
        raise OutOfOrder(f"the ids of {table.name} rows do not follow their order")
    return numbered


def _copies(session: Session, rows: list[dict[str, Any]]) -> bool:
    return len(rows) >= _COPY_FROM_ROWS and session.connection().dialect.name == "postgresql"


def _binds_itself(session: Session, rows: list[dict[str, Any]]) -> bool:
    """Many rows, on a driver taking ``?`` placeholders (SQLite's): bound by ``_bound`` and
    handed to the driver as they are. SQLAlchemy's own handling of each row's parameters cost
    about twice what the driver and SQLite take to store them."""
    return len(rows) >= _COPY_FROM_ROWS and session.connection().dialect.paramstyle == "qmark"


def _insert_sql(
    session: Session, table: sa.Table, names: list[str], *, rows: int, returning: str = ""
) -> str:
    """``INSERT INTO table (names) VALUES (?, …), …`` for ``rows`` rows."""
    preparer = session.connection().dialect.identifier_preparer
    group = "({})".format(", ".join("?" for _ in names))
    # Only the table's own quoted names go into the text; every value is bound.
    return "INSERT INTO {} ({}) VALUES {}{}".format(  # noqa: S608
        preparer.format_table(table),
        ", ".join(preparer.format_column(table.c[name]) for name in names),
        ", ".join(group for _ in range(rows)),
        returning,
    )


def _insert_returning(
    session: Session, table: sa.Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> dict[tuple[Any, ...], int]:
    """``insert_numbered``'s ``INSERT … RETURNING``, as SQLAlchemy's "insertmanyvalues" sends
    it (as many rows per statement as the dialect takes), bound by ``_bound``: each new id by
    the row's ``key`` values (plain columns, which come back as they were bound)."""
    connection = session.connection()
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    names = list(rows[0])
    returning = " RETURNING " + ", ".join(
        preparer.format_column(table.c[name]) for name in ("id", *key)
    )
    page = max(
        1,
        min(
            dialect.insertmanyvalues_page_size,
            dialect.insertmanyvalues_max_parameters // len(names),
        ),
    )
    bound = _bound(session, table, names, rows)
    found: dict[tuple[Any, ...], int] = {}
    for start in range(0, len(bound), page):
        values = bound[start : start + page]
        statement = _insert_sql(session, table, names, rows=len(values), returning=returning)
        result = connection.exec_driver_sql(statement, tuple(itertools.chain(*values)))
        found.update({tuple(row[1:]): row[0] for row in result})
    return found


def _bound(
    session: Session,
    table: sa.Table,
    names: list[str],
    rows: list[dict[str, Any]],
    documents: Callable[[sa.JSON], Callable[[Any], Any]] | None = None,
) -> list[tuple[Any, ...]]:
    """Each row's values in the order of ``names``, bound as the columns' types bind them for
    an ``INSERT`` (a timestamp to SQLite's text, a JSON document to its text); JSON documents
    by ``documents`` instead, when given."""
    dialect = session.connection().dialect
    columns = []
    for name in names:
        values = [row[name] for row in rows]
        column_type = table.c[name].type
        if documents is not None and isinstance(column_type, sa.JSON):
            process: Callable[[Any], Any] | None = documents(column_type)
        else:
            process = column_type._cached_bind_processor(dialect)
        columns.append(values if process is None else _bind_column(values, process))
    return list(zip(*columns, strict=True))


def _as_text(dialect: Dialect) -> Callable[[sa.JSON], Callable[[Any], str | None]]:
    """For a JSON column, its documents as the text ``COPY`` reads, encoded as the dialect's
    ``INSERT`` encodes them (``json.dumps`` unless the engine names a serializer), None as
    SQL ``NULL`` or JSON ``null`` as the column's type says. Bound this way, a document
    shared by many rows is encoded once (``_bind_column``); bound as the driver's JSON
    wrapper, the driver encoded it again for every row."""
    serialize: Callable[[Any], str] = getattr(dialect, "_json_serializer", None) or json.dumps

    def for_column(column_type: sa.JSON) -> Callable[[Any], str | None]:
        def text(document: Any) -> str | None:
            # SQLAlchemy's own rules for a JSON column: JSON.NULL is JSON's null, None is SQL
            # NULL only for a column that says so.
            if document is sa.JSON.NULL:
                document = None
            elif isinstance(document, sa.Null) or (document is None and column_type.none_as_null):
                return None
            return serialize(document)

        return text

    return for_column


def _bind_column(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` each of one column's values. The rows of a batch share many values (the
    notices of an event have the same timestamps and status), so each distinct value is bound
    once, when all are of one type (and None): equal values of two types (1 and True) may
    bind apart. Documents, which cannot be told apart that way, are bound one by one."""
    kinds = {value.__class__ for value in values}
    kinds.discard(type(None))
    if len(kinds) <= 1:
        try:
            bound = {value: process(value) for value in set(values)}
        except TypeError:  # unhashable: JSON documents
            pass
        else:
            return [bound[value] for value in values]
    # Documents are bound once per object: the accounting's records of one view share their
    # lists of fields, and encoding each record's copy was most of what writing it cost.
    # ``values`` holds every object until this returns, so no id can name another meanwhile.
    by_object: dict[int, Any] = {}
    for value in values:
        if id(value) not in by_object:
            by_object[id(value)] = process(value)
    return [by_object[id(value)] for value in values]


def _copy(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``COPY`` ``rows`` into ``table`` on the session's connection (psycopg), each value bound
    as the column's type binds it for an ``INSERT``. A refusal is raised as SQLAlchemy's own
    error for it (an ``IntegrityError`` for a duplicate key), as an ``INSERT`` would raise it."""
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    statement = "COPY {} ({}) FROM STDIN".format(
        dialect.identifier_preparer.format_table(table),
        ", ".join(dialect.identifier_preparer.format_column(column) for column in columns),
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for values in _bound(session, table, names, rows, _as_text(dialect)):
                copy.write_row(values)
    except dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from None


class Outcome(NamedTuple):
    """What a ``SessionStatement`` gave back: its rows, typed as SQLAlchemy types them, and
    how many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class _Prepared(NamedTuple):
    """A statement compiled for one dialect, one set of parameter names and one length of each
    expanding (``IN``) parameter: the SQL as the driver takes it, and how to bind its values."""

    sql: str
    # The values the statement carries itself (a comparison with a constant), processed.
    fixed: dict[str, Any]
    # Positional drivers (sqlite3's qmark) take the values in this order; None: by name.
    order: tuple[str, ...] | None
    # Each given parameter's type processing, and the driver's names for the elements of an
    # expanding one.
    binds: dict[str, Callable[[Any], Any] | None]
    expansion: dict[str, list[str]]

    def values(self, parameters: dict[str, Any]) -> dict[str, Any] | list[Any]:
        values = dict(self.fixed)
        for name, value in parameters.items():
            process = self.binds.get(name)
            expanded = self.expansion.get(name)
            if expanded is None:
                values[name] = process(value) if process is not None else value
            else:
                for element_name, element in zip(expanded, value, strict=True):
                    values[element_name] = process(element) if process is not None else element
        if self.order is None:
            return values
        return [values[name] for name in self.order]


# Statements compiled per count of expanding elements, kept for this many counts each; past
# them a statement is expanded anew per execution (a regular expression, not a compile).
_KEPT_EXPANSIONS = 32


class SessionStatement:
    """A prebuilt statement run straight on the driver's cursor, in a session's transaction.

    For the statements ingest runs for every event: SQLAlchemy's execution of a cached
    statement (the cache key, parameter and result processing, events and a result object)
    cost several times what SQLite took to run it. The statement is compiled by SQLAlchemy
    once per dialect and set of parameter names (the columns of an ``INSERT``, an
    ``UPDATE``'s ``SET``), and expanded once per count of each expanding parameter's elements;
    values and rows go through the same type processing as SQLAlchemy's. A driver error is
    raised as SQLAlchemy's own error for it (an ``IntegrityError`` for a duplicate key), a
    lost connection is invalidated, and ``before_cursor_execute`` listeners hear of each
    statement, as with SQLAlchemy's execution.

    It runs on the session's connection, in its transaction and savepoint, and flushes nothing
    first (as a Core statement on ``session.connection()`` does). Every value must be given:
    a statement with column defaults computed in Python is refused when it is compiled.
    """

    def __init__(self, statement: sa.ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], SQLCompiler] = {}
        self._expanding: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
        self._prepared: dict[tuple[Any, ...], _Prepared] = {}
        self._results: dict[str, tuple[Callable[[Any], Any] | None, ...] | None] = {}

    def _compile(self, dialect: Dialect, names: tuple[str, ...]) -> SQLCompiler:
        compiled = self._statement.compile(dialect=dialect, column_keys=list(names))
        assert isinstance(compiled, SQLCompiler)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise TypeError("a SessionStatement needs a value for every column it writes")
        return compiled

    def _prepare(
        self, compiled: SQLCompiler, dialect: Dialect, parameters: dict[str, Any]
    ) -> _Prepared:
        state = compiled.construct_expanded_state(dict(parameters))
        binds: dict[str, Callable[[Any], Any] | None] = {}
        fixed: dict[str, Any] = {}
        expansion = {name: list(names) for name, names in state.parameter_expansion.items()}
        for param, name in compiled.bind_names.items():
            process = param.type.dialect_impl(dialect).bind_processor(dialect)
            binds[name] = process
            if name not in parameters and name not in expansion:
                value = param.effective_value
                fixed[name] = process(value) if process is not None else value
        order = tuple(state.positiontup) if state.positiontup is not None else None
        return _Prepared(state.statement, fixed, order, binds, expansion)

    def _for(self, dialect: Dialect, parameters: dict[str, Any]) -> _Prepared:
        base = (dialect.name, tuple(parameters))
        expanding = self._expanding.get(base)
        if expanding is not None:
            key = (base, tuple(len(parameters[name]) for name in expanding))
            found = self._prepared.get(key)
            if found is not None:
                return found
        compiled = self._compiled.get(base)
        if compiled is None:
            compiled = self._compiled[base] = self._compile(dialect, base[1])
        found = self._prepare(compiled, dialect, parameters)
        expanding = self._expanding[base] = tuple(found.expansion)
        if len(self._prepared) < _KEPT_EXPANSIONS * len(self._compiled):
            self._prepared[(base, tuple(len(parameters[name]) for name in expanding))] = found
        return found

    def _processors(self, dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...] | None:
        """The result columns' type processing; None when no column has any."""
        if dialect.name not in self._results:
            statement: Any = self._statement
            columns = (
                statement.selected_columns
                if isinstance(statement, sa.Select | sa.CompoundSelect)
                else [column for column in statement._returning if isinstance(column, sa.Column)]
            )
            processors = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            )
            self._results[dialect.name] = (
                processors if any(p is not None for p in processors) else None
            )
        return self._results[dialect.name]

    def execute(self, session: Session, parameters: dict[str, Any]) -> Outcome:
        """Run the statement once with ``parameters`` (every row of a multi-row ``INSERT`` goes
        through ``executemany``)."""
        connection = _connection(session)
        dialect = connection.dialect
        prepared = self._for(dialect, parameters)
        values = prepared.values(parameters)
        cursor = _driver(connection).cursor()
        try:
            _announce(connection, cursor, prepared.sql, values, many=False)
            cursor.execute(prepared.sql, values)
            rows = cursor.fetchall() if cursor.description is not None else []
            rowcount = cursor.rowcount
        except dialect.loaded_dbapi.Error as exc:
            raise _driver_error(connection, cursor, prepared.sql, values, exc) from exc
        finally:
            cursor.close()
        return self._outcome(dialect, rows, rowcount)

    def _outcome(self, dialect: Dialect, rows: list[Any], rowcount: int) -> Outcome:
        """The driver's ``rows`` typed as SQLAlchemy types them."""
        processors = self._processors(dialect)
        if processors is None:
            return Outcome([tuple(row) for row in rows], rowcount)
        typed = [
            tuple(
                process(value) if process is not None else value
                for process, value in zip(processors, row, strict=True)
            )
            for row in rows
        ]
        return Outcome(typed, rowcount)

    def executemany(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Run the statement (one that returns no rows) once per row of ``rows``, which all
        have the same keys."""
        if not rows:
            return
        connection = _connection(session)
        dialect = connection.dialect
        prepared = self._for(dialect, rows[0])
        values = [prepared.values(row) for row in rows]
        cursor = _driver(connection).cursor()
        try:
            _announce(connection, cursor, prepared.sql, values, many=True)
            cursor.executemany(prepared.sql, values)
        except dialect.loaded_dbapi.Error as exc:
            raise _driver_error(connection, cursor, prepared.sql, values, exc) from exc
        finally:
            cursor.close()


def _announce(connection: sa.Connection, cursor: Any, sql: str, values: Any, *, many: bool) -> None:
    """Tell SQLAlchemy's ``before_cursor_execute`` listeners of a statement sent straight to
    the driver, as its own execution would (with no execution context), so that whatever
    watches the statements sent (a test counting them) sees these too."""
    connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, many)


def run_together(
    session: Session, calls: Sequence[tuple[SessionStatement, dict[str, Any]]]
) -> list[Outcome]:
    """Run ``calls`` in their order in the session's transaction, as ``SessionStatement.execute``
    runs each, and give back each one's outcome.

    On PostgreSQL they go in one pipeline: sent together and answered together, one round trip
    for all of them. The server still runs each only after the one before has finished, so a
    lock taken by one holds for those after it, and each reads what those before it left. On
    a driver without pipelines (SQLite's) they run one after another. If one fails, the
    transaction is in error either way and the error is raised as ``execute`` raises it.
    """
    connection = _connection(session)
    dialect = connection.dialect
    driver = _driver(connection)
    pipeline = getattr(driver, "pipeline", None)
    sent: list[tuple[SessionStatement, Any]] = []
    sql: str | None = None
    values: Any = None
    cursor: Any = None
    try:
        with pipeline() if pipeline is not None else nullcontext():
            for statement, parameters in calls:
                prepared = statement._for(dialect, parameters)
                sql, values = prepared.sql, prepared.values(parameters)
                cursor = driver.cursor()
                sent.append((statement, cursor))
                _announce(connection, cursor, sql, values, many=False)
                cursor.execute(sql, values)
        # Past the pipeline, every answer has come back.
        answers = [
            (statement, opened.fetchall() if opened.description else [], opened.rowcount)
            for statement, opened in sent
        ]
    except dialect.loaded_dbapi.Error as exc:
        raise _driver_error(connection, cursor, sql or "", values, exc) from exc
    finally:
        for _, opened in sent:
            opened.close()
    return [statement._outcome(dialect, rows, rowcount) for statement, rows, rowcount in answers]


_CONNECTION = "voice.database.connection"


def _connection(session: Session) -> sa.Connection:
    """``session.connection()``, kept in the session for as long as its transaction and
    savepoint last: asking the session each time cost more than a short statement's own work.

    A savepoint (``begin_nested``) starts on the connection only when the session is first asked
    for it inside: so a new savepoint, or the end of one, asks the session again.
    """
    kept = session.info.get(_CONNECTION)
    if (
        kept is not None
        and session.is_active
        and kept[0] is session.get_transaction()
        and kept[1] is session.get_nested_transaction()
    ):
        connection: sa.Connection = kept[2]
        return connection
    connection = session.connection()
    session.info[_CONNECTION] = (
        session.get_transaction(),
        session.get_nested_transaction(),
        connection,
    )
    return connection


def _driver_error(
    connection: sa.Connection, cursor: Any, sql: str, values: Any, exc: Exception
) -> sa.exc.StatementError:
    """``exc``, raised by the driver, as SQLAlchemy's execution would raise it: its own error
    class for it, with a lost connection invalidated first."""
    dbapi_connection = connection.connection.dbapi_connection
    return _sqlalchemy_error(
        connection.dialect, exc, dbapi_connection, cursor, connection.invalidate, sql, values
    )


def _sqlalchemy_error(
    dialect: Dialect,
    exc: Exception,
    dbapi_connection: Any,
    cursor: Any,
    invalidate: Callable[[Exception], None],
    sql: str | None,
    values: Any,
) -> sa.exc.StatementError:
    """``exc`` as SQLAlchemy's error class for it; if it means the connection is lost,
    ``invalidate`` is called first, so that the connection is not used again."""
    error: Any = exc
    invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
    if invalidated:
        invalidate(exc)
    return sa.exc.DBAPIError.instance(
        sql,
        values,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=invalidated,
        dialect=dialect,
    )


M = TypeVar("M", bound=SQLModel)


def built(model: type[M], values: dict[str, Any]) -> M:
    """A ``model`` object holding ``values``, made as the ORM's loader makes one: without
    validation (a table model's ``__init__``, or even pydantic's ``model_construct``, cost more
    than the statement that stored the row). It is in no session; ``loaded`` puts one there."""
    mapper = sa.inspect(model)
    if not mapper.configured:
        sa.orm.configure_mappers()
    row: M = mapper.class_manager.new_instance()
    row.__dict__.update(values)
    return row


def loaded(session: Session, model: type[M], values: dict[str, Any]) -> M | None:
    """``model``'s row with ``values`` (every column, typed as read by a ``SessionStatement``)
    in ``session`` as if its query had loaded it: persistent, unchanged, in the identity map.

    None when the session holds that row already: its object may hold changes or be expired,
    which only the ORM's own query reconciles with what was read, so the caller asks it.
    Building the object as the ORM's loader does costs a fraction of an ORM query.
    """
    mapper = sa.inspect(model)
    key = mapper.identity_key_from_primary_key(
        [values[column.key] for column in mapper.primary_key]
    )
    if key in session.identity_map:
        return None
    row = built(model, values)
    sa.orm.make_transient_to_detached(row)
    session.add(row)
    return row
