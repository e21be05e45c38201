"""Storing new events, many at a time, with exactly the outcome of storing them one by one.

For a run of plain events (neither a correction nor already corrected) the subjects and cases
are read or created together, the events go in as one multi-row insert, and the fold moves in
memory, event after event. Each event's notices are released and queued right after its own
fold step, so each notice sees the subject and case as that event left them, as it would have
event by event. A subject whose run holds a late arrival reads its history once, for the whole
run. The touched subjects and cases are written once, at the end.

A correction, or an event that a stored correction already retracts, moves other events' state
and other people's notices: it goes the one-at-a-time way (``record_event``), between runs.

The caller holds the savepoint: any database error leaves nothing of the call behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.cases import service as case_service
from voice.cases.fields import CaseState, SubjectState
from voice.cases.models import Case, CaseEvent, Subject
from voice.database import SessionStatement, built, insert_numbered, loaded, utcnow
from voice.disclosure.policy import Policy
from voice.ingest import freshness
from voice.notify import service as notify_service
from voice.webhooks import outgoing as webhook_outgoing

CORRECTION = "correction"

# Wraps each stored event's own work (its fold step and what it queues): a tracing span.
EventScope = Callable[[CaseEvent], AbstractContextManager[object]]


# The lookups every call makes, built once: building a statement costs more than running it.
# Each is per source, with the ids as one expanding parameter.
_CORRECTIONS_OF = sa.select(col(CaseEvent.corrects)).where(
    col(CaseEvent.source) == sa.bindparam("source"),
    col(CaseEvent.corrects).in_(sa.bindparam("ids", expanding=True)),
)
# Each subject with each of its cases (or none): one query for both; and, on every row,
# whether any partner endpoint is listening, which spares a statement of its own.
_SUBJECTS_OF = (
    select(Subject, Case, webhook_outgoing.ANY_ACTIVE_ENDPOINT)
    .outerjoin(Case, col(Case.subject_id) == col(Subject.id))
    .where(
        col(Subject.source) == sa.bindparam("source"),
        col(Subject.upstream_id).in_(sa.bindparam("ids", expanding=True)),
    )
)


@dataclass(frozen=True)
class NewEvent:
    """A valid event, not stored before: the payload and its digest."""

    payload: dict[str, Any]
    digest: str
    receipt_id: str

    @property
    def key(self) -> tuple[str, str]:
        return self.payload["source"], self.payload["source_event_id"]


@dataclass(frozen=True)
class Stored:
    event: CaseEvent
    notifications: int


class _Run:
    """What one call keeps across its runs: the fanout, and whether partners are listening."""

    def __init__(self, session: Session, policy: Policy, scope: EventScope) -> None:
        self.session = session
        self.policy = policy
        self.scope = scope
        self.fanout = notify_service.Fanout(session=session, policy=policy)
        # Read with the run's subjects when any is stored already; else asked on its own.
        self.partners: bool | None = None

    def queue(self, event: CaseEvent, folded: tuple[_Folded, _Folded] | None = None) -> int:
        queued = self.fanout.add(event, folded)
        if self.partners is None:
            self.partners = webhook_outgoing.any_active_endpoint(session=self.session)
        if self.partners:
            webhook_outgoing.enqueue_for_event(
                session=self.session, event=event, policy=self.policy, folded=folded
            )
        return queued


class _Folded:
    """A subject's or a case's columns as plain attributes, which a run's fold moves instead
    of the row: setting a table model's attribute costs several times more (SQLModel sets it
    for SQLAlchemy and for pydantic both), and the row is written once, at the run's end.

    It is what the fold (``SubjectState``, ``CaseState``) and the releases of the run's events
    read; its other columns are read and set by name."""

    id: int | None
    subject_id: int
    is_minor: bool
    protected_1367: bool
    custody_status: str | None
    markings: dict[str, list[str]]
    last_event_at: datetime | None
    updated_at: datetime

    def __init__(self, row: Subject | Case) -> None:
        self.__dict__.update((key, getattr(row, key)) for key in _COLUMNS[type(row)])


def store(
    *,
    session: Session,
    events: Sequence[NewEvent],
    policy: Policy,
    scope: EventScope,
    corrected: set[tuple[str, str]] | None = None,
) -> list[Stored]:
    """Store ``events`` in order, as if one at a time; return each with its notice count.

    ``corrected`` holds the keys of ``events`` that a stored correction retracts, when the
    caller read them in this transaction (the one-at-a-time path reads them with its dedupe
    lookup); without it, they are read here.
    """
    if not events:
        return []
    run = _Run(session, policy, scope)
    corrected = _corrected(session, events, stored=corrected)
    stored: list[Stored] = []
    plain: list[NewEvent] = []
    for new in events:
        if _is_plain(new, corrected):
            plain.append(new)
            continue
        stored += _store_plain(run, plain)
        plain = []
        stored.append(_store_one(run, new))
    stored += _store_plain(run, plain)
    run.fanout.flush()
    for source, count in Counter(new.key[0] for new in events).items():
        freshness.seen(session=session, source=source, events=count)
    return stored


def _is_plain(new: NewEvent, corrected: set[tuple[str, str]]) -> bool:
    payload = new.payload
    return (
        payload["event_type"] != CORRECTION
        and payload.get("corrects") is None
        and new.key not in corrected
    )


def _corrected(
    session: Session, events: Sequence[NewEvent], stored: set[tuple[str, str]] | None
) -> set[tuple[str, str]]:
    """(source, source_event_id) of the events that a correction names: a stored one (read
    here unless ``stored`` holds them), or one in this call."""
    found = {
        (new.key[0], new.payload["corrects"])
        for new in events
        if new.payload.get("corrects") is not None
    }
    if stored is not None:
        return found | stored
    by_source: dict[str, set[str]] = {}
    for source, source_event_id in (new.key for new in events):
        by_source.setdefault(source, set()).add(source_event_id)
    for source, ids in by_source.items():
        rows = session.execute(_CORRECTIONS_OF, {"source": source, "ids": sorted(ids)})
        found |= {(source, corrects) for (corrects,) in rows if corrects is not None}
    return found


def _store_one(run: _Run, new: NewEvent) -> Stored:
    """A correction or an already-corrected event: the one-at-a-time way, on flushed state."""
    run.fanout.flush()
    run.session.flush()
    event = case_service.record_event(
        session=run.session,
        payload=new.payload,
        payload_sha256=new.digest,
        receipt_id=new.receipt_id,
    )
    with run.scope(event):
        return Stored(event, run.queue(event))


def _store_plain(run: _Run, plain: list[NewEvent]) -> list[Stored]:
    if not plain:
        return []
    session = run.session
    subjects, existing = _subjects(run, plain)
    cases = _cases(session, plain, subjects, existing)
    rows = _insert(session, plain, subjects, cases)
    run.fanout.expect(case.id for case in cases if case.id is not None)
    histories: dict[int, list[CaseEvent]] = {}
    stored = []
    folded: dict[int, tuple[Subject | Case, _Folded]] = {}

    def state(row: Subject | Case) -> _Folded:
        found = folded.get(id(row))
        if found is None:
            found = folded[id(row)] = (row, _Folded(row))
        return found[1]

    with session.no_autoflush:
        for new, row, case in zip(plain, rows, cases, strict=True):
            pair = state(subjects[_subject_key(new)]), state(case)
            with run.scope(row):
                _fold(session, *pair, row, histories)
                stored.append(Stored(row, run.queue(row, pair)))
        now = utcnow()
        for _, changed in folded.values():
            changed.updated_at = now
        _write(session, list(folded.values()))
    return stored


# Built once, one per table; the SET clause comes from each call's parameters (the columns the
# fold changed), so a fold that moves two fields writes two fields.
_SUBJECT: sa.Table = Subject.__table__  # type: ignore[attr-defined]
_CASE: sa.Table = Case.__table__  # type: ignore[attr-defined]
_UPDATES = {
    Subject: SessionStatement(_SUBJECT.update().where(_SUBJECT.c.id == sa.bindparam("b_id"))),
    Case: SessionStatement(_CASE.update().where(_CASE.c.id == sa.bindparam("b_id"))),
}
_COLUMNS = {
    Subject: tuple(column.key for column in _SUBJECT.columns),
    Case: tuple(column.key for column in _CASE.columns),
}


def _write(session: Session, rows: list[tuple[Subject | Case, _Folded]]) -> None:
    """Write what the fold changed of ``rows`` (each row with its folded columns) with Core
    UPDATEs of the changed columns; the ORM's flush of the same costs several times the
    statements.

    As the flush does: subjects before cases, each in id order (so concurrent writers take their
    row locks in one order), and rows changed in the same columns one after another go in one
    executemany. The rows are then expired, so the session's own flush finds nothing to write
    for them, and whoever reads them next (a later run, a retry after a rolled-back savepoint)
    reads what the database holds.
    """
    changes = []
    for row, state in sorted(rows, key=lambda pair: (isinstance(pair[0], Case), pair[0].id or 0)):
        values = state.__dict__
        keys = tuple(key for key in _COLUMNS[type(row)] if values[key] != getattr(row, key))
        if keys:
            changes.append((type(row), keys, {"b_id": row.id, **{k: values[k] for k in keys}}))
    # Straight on the driver: SQLAlchemy's execution cost more than these short statements.
    for (model, _), group in groupby(changes, key=lambda change: (change[0], change[1])):
        batch = [params for _, _, params in group]
        if len(batch) == 1:
            _UPDATES[model].execute(session, batch[0])
        else:
            _UPDATES[model].executemany(session, batch)
    for row, _ in rows:
        session.expire(row)


def _fold(
    session: Session,
    subject: SubjectState,
    case: CaseState,
    event: CaseEvent,
    histories: dict[int, list[CaseEvent]],
) -> None:
    """``record_event``'s fold step for a plain event: on top when it is the newest, else a
    refold over the history up to this event (read once per subject and run)."""
    assert event.id is not None
    assert subject.id is not None
    if case_service.is_newest(subject.last_event_at, event) and case_service.is_newest(
        case.last_event_at, event
    ):
        case_service.apply_to_subject(subject, event)
        case_service.apply_to_case(case, event)
        return
    if subject.id not in histories:
        histories[subject.id] = case_service.subject_history(session=session, subject_id=subject.id)
    history = [e for e in histories[subject.id] if e.id is not None and e.id <= event.id]
    if case_service.is_newest(subject.last_event_at, event):
        case_service.apply_to_subject(subject, event)
    else:
        case_service.fold_subject(subject, history)
    if case_service.is_newest(case.last_event_at, event):
        case_service.apply_to_case(case, event)
    else:
        case_service.fold_case(
            case, (e for e in history if e.case_id == case.id and e.retracted_by_id is None)
        )


def _subject_key(new: NewEvent) -> tuple[str, str]:
    return new.payload["source"], new.payload["subject"]["subject_id"]


# ``_SUBJECTS_OF`` in Core, straight on the driver; its rows become the session's objects as the
# ORM's query would make them (``loaded``), for a fraction of the query's cost.
_SUBJECT_KEYS = tuple(column.key for column in _SUBJECT.columns)
_CASE_KEYS = tuple(column.key for column in _CASE.columns)
_SUBJECTS_READ = SessionStatement(
    sa.select(*_SUBJECT.columns, *_CASE.columns, webhook_outgoing.ANY_ACTIVE_ENDPOINT)
    .select_from(_SUBJECT.outerjoin(_CASE, _CASE.c.subject_id == _SUBJECT.c.id))
    .where(
        _SUBJECT.c.source == sa.bindparam("source"),
        _SUBJECT.c.upstream_id.in_(sa.bindparam("ids", expanding=True)),
    )
)


def _subjects_of(
    session: Session, source: str, ids: list[str]
) -> Sequence[tuple[Subject, Case | None, bool]]:
    """``_SUBJECTS_OF``'s rows. Read raw, unless the session holds one of the rows already (a
    later run of a batch): only the ORM's query reconciles its object with what was read."""
    params = {"source": source, "ids": ids}
    if session.autoflush:
        session.flush()  # as the query would, so that it reads what the session holds
    found: list[tuple[Subject, Case | None, bool]] = []
    subjects: dict[int, Subject] = {}
    width = len(_SUBJECT_KEYS)
    for row in _SUBJECTS_READ.execute(session, params).rows:
        subject_values = dict(zip(_SUBJECT_KEYS, row[:width], strict=True))
        subject = subjects.get(subject_values["id"])
        if subject is None:
            subject = loaded(session, Subject, subject_values)
        case_values = dict(zip(_CASE_KEYS, row[width:-1], strict=True))
        case = None
        if case_values["id"] is not None:
            case = loaded(session, Case, case_values)
        if subject is None or (case is None and case_values["id"] is not None):
            return session.exec(_SUBJECTS_OF, params=params).all()
        subjects[subject_values["id"]] = subject
        found.append((subject, case, bool(row[-1])))
    return found


