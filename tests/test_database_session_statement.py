"""Statements run straight on the driver in a session's transaction (``SessionStatement``): the
same rows, typed the same, and the same writes as SQLAlchemy's own execution, in the session's
savepoints, with SQLAlchemy's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.factories import booking, case_of, victim_with_link
from voice.cases.models import Subject
from voice.database import SessionStatement, UTCDateTime, loaded, utcnow
from voice.disclosure.policy import Policy
from voice.ingest.models import SourceFeed
from voice.ingest.service import ingest_event
from voice.notify.models import ContactSuppression
from voice.victims.models import Victim, VictimCaseLink

_VICTIMS = Victim.__table__  # type: ignore[attr-defined]
_LINKS = VictimCaseLink.__table__  # type: ignore[attr-defined]
_FEEDS = SourceFeed.__table__  # type: ignore[attr-defined]
_SUPPRESSIONS = ContactSuppression.__table__  # type: ignore[attr-defined]
_SUBJECTS = Subject.__table__  # type: ignore[attr-defined]

# An encrypted, a boolean and a timestamp column, a constant compared in the statement itself,
# a parameter used twice, and an expanding one.
_READ = (
    sa.select(
        _VICTIMS.c.id,
        _VICTIMS.c.email,
        _VICTIMS.c.active,
        _VICTIMS.c.created_at,
        (_VICTIMS.c.created_at < sa.bindparam("now", type_=UTCDateTime)).label("before"),
        _LINKS.c.case_id,
    )
    .select_from(_VICTIMS.join(_LINKS, _LINKS.c.victim_id == _VICTIMS.c.id))
    .where(
        _VICTIMS.c.id.in_(sa.bindparam("victim_ids", expanding=True)),
        _LINKS.c.verification_status != "rejected",
        _VICTIMS.c.created_at < sa.bindparam("now", type_=UTCDateTime),
    )
    .order_by(_VICTIMS.c.id)
)
READ = SessionStatement(_READ)


@pytest.fixture
def victim_ids(session: Session, policy: Policy) -> list[int]:
    ingest_event(session=session, candidate=booking(), policy=policy)
    case = case_of(session)
    ids = []
    for address in ("one@example.invalid", "two@example.invalid", None):
        victim, _, _ = victim_with_link(session, case, email=address)
        assert victim.id is not None
        ids.append(victim.id)
    return ids


def test_rows_and_types_are_sqlalchemys(session: Session, victim_ids: list[int]) -> None:
    later = utcnow() + timedelta(minutes=1)
    # Each count of the expanding parameter's elements, none among them, and a missing id.
    for wanted in ([], victim_ids[:1], victim_ids, [*victim_ids, 0], victim_ids[1:]):
        parameters = {"victim_ids": wanted, "now": later}
        expected = [tuple(row) for row in session.connection().execute(_READ, parameters)]
        found = READ.execute(session, parameters).rows
        assert found == expected
        assert len(found) == len(set(wanted) & set(victim_ids))
    (first, *_) = READ.execute(session, {"victim_ids": victim_ids, "now": later}).rows
    assert first[1] == "one@example.invalid"  # decrypted
    assert first[2] is True
    assert isinstance(first[3], datetime)
    assert first[3].tzinfo is UTC
    earlier = {"victim_ids": victim_ids, "now": utcnow() - timedelta(days=1)}
    assert READ.execute(session, earlier).rows == []


def test_many_counts_of_elements_each_bind_their_own(
    session: Session, victim_ids: list[int]
) -> None:
    """Past the counts whose SQL is kept, a statement is expanded anew, with the same rows."""
    later = utcnow() + timedelta(minutes=1)
    for extra in range(80):
        wanted = [*victim_ids, *range(-extra, 0)]
        rows = READ.execute(session, {"victim_ids": wanted, "now": later}).rows
        assert [row[0] for row in rows] == victim_ids


def test_writes_are_sqlalchemys(session: Session) -> None:
    """An INSERT with RETURNING, an UPDATE of the columns given, their row counts, and many
    rows in one go, read back through SQLAlchemy."""
    now = utcnow()
    insert = SessionStatement(_FEEDS.insert().returning(_FEEDS.c.source, _FEEDS.c.last_event_at))
    found = insert.execute(
        session,
        {"source": "feed-a", "first_seen_at": now, "last_event_at": now, "events": 1},
    )
    assert found.rows == [("feed-a", now)]
    SessionStatement(_FEEDS.insert()).executemany(
        session,
        [
            {"source": f"feed-{n}", "first_seen_at": now, "last_event_at": now, "events": n}
            for n in (2, 3)
        ],
    )
    update = SessionStatement(_FEEDS.update().where(_FEEDS.c.source == sa.bindparam("b_source")))
    later = now + timedelta(seconds=90)
    changed = update.execute(session, {"b_source": "feed-a", "cadence_seconds": 1.5})
    assert changed.rowcount == 1
    changed = update.execute(session, {"b_source": "feed-a", "last_event_at": later})
    assert changed.rowcount == 1
    assert update.execute(session, {"b_source": "none", "events": 9}).rowcount == 0
    rows = session.connection().execute(
        sa.select(
            _FEEDS.c.source, _FEEDS.c.last_event_at, _FEEDS.c.cadence_seconds, _FEEDS.c.events
        )
        .where(_FEEDS.c.source.like("feed-%"))
        .order_by(_FEEDS.c.source)
    )
    assert [tuple(row) for row in rows] == [
        ("feed-2", now, None, 2),
        ("feed-3", now, None, 3),
        ("feed-a", later, 1.5, 1),
    ]


def _suppress(session: Session, address: str) -> None:
    SessionStatement(_SUPPRESSIONS.insert()).execute(
        session,
        {"channel": "email", "address": address, "reason": "opted_out", "created_at": utcnow()},
    )


def _suppressed(session: Session) -> list[str]:
    rows = session.connection().execute(sa.select(_SUPPRESSIONS.c.address).order_by("address"))
    return [address for (address,) in rows]


def test_it_runs_in_the_sessions_savepoint(session: Session) -> None:
    _suppress(session, "kept@example.invalid")
    savepoint = session.begin_nested()
    _suppress(session, "dropped@example.invalid")
    savepoint.rollback()
    assert _suppressed(session) == ["kept@example.invalid"]


def test_a_driver_error_is_sqlalchemys(session: Session) -> None:
    """A duplicate key is SQLAlchemy's IntegrityError (ingest retries on it), and the session
    goes on once its savepoint is rolled back."""
    _suppress(session, "once@example.invalid")
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        _suppress(session, "once@example.invalid")
    _suppress(session, "twice@example.invalid")
    assert _suppressed(session) == ["once@example.invalid", "twice@example.invalid"]


def test_a_column_default_computed_in_python_is_refused(session: Session) -> None:
    table = sa.Table(
        "contact_suppression",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16)),
        sa.Column("address", sa.String(320)),
        sa.Column("reason", sa.String(32)),
        sa.Column("created_at", UTCDateTime, default=utcnow),
    )
    with pytest.raises(TypeError):
        SessionStatement(table.insert()).execute(
            session, {"channel": "email", "address": "x@example.invalid", "reason": "opted_out"}
        )


def test_each_transaction_of_a_session_runs_its_own(committed_engine: Engine) -> None:
    """The session's connection is kept only for the transaction it belongs to."""
    with Session(committed_engine) as session:
        _suppress(session, "committed@example.invalid")
        session.commit()
        _suppress(session, "rolled-back@example.invalid")
        session.rollback()
        _suppress(session, "then@example.invalid")
        session.commit()
    with Session(committed_engine) as session:
        assert _suppressed(session) == ["committed@example.invalid", "then@example.invalid"]


