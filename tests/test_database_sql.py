"""The dialect-aware SQL of voice.database: the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from voice.database import SecondsBetween, UTCDateTime

_metadata = sa.MetaData()
_stamps = sa.Table(
    "test_seconds_between",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)
_scratch = sa.Table(
    "test_savepoint_scratch", _metadata, sa.Column("id", sa.Integer, primary_key=True)
)


def test_seconds_between_is_pythons_total_seconds_to_the_microsecond(engine: Engine) -> None:
    rng = random.Random(15)
    base = datetime(2026, 11, 28, tzinfo=UTC)
    pairs = [(base + timedelta(hours=h), base) for h in (0, 1, 24)] + [
        (
            base + timedelta(microseconds=rng.randrange(-(10**12), 10**12)),
            base + timedelta(microseconds=rng.randrange(-(10**12), 10**12)),
        )
        for _ in range(200)
    ]
    gap = SecondsBetween(sa.bindparam("later", type_=UTCDateTime), _stamps.c.at)
    query = sa.select(gap).where(_stamps.c.id == sa.bindparam("id"))
    with engine.connect() as connection:
        _stamps.create(connection)
        try:
            connection.execute(
                _stamps.insert(), [{"id": i, "at": earlier} for i, (_, earlier) in enumerate(pairs)]
            )
            found = [
                connection.execute(query, {"id": i, "later": later}).scalar_one()
                for i, (later, _) in enumerate(pairs)
            ]
        finally:
            connection.rollback()
    assert found == [(later - earlier).total_seconds() for later, earlier in pairs]


def test_savepoints_keep_their_meaning(engine: Engine) -> None:
    """SQLite's savepoints go straight to the driver: released work stays, rolled back goes."""
    with engine.connect() as connection:
        _scratch.create(connection)
        try:
            connection.execute(_scratch.insert(), {"id": 1})
            with connection.begin_nested():
                connection.execute(_scratch.insert(), {"id": 2})
                inner = connection.begin_nested()
                connection.execute(_scratch.insert(), {"id": 3})
                inner.rollback()
            lost = connection.begin_nested()
            connection.execute(_scratch.insert(), {"id": 4})
            lost.rollback()
            kept = sorted(connection.execute(sa.select(_scratch.c.id)).scalars())
        finally:
            connection.rollback()
    assert kept == [1, 2]