def _subjects(
    run: _Run, plain: list[NewEvent]
) -> tuple[dict[tuple[str, str], Subject], list[Case]]:
    """Every subject the run names, created in order of first mention where missing; and the
    cases those subjects already have, in id order (read in the same query, which also tells
    ``run`` whether partners are listening)."""
    session = run.session
    keys = list(dict.fromkeys(_subject_key(new) for new in plain))
    by_source: dict[str, list[str]] = {}
    for source, upstream_id in keys:
        by_source.setdefault(source, []).append(upstream_id)
    found: dict[tuple[str, str], Subject] = {}
    cases: list[Case] = []
    for source, ids in by_source.items():
        for subject, case, partners in _subjects_of(session, source, ids):
            run.partners = bool(partners)
            found[(subject.source, subject.upstream_id)] = subject
            if case is not None:
                cases.append(case)
    missing = [
        Subject(source=source, upstream_id=upstream)
        for source, upstream in keys
        if (source, upstream) not in found
    ]
    if missing:
        session.add_all(missing)
        session.flush()
        found.update({(s.source, s.upstream_id): s for s in missing})
    # A new subject has no case yet.
    return found, sorted(cases, key=lambda case: case.id or 0)


def _cases(
    session: Session,
    plain: list[NewEvent],
    subjects: dict[tuple[str, str], Subject],
    existing: list[Case],
) -> list[Case]:
    """Each event's case, as ``get_or_create_case`` finds it at that event's turn: by number,
    or the subject's latest case; created in order where missing. ``existing`` holds the
    subjects' stored cases in id order."""
    numbered: dict[tuple[int, str], Case] = {}
    latest: dict[int, Case] = {}
    for found in existing:
        if found.case_number is not None:
            numbered.setdefault((found.subject_id, found.case_number), found)
        latest[found.subject_id] = found
    created: list[Case] = []
    chosen: list[Case] = []
    for new in plain:
        subject_id = subjects[_subject_key(new)].id
        assert subject_id is not None
        number = new.payload.get("case", {}).get("case_number")
        case: Case | None = (
            numbered.get((subject_id, number)) if number is not None else latest.get(subject_id)
        )
        if case is None:
            case = Case(subject_id=subject_id, case_number=number)
            created.append(case)
            latest[subject_id] = case
            if number is not None:
                numbered[(subject_id, number)] = case
        chosen.append(case)
    if created:
        session.add_all(created)
        session.flush()
    return chosen


