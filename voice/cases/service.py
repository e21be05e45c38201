"""Applying upstream events to subjects and cases.

A case's current state is a fold over its events in the order they occurred, skipping events
that a correction retracted. Refolding on every event keeps out-of-order delivery and
corrections exact, at the cost of reading one case's history, which is short.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from voice.cases.fields import (
    CASE_FIELDS,
    IMPLIED_STATE,
    SUBJECT_FIELDS,
    CaseState,
    SubjectState,
    markings_for,
)
from voice.cases.models import Case, CaseEvent, Subject
from voice.database import utcnow

_DATETIME_FIELDS = frozenset({"hearing_at", "scheduled_removal_at"})
# case_number identifies the case; every other case field is state that events set.
_CASE_STATE_FIELDS = tuple(name for name in CASE_FIELDS if name != "case_number")


class CaseNotFound(LookupError):
    pass


def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp without a UTC offset")
    try:
        # Stored as UTC: an instant at the very edge of the calendar may not exist there.
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("timestamp outside the storable range") from exc


def get_or_create_subject(*, session: Session, source: str, upstream_id: str) -> Subject:
    subject = session.exec(
        select(Subject).where(Subject.source == source, Subject.upstream_id == upstream_id)
    ).first()
    if subject is None:
        subject = Subject(source=source, upstream_id=upstream_id)
        session.add(subject)
        session.flush()
    return subject


def get_or_create_case(*, session: Session, subject: Subject, case_number: str | None) -> Case:
    """The subject's case with this number; without a number, the subject's latest case."""
    query = select(Case).where(Case.subject_id == subject.id)
    if case_number is not None:
        query = query.where(Case.case_number == case_number)
    case = session.exec(query.order_by(col(Case.id).desc())).first()
    if case is None:
        case = Case(subject_id=subject.id, case_number=case_number)  # type: ignore[arg-type]
        session.add(case)
        session.flush()
    return case


def record_event(
    *, session: Session, payload: dict[str, Any], payload_sha256: str, receipt_id: str
) -> CaseEvent:
    """Store a validated event, retract what it corrects, and refold the subject and case."""
    subject_in: dict[str, Any] = payload["subject"]
    subject = get_or_create_subject(
        session=session, source=payload["source"], upstream_id=subject_in["subject_id"]
    )
    case_in: dict[str, Any] = payload.get("case", {})
    case = get_or_create_case(
        session=session, subject=subject, case_number=case_in.get("case_number")
    )
    event = CaseEvent(
        source=payload["source"],
        source_event_id=payload["source_event_id"],
        event_type=payload["event_type"],
        occurred_at=parse_datetime(payload["occurred_at"]),
        subject_id=subject.id,  # type: ignore[arg-type]
        case_id=case.id,  # type: ignore[arg-type]
        corrects=payload.get("corrects"),
        payload=payload,
        markings=dict(payload.get("markings", {})),
        payload_sha256=payload_sha256,
        receipt_id=receipt_id,
    )
    session.add(event)
    session.flush()
    if event.corrects is not None:
        retract(session=session, correction=event)
    _retract_if_already_corrected(session, event)
    # The usual event is the newest one: apply it on top of the current state. Anything
    # else (a late arrival, a correction, an event already retracted) refolds the history.
    plain = event.corrects is None and event.retracted_by_id is None
    if plain and is_newest(subject.last_event_at, event):
        apply_to_subject(subject, event)
        _save(session, subject)
    else:
        refold_subject(session=session, subject=subject)
    if plain and is_newest(case.last_event_at, event):
        apply_to_case(case, event)
        _save(session, case)
    else:
        refold_case(session=session, case=case)
    return event


def _retract_if_already_corrected(session: Session, event: CaseEvent) -> None:
    """A correction may arrive before the event it retracts; the event then lands retracted."""
    correction = session.exec(
        select(CaseEvent)
        .where(
            CaseEvent.source == event.source,
            CaseEvent.corrects == event.source_event_id,
            CaseEvent.id != event.id,
        )
        .order_by(col(CaseEvent.id))
    ).first()
    if correction is not None:
        event.retracted_by_id = correction.id
        session.add(event)
        session.flush()


def is_newest(last_event_at: datetime | None, event: CaseEvent) -> bool:
    """Whether ``event`` lands on top of a state last moved at ``last_event_at``: then laying
    it over the state gives what a refold would."""
    return last_event_at is None or event.occurred_at >= last_event_at


def _save(session: Session, row: Case | Subject) -> None:
    row.updated_at = utcnow()
    session.add(row)
    session.flush()


def retract(*, session: Session, correction: CaseEvent) -> CaseEvent | None:
    target = session.exec(
        select(CaseEvent).where(
            CaseEvent.source == correction.source,
            CaseEvent.source_event_id == correction.corrects,
        )
    ).first()
    if target is None or target.retracted_by_id is not None or target.id == correction.id:
        return None
    target.retracted_by_id = correction.id
    session.add(target)
    session.flush()
    if target.case_id != correction.case_id:
        refold_case(session=session, case=session.get_one(Case, target.case_id))
    return target


def _live_events(session: Session, *filters: Any) -> list[CaseEvent]:
    return list(
        session.exec(
            select(CaseEvent)
            .where(*filters, col(CaseEvent.retracted_by_id).is_(None))
            .order_by(col(CaseEvent.occurred_at), col(CaseEvent.id))
        )
    )


def apply_to_case(case: CaseState, event: CaseEvent) -> None:
    """Lay one live event over the case's state."""
    case_in: dict[str, Any] = event.payload.get("case", {})
    markings = dict(case.markings)
    for name, value in IMPLIED_STATE.get(event.event_type, {}).items():
        if name not in case_in:
            setattr(case, name, value)
            markings[name] = list(markings_for("/event_type", event.markings))
    for name, value in case_in.items():
        if name not in _CASE_STATE_FIELDS:
            continue  # related_persons and the like stay on the event only
        setattr(case, name, parse_datetime(value) if name in _DATETIME_FIELDS else value)
        markings[name] = list(markings_for(f"/case/{name}", event.markings))
    case.markings = markings
    case.last_event_at = event.occurred_at