_SUBJECT_ROW = SessionStatement(
    sa.select(*_SUBJECTS.columns).where(_SUBJECTS.c.id == sa.bindparam("subject_id"))
)


def test_a_row_read_raw_is_loaded_as_the_orms_query_would(session: Session, policy: Policy) -> None:
    ingest_event(session=session, candidate=booking(), policy=policy)
    subject = session.exec(select(Subject)).one()
    expected = subject.model_dump()
    session.expunge_all()
    (values,) = _SUBJECT_ROW.execute(session, {"subject_id": expected["id"]}).rows
    row = loaded(session, Subject, dict(zip(_SUBJECTS.columns.keys(), values, strict=True)))
    assert row is not None
    state = sa.inspect(row)
    assert state.persistent
    assert not state.modified
    assert row.model_dump() == expected
    assert session.get(Subject, expected["id"]) is row
    # Held by the session now: only the ORM's query may read it again.
    assert loaded(session, Subject, row.model_dump()) is None
    row.is_minor = True
    assert set(state.attrs.keys()) - state.unmodified == {"is_minor"}
    session.flush()
    (stored,) = _SUBJECT_ROW.execute(session, {"subject_id": expected["id"]}).rows
    assert stored[_SUBJECTS.columns.keys().index("is_minor")] is True


def test_cursor_listeners_hear_of_each_statement(session: Session) -> None:
    heard: list[tuple[str, bool]] = []

    def note(
        _c: object, _cur: object, statement: str, _p: object, _ctx: object, many: bool
    ) -> None:
        heard.append((statement.split(" ", 1)[0], many))

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        _suppress(session, "heard@example.invalid")
        SessionStatement(_SUPPRESSIONS.insert()).executemany(
            session,
            [
                {"channel": "sms", "address": f"+1555000000{n}", "reason": "opted_out"}
                | {"created_at": utcnow()}
                for n in (1, 2)
            ],
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    # After the test session's own SAVEPOINT, taken at its first statement.
    assert [h for h in heard if h[0] != "SAVEPOINT"] == [("INSERT", False), ("INSERT", True)]
