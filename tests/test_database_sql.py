"""The dialect-aware SQL of voice.database: the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.database import JSONType, SecondsBetween, UTCDateTime, insert_numbered, insert_rows

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


_many = sa.Table(
    "test_many_rows",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(32), nullable=False, unique=True),
    sa.Column("count", sa.Integer),
    sa.Column("flag", sa.Boolean),
    sa.Column("at", UTCDateTime),
    sa.Column("document", JSONType),
)


def _many_rows(count: int) -> list[dict[str, Any]]:
    """Rows sharing values the way a batch's rows do (one timestamp, in two time zones too),
    with documents and NULLs."""
    at = datetime(2026, 11, 28, 6, 30, 0, 123456, tzinfo=UTC)
    elsewhere = at.astimezone(timezone(timedelta(hours=-5)))
    return [
        {
            "name": f"row-{i:05d}",
            "count": (1, None)[i % 2] if i % 3 else i,
            "flag": (True, False, None)[i % 3],
            "at": (at, elsewhere, None, at + timedelta(microseconds=i))[i % 4],
            "document": {"i": i, "tags": ["a", "b"][: i % 3]} if i % 5 else None,
        }
        for i in range(count)
    ]


def test_many_rows_go_in_as_one_row_at_a_time_would(engine: Engine) -> None:
    """Many rows take a path of their own (SQLite binds them itself, PostgreSQL copies them):
    what is stored is what an INSERT of each row stores, and ``insert_numbered``'s ids rise in
    the rows' order, across more rows than one statement takes."""
    numbered, plain = _many_rows(1200), _many_rows(1230)[1200:]
    columns = [_many.c[name] for name in ("name", "count", "flag", "at", "document")]
    with engine.connect() as connection:
        _many.create(connection)
        try:
            with Session(bind=connection) as session:
                ids = insert_numbered(session, _many, numbered, key=("name",))
                insert_rows(session, _many, plain)
                stored = [
                    dict(row._mapping)
                    for row in session.execute(sa.select(*columns).order_by(_many.c.id))
                ]
                by_name = dict(session.execute(sa.select(_many.c.name, _many.c.id)).all())
        finally:
            connection.rollback()
    assert ids == sorted(ids)
    assert ids == [by_name[row["name"]] for row in numbered]
    assert stored == numbered + plain


def test_documents_shared_by_many_rows_go_in_as_each_rows_insert_would(engine: Engine) -> None:
    """Many rows sharing one document object (as the accounting's records of one view share
    their lists of fields) are bound once per object; what is stored, JSON ``null`` against SQL
    ``NULL`` included, is what an INSERT of each row stores."""
    shared = {"fields": ["event.event_type", "case.status"], "n": 1}
    other = [{"field": "subject.dob", "rule_id": "pii.dob", "basis": "privacy"}]
    documents = [shared, other, None, shared, sa.JSON.NULL, other, shared]

    def rows(prefix: str) -> list[dict[str, Any]]:
        return [
            {"name": f"{prefix}-{i:03d}", "document": documents[i % len(documents)]}
            for i in range(45)
        ]

    stored_is_null = sa.select(_many.c.name, _many.c.document, _many.c.document.is_(None))
    with engine.connect() as connection:
        _many.create(connection)
        try:
            with Session(bind=connection) as session:
                insert_rows(session, _many, rows("many"))
                for row in rows("one"):
                    session.execute(_many.insert(), row)
                found = {
                    name: (document, is_null)
                    for name, document, is_null in session.execute(stored_is_null)
                }
        finally:
            connection.rollback()
    for i in range(45):
        assert found[f"many-{i:03d}"] == found[f"one-{i:03d}"]
    assert found["many-000"] == (shared, False)
    assert found["many-001"] == (other, False)