_EVENTS: sa.Table = CaseEvent.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = SessionStatement(_EVENTS.insert().returning(_EVENTS.c.id))


def _insert(
    session: Session,
    plain: list[NewEvent],
    subjects: dict[tuple[str, str], Subject],
    cases: list[Case],
) -> list[CaseEvent]:
    """The run's events in one insert; each comes back as a CaseEvent with its id."""
    now = utcnow()
    values = [
        {
            "source": new.payload["source"],
            "source_event_id": new.payload["source_event_id"],
            "event_type": new.payload["event_type"],
            "occurred_at": case_service.parse_datetime(new.payload["occurred_at"]),
            "received_at": now,
            "subject_id": subjects[_subject_key(new)].id,
            "case_id": case.id,
            "corrects": None,
            "retracted_by_id": None,
            "payload": new.payload,
            "markings": dict(new.payload.get("markings", {})),
            "payload_sha256": new.digest,
            "receipt_id": new.receipt_id,
        }
        for new, case in zip(plain, cases, strict=True)
    ]
    # In Core: the ORM's bulk path costs more than the statement itself. One event (the
    # one-at-a-time path) goes as a plain execution: the many-rows machinery that numbers a
    # batch in order costs more than the insert.
    if len(values) == 1:
        ((id_,),) = _INSERT_EVENT.execute(session, values[0]).rows
        ids = [id_]
    else:
        ids = insert_numbered(session, _EVENTS, values, key=("source", "source_event_id"))
    # Built without validation (``built``): the values are the validated event's and the
    # row's just stored. They are read-only copies for the fold and the releases; the session
    # does not track them.
    return [built(CaseEvent, {"id": id_, **row}) for id_, row in zip(ids, values, strict=True)]


def no_scope(event: CaseEvent) -> AbstractContextManager[object]:
    """For a caller whose own span already covers the event."""
    return nullcontext()
