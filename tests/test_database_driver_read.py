"""Reads run straight on the driver (``database.DriverRead``, through ``database.read_rows``):
the same rows, typed the same, as SQLAlchemy's own execution, no transaction left open, and
SQLAlchemy's errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.factories import booking, case_of, victim_with_link
from voice.database import DriverRead, UTCDateTime, read_rows, transaction, utcnow
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


def _rows(engine: Engine, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    raw = asyncio.run(read_rows(engine, READ, parameters))
    return [READ.typed(engine.dialect, row) for row in raw]


def test_rows_and_types_are_sqlalchemys(committed_engine: Engine, victim_id: int) -> None:
    later = utcnow() + timedelta(minutes=1)
    parameters = {"victim_id": victim_id, "now": later}
    with committed_engine.connect() as connection:
        expected = [tuple(row) for row in connection.execute(_READ, parameters)]
    found = _rows(committed_engine, parameters)
    assert found == expected
    assert len(found) == 1
    assert isinstance(found[0][2], datetime)
    assert found[0][2].tzinfo is UTC
    assert found[0][1] is True
    # Raw rows are the driver's own, and a raw row is what the views are kept by.
    raw = asyncio.run(read_rows(committed_engine, READ, parameters))
    assert len(raw) == 1
    assert isinstance(raw[0], tuple)
    earlier = {"victim_id": victim_id, "now": utcnow() - timedelta(days=1)}
    assert _rows(committed_engine, earlier) == []


def test_no_transaction_is_left_open(committed_engine: Engine, victim_id: int) -> None:
    """The read opens no transaction, and the pooled connection it used goes back as
    SQLAlchemy left it: a later unit of work has its transaction."""
    parameters = {"victim_id": victim_id, "now": utcnow() + timedelta(minutes=1)}
    assert len(_rows(committed_engine, parameters)) == 1
    with committed_engine.connect() as connection:
        driver: Any = connection.connection.driver_connection
        if committed_engine.dialect.name == "postgresql":
            assert driver.autocommit is False
            assert driver.info.transaction_status.name == "IDLE"
        else:
            assert driver.in_transaction is False
        with connection.begin():
            connection.execute(sa.text("SELECT 1"))


def test_a_driver_error_is_sqlalchemys(committed_engine: Engine) -> None:
    """The API answers a database failure with 503 by SQLAlchemy's OperationalError."""
    broken = DriverRead(sa.select(sa.text("no_such_column")).select_from(_VICTIMS))
    with pytest.raises(sa.exc.DBAPIError):
        asyncio.run(read_rows(committed_engine, broken, {}))
    # The connection went back usable.
    assert _rows(committed_engine, {"victim_id": 0, "now": utcnow()}) == []
