"""An event ingested in a session of its own (as the API does: its subject and case are read raw,
straight on the driver) ends exactly as one ingested in a session that already holds them (read
by the ORM's query): the same subjects, cases, events and notices."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from tests.factories import booking, event, victim_with_link
from voice import database
from voice.cases.models import Case, CaseEvent, Subject
from voice.database import M, transaction
from voice.disclosure.policy import Policy
from voice.ingest import apply
from voice.ingest.models import SourceFeed
from voice.ingest.service import IngestConflict, ingest_event
from voice.notify import service as notify_service
from voice.notify.models import Notification
from voice.victims.models import VictimCaseLink

# Ids and clock readings differ from one run to the next; what they name is compared instead.
_MOVING = {
    "id",
    "subject_id",
    "case_id",
    "retracted_by_id",
    "created_at",
    "updated_at",
    "received_at",
    "receipt_id",
}


def _events() -> list[dict[str, Any]]:
    """Plain events, late arrivals, a second case, a flag, a correction and an event that a
    correction already retracts, over two subjects."""
    other: dict[str, Any] = {"subject_id": "S-T0002", "case_number": "CASE-T-0002"}
    return [
        event(
            "custody.transferred",
            source_event_id="e-02",
            occurred_at="2026-11-03T09:00:00Z",
            case={"facility_name": "Second Center", "facility_city": "Othertown"},
        ),
        event(
            "case.hearing_scheduled",
            source_event_id="e-03",
            occurred_at="2026-11-02T12:00:00Z",  # late: before the transfer
            case={"hearing_at": "2026-12-01T15:00:00Z", "hearing_court": "Example Court"},
        ),
        booking(source_event_id="e-04", **other),
        event("custody.released", source_event_id="e-05", **other),
        event(
            "custody.transferred",
            source_event_id="e-06",
            case_number="CASE-T-0009",
            occurred_at="2026-11-04T09:00:00Z",
        ),
        event(
            "correction",
            source_event_id="e-07",
            occurred_at="2026-11-04T10:00:00Z",
            corrects="e-02",
        ),
        event(
            "correction",
            source_event_id="e-08",
            occurred_at="2026-11-04T11:00:00Z",
            corrects="e-09",
        ),
        event("custody.released", source_event_id="e-09", occurred_at="2026-11-04T12:00:00Z"),
        event(
            "case.removal_ordered",
            source_event_id="e-10",
            occurred_at="2026-11-01T09:00:00Z",  # late, and a flag that stays
            subject={"flags": {"minor": True}},
        ),
    ]


def _rows(session: Session, model: type[SQLModel], order: Any) -> list[dict[str, Any]]:
    """What the database holds (read in Core: the session's objects may be stale)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(sa.select(table).order_by(order))
    return [{k: v for k, v in row._asdict().items() if k not in _MOVING} for row in rows]


Retracting = aliased(CaseEvent)


def _outcome(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return _outcome_of(session)


def _outcome_of(session: Session) -> dict[str, Any]:
    notices = session.exec(
        select(CaseEvent.source_event_id, Case.case_number, Notification.channel)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
        .join(Case, col(Case.id) == col(VictimCaseLink.case_id))
        .order_by(col(Notification.id))
    ).all()
    return {
        "subjects": _rows(session, Subject, col(Subject.upstream_id)),
        "cases": _rows(session, Case, col(Case.case_number)),
        "events": _rows(session, CaseEvent, col(CaseEvent.id)),
        "retracted": session.exec(
            select(CaseEvent.source_event_id, Retracting.source_event_id)
            .join(Retracting, col(Retracting.id) == col(CaseEvent.retracted_by_id))
            .order_by(col(CaseEvent.source_event_id))
        ).all(),
        "cases of events": session.exec(
            select(CaseEvent.source_event_id, Case.case_number)
            .join(Case, col(Case.id) == col(CaseEvent.case_id))
            .order_by(col(CaseEvent.source_event_id))
        ).all(),
        "notices": [tuple(notice) for notice in notices],
    }


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


def _seed(session: Session, policy: Policy) -> None:
    """Both subjects' first cases, each with a victim told by email."""
    for subject, number in (("S-T0001", "CASE-T-0001"), ("S-T0002", "CASE-T-0002")):
        ingest_event(
            session=session,
            candidate=booking(
                subject_id=subject, case_number=number, source_event_id=f"seed-{subject}"
            ),
            policy=policy,
        )
        session.flush()
        case = session.exec(select(Case).where(Case.case_number == number)).one()
        victim_with_link(session, case, email=f"{subject.lower()}@example.invalid")


def test_an_event_in_a_session_of_its_own_ends_as_in_a_shared_one(
    committed_engine: Engine, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []

    def noting(session: Session, model: type[M], values: dict[str, Any]) -> M | None:
        row = database.loaded(session, model, values)
        read.append("raw" if row is not None else "held")
        return row

    monkeypatch.setattr(apply, "loaded", noting)
    with transaction(committed_engine) as session:
        _seed(session, policy)
    for candidate in _events():
        with transaction(committed_engine) as session:
            ingest_event(session=session, candidate=candidate, policy=policy)
    alone = _outcome(committed_engine)
    assert set(read) == {"raw"}
    _empty(committed_engine)
    read.clear()

    with transaction(committed_engine) as session:
        # The session holds every subject and case, changed since they were read: each event
        # finds them there, and the ORM's query reads them.
        _seed(session, policy)
        held = [*session.exec(select(Subject)), *session.exec(select(Case))]
        for candidate in _events():
            ingest_event(session=session, candidate=candidate, policy=policy)
        assert held
    shared = _outcome(committed_engine)
    assert "held" in read

    assert alone == shared
    assert len(alone["notices"]) >= 4
    assert alone["retracted"] == [("e-02", "e-07"), ("e-09", "e-08")]
    assert {subject["is_minor"] for subject in alone["subjects"]} == {True, False}


def test_an_event_that_fails_late_leaves_nothing_of_itself(
    committed_engine: Engine, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its savepoint takes back every write of the event (the event, the fold's updates, the
    feed's arrival), however they were run."""
    with transaction(committed_engine) as session:
        _seed(session, policy)
    before = _outcome(committed_engine)

    def conflict(self: notify_service.Fanout) -> None:
        raise sa.exc.IntegrityError("INSERT", {}, Exception("as if a concurrent insert won"))

    monkeypatch.setattr(notify_service.Fanout, "flush", conflict)
    with transaction(committed_engine) as session:
        with pytest.raises(IngestConflict):
            ingest_event(session=session, candidate=_events()[0], policy=policy)
        # What the transaction holds once the event's savepoints are rolled back.
        during = _outcome_of(session)
        feeds_during = session.exec(select(SourceFeed.source, SourceFeed.events)).all()
    assert during == before
    assert feeds_during == [("enforce", 2)]
    assert _outcome(committed_engine) == before
    with Session(committed_engine) as session:
        feeds = session.exec(select(SourceFeed.source, SourceFeed.events)).all()
    assert feeds == [("enforce", 2)]
