"""Statements run together in a session's transaction (``database.run_together``): each one's
outcome as ``SessionStatement.execute`` gives it, in order, each seeing what those before it
did; on PostgreSQL in one pipeline; with SQLAlchemy's errors and cursor listeners."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from voice.database import SessionStatement, run_together, utcnow
from voice.ingest.models import SourceFeed
from voice.notify.models import ContactSuppression

_FEEDS = SourceFeed.__table__  # type: ignore[attr-defined]
_SUPPRESSIONS = ContactSuppression.__table__  # type: ignore[attr-defined]

ADD_FEED = SessionStatement(_FEEDS.insert())
FEEDS_LIKE = SessionStatement(
    sa.select(_FEEDS.c.source, _FEEDS.c.last_event_at, _FEEDS.c.events)
    .where(_FEEDS.c.source.like(sa.bindparam("pattern")))
    .order_by(_FEEDS.c.source)
)
COUNT_OF = SessionStatement(
    sa.select(sa.func.count()).where(_FEEDS.c.source.in_(sa.bindparam("sources", expanding=True)))
)
ADD_SUPPRESSION = SessionStatement(_SUPPRESSIONS.insert())


def _feed(source: str, events: int) -> dict[str, Any]:
    now = utcnow()
    return {"source": source, "first_seen_at": now, "last_event_at": now, "events": events}


def test_each_outcome_comes_back_in_order_and_typed(session: Session) -> None:
    first, second = _feed("together-a", 1), _feed("together-b", 2)
    outcomes = run_together(
        session,
        [
            (ADD_FEED, first),
            (ADD_FEED, second),
            (FEEDS_LIKE, {"pattern": "together-%"}),
            (COUNT_OF, {"sources": ["together-a", "together-b", "elsewhere"]}),
        ],
    )
    assert [outcome.rowcount for outcome in outcomes[:2]] == [1, 1]
    # Written by the statements before them in the same round: each reads what those left.
    # The timestamps come back timezone-aware on both databases, as SQLAlchemy types them.
    assert outcomes[2].rows == [
        ("together-a", first["last_event_at"], 1),
        ("together-b", second["last_event_at"], 2),
    ]
    assert outcomes[3].rows == [(2,)]
    assert outcomes[2].rows[0][1].tzinfo is not None


def test_nothing_to_run_runs_nothing(session: Session) -> None:
    assert run_together(session, []) == []


def test_a_refused_statement_is_sqlalchemys_error_and_the_savepoint_undoes_the_round(
    session: Session,
) -> None:
    row = {
        "channel": "email",
        "address": "once@example.invalid",
        "reason": "opted_out",
        "created_at": utcnow(),
    }
    run_together(session, [(ADD_SUPPRESSION, row)])
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        run_together(session, [(ADD_FEED, _feed("undone", 1)), (ADD_SUPPRESSION, row)])
    assert run_together(session, [(FEEDS_LIKE, {"pattern": "undone"})])[0].rows == []
    # The session goes on past the rolled-back savepoint.
    assert run_together(session, [(ADD_FEED, _feed("after", 1))])[0].rowcount == 1


def test_cursor_listeners_see_every_statement(session: Session) -> None:
    seen: list[str] = []

    def note(_c: object, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        run_together(
            session,
            [(ADD_FEED, _feed("heard", 1)), (FEEDS_LIKE, {"pattern": "heard"})],
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    # After the test session's own SAVEPOINT, taken at its first statement.
    ours = [statement for statement in seen if not statement.startswith("SAVEPOINT")]
    assert len(ours) == 2
    assert ours[0].startswith("INSERT INTO source_feed")
    assert ours[1].startswith("SELECT source_feed.source")


def test_on_postgresql_the_statements_share_one_pipeline(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One pipeline for the round on PostgreSQL; SQLite's driver has none, and runs them one
    after another to the same outcome."""
    opened: list[int] = []
    original = psycopg.Connection.pipeline

    @contextmanager
    def counted(self: psycopg.Connection[Any]) -> Iterator[psycopg.Pipeline]:
        with original(self) as pipeline:
            opened.append(id(pipeline))
            yield pipeline

    monkeypatch.setattr(psycopg.Connection, "pipeline", counted)
    outcomes = run_together(
        session,
        [
            (ADD_FEED, _feed("piped-a", 1)),
            (ADD_FEED, _feed("piped-b", 1)),
            (FEEDS_LIKE, {"pattern": "piped-%"}),
        ],
    )
    assert len(opened) == (1 if session.get_bind().dialect.name == "postgresql" else 0)
    assert [source for source, _, _ in outcomes[2].rows] == ["piped-a", "piped-b"]