def fold_case(case: CaseState, events: Iterable[CaseEvent]) -> None:
    """Rebuild the case from ``events``: its live events, ordered by (occurred_at, id)."""
    for name in _CASE_STATE_FIELDS:
        setattr(case, name, None)
    case.markings = {}
    case.last_event_at = None
    for event in events:
        apply_to_case(case, event)


def refold_case(*, session: Session, case: Case) -> None:
    fold_case(case, _live_events(session, CaseEvent.case_id == case.id))
    _save(session, case)


def apply_to_subject(subject: SubjectState, event: CaseEvent) -> None:
    """Lay one event over the subject's state; a retracted one only adds its flags."""
    subject_in: dict[str, Any] = event.payload["subject"]
    flags: dict[str, bool] = subject_in.get("flags", {})
    # Protection flags are sticky, even through retractions: a later event that omits or
    # clears one must not expose a person any event said was a minor or protected by
    # 8 U.S.C. 1367. Withholding wrongly is a failure; disclosing wrongly is harm.
    subject.is_minor = subject.is_minor or bool(flags.get("minor"))
    subject.protected_1367 = subject.protected_1367 or bool(flags.get("protected_1367"))
    if event.retracted_by_id is not None:
        return
    markings = dict(subject.markings)
    for name in SUBJECT_FIELDS:
        if name in subject_in:
            value = subject_in[name]
            setattr(subject, name, date.fromisoformat(value) if name == "date_of_birth" else value)
            markings[name] = list(markings_for(f"/subject/{name}", event.markings))
    subject.markings = markings
    subject.last_event_at = event.occurred_at


def fold_subject(subject: SubjectState, events: Iterable[CaseEvent]) -> None:
    """Rebuild the subject from ``events``: all of its events, retracted ones too, ordered by
    (occurred_at, id)."""
    for name in SUBJECT_FIELDS:
        setattr(subject, name, [] if name == "aliases" else None)
    subject.markings = {}
    subject.last_event_at = None
    subject.is_minor = subject.protected_1367 = False
    for event in events:
        apply_to_subject(subject, event)


def subject_history(*, session: Session, subject_id: int) -> list[CaseEvent]:
    """Every event of a subject, retracted ones too, in fold order."""
    return list(
        session.exec(
            select(CaseEvent)
            .where(CaseEvent.subject_id == subject_id)
            .order_by(col(CaseEvent.occurred_at), col(CaseEvent.id))
        )
    )


def refold_subject(*, session: Session, subject: Subject) -> None:
    assert subject.id is not None
    fold_subject(subject, subject_history(session=session, subject_id=subject.id))
    _save(session, subject)


def list_cases(*, session: Session, offset: int = 0, limit: int = 50) -> list[tuple[Case, Subject]]:
    rows = session.exec(
        select(Case, Subject)
        .join(Subject, col(Subject.id) == col(Case.subject_id))
        .order_by(col(Case.last_event_at).desc(), col(Case.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all())


def case_timeline(*, session: Session, case_id: int) -> list[CaseEvent]:
    return list(
        session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(col(CaseEvent.occurred_at), col(CaseEvent.id))
        )
    )
