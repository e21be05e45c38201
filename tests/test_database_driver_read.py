"""Reads run straight on the driver (``database.DriverRead``): the same rows, typed the same, as
SQLAlchemy's own execution, no transaction left open, and SQLAlchemy's errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.factories import booking, case_of, victim_with_link
from voice.database import (
    DriverConnection,
    DriverRead,
    UTCDateTime,
    run_driver_read,
    transaction,
    utcnow,
)
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.victims.models import Victim, VictimCaseLink

_VICTIMS = Victim.__table__  # type: ignore[attr-defined]
_LINKS = VictimCaseLink.__table__  # type: ignore[attr-defined]
# A constant compared in the statement itself, a parameter used twice, and typed columns.
_READ = (
    sa.select(
        _VICTIMS.c.id,
        _VICTIMS.c.active,
        _VICTIMS.c.created_at,
        (_VICTIMS.c.created_at < sa.bindparam("now", type_=UTCDateTime)).label("before"),
        _LINKS.c.relationship,
    )
    .select_from(_VICTIMS.join(_LINKS, _LINKS.c.victim_id == _VICTIMS.c.id))
    .where(
        _VICTIMS.c.id == sa.bindparam("victim_id"),
        _LINKS.c.verification_status != "rejected",
        _VICTIMS.c.created_at < sa.bindparam("now", type_=UTCDateTime),
    )
)
READ = DriverRead(_READ)


@pytest.fixture
def victim_id(committed_engine: Engine, policy: Policy) -> int:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        victim, _, _ = victim_with_link(session, case_of(session))
    assert victim.id is not None
    return victim.id


def _rows(connection: DriverConnection, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [READ.typed(connection.dialect, row) for row in READ.rows(connection, parameters)]


def test_rows_and_types_are_sqlalchemys(committed_engine: Engine, victim_id: int) -> None:
    later = utcnow() + timedelta(minutes=1)
    parameters = {"victim_id": victim_id, "now": later}
    with committed_engine.connect() as connection:
        expected = [tuple(row) for row in connection.execute(_READ, parameters)]
    found = asyncio.run(run_driver_read(committed_engine, _rows, parameters))
    assert found == expected
    assert len(found) == 1
    assert isinstance(found[0][2], datetime)
    assert found[0][2].tzinfo is UTC
    assert found[0][1] is True
    # Raw rows are the driver's own, and a raw row is what the views are kept by.
    raw = asyncio.run(run_driver_read(committed_engine, READ.rows, parameters))
    assert len(raw) == 1
    assert isinstance(raw[0], tuple)
    earlier = {"victim_id": victim_id, "now": utcnow() - timedelta(days=1)}
    assert asyncio.run(run_driver_read(committed_engine, _rows, earlier)) == []


def test_no_transaction_is_left_open(committed_engine: Engine, victim_id: int) -> None:
    parameters = {"victim_id": victim_id, "now": utcnow() + timedelta(minutes=1)}

    def state(connection: DriverConnection) -> tuple[bool, Any]:
        READ.rows(connection, parameters)
        if connection.dialect.name == "postgresql":
            return bool(connection.driver.autocommit), connection.driver.info.transaction_status
        return True, connection.driver.in_transaction

    autocommit, status = asyncio.run(run_driver_read(committed_engine, state))
    assert autocommit
    assert getattr(status, "name", status) in ("IDLE", False)
    # Back in the pool as SQLAlchemy left it: a later unit of work has its transaction.
    with committed_engine.connect() as connection:
        driver: Any = connection.connection.driver_connection
        if committed_engine.dialect.name == "postgresql":
            assert driver.autocommit is False
        with connection.begin():
            connection.execute(sa.text("SELECT 1"))


def test_a_driver_error_is_sqlalchemys(committed_engine: Engine) -> None:
    """The API answers a database failure with 503 by SQLAlchemy's OperationalError."""
    broken = DriverRead(sa.select(sa.text("no_such_column")).select_from(_VICTIMS))

    def read(connection: DriverConnection) -> list[tuple[Any, ...]]:
        return broken.rows(connection, {})

    with pytest.raises(sa.exc.DBAPIError):
        asyncio.run(run_driver_read(committed_engine, read))
    # The connection went back to the pool usable.
    parameters = {"victim_id": 0, "now": utcnow()}
    assert asyncio.run(run_driver_read(committed_engine, READ.rows, parameters)) == []
