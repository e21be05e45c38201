"""A victim's own view of the cases they are linked to.

A disclosed case is computed once for what it was computed from, not on every read. The views
are kept by the exact values the filter reads (the link's relationship and audience, the
case's and subject's columns, the hold state, read in the same statement on every lookup)
and by the policy: any change to a case, a subject, a hold, a link or the policy gives a
different key, and so a new release through the one door. Nothing is ever invalidated, so
nothing can be missed; the oldest views are dropped when there are too many. Every read is
still accounted for, case by case, before its answer leaves.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from voice.audit import chain as accounting
from voice.audit import service as disclosure_service
from voice.audit.group_commit import AccountingWriter
from voice.auth import credentials, victim_sessions
from voice.cases.models import Case, CaseEvent, Subject
from voice.database import DriverRead, TextList, UTCDateTime, read_rows, utcnow
from voice.disclosure.policy import Policy
from voice.disclosure.release import (
    CASE_COLUMNS,
    SUBJECT_COLUMNS,
    Audience,
    DisclosedView,
    release_row,
)
from voice.holds import service as holds
from voice.notify.callbacks import acknowledgements as ack
from voice.notify.models import AckChannel
from voice.selfservice import lookup_accounting, lookup_reads
from voice.selfservice.lookup_json import case_json
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink


@dataclass(frozen=True)
class LinkedCaseView:
    case_id: int
    relationship: str
    verified: bool
    disclosed: dict[str, dict[str, Any]]
    message: str | None = None
    # The case as the API answers it (lookup_json.case_json), encoded once with the view.
    json: bytes = field(default=b"", repr=False, compare=False)


_SUBJECT = Subject.__table__.c  # type: ignore[attr-defined]
_CASE = Case.__table__.c  # type: ignore[attr-defined]
_LINK = VictimCaseLink.__table__.c  # type: ignore[attr-defined]


def _raw(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    # A JSON column is read as its text: hashable as it comes, for the views' key, and parsed
    # only when a view is computed.
    return (
        sa.cast(column, sa.Text).label(column.name) if isinstance(column.type, sa.JSON) else column
    )


_SUBJECT_JSON = frozenset(n for n in SUBJECT_COLUMNS if isinstance(_SUBJECT[n].type, sa.JSON))
_CASE_JSON = frozenset(n for n in CASE_COLUMNS if isinstance(_CASE[n].type, sa.JSON))
_NOW = sa.bindparam("now", type_=UTCDateTime)
# What a view depends on, all of it, in one row per link: links, cases, subjects and hold state.
_COLUMNS = (
    _LINK.relationship,
    _LINK.verification_status,
    _CASE.id,
    holds.held(_CASE.id, _NOW).label("held"),
    *(_raw(_SUBJECT[name]) for name in SUBJECT_COLUMNS),
    *(_raw(_CASE[name]) for name in CASE_COLUMNS),
)
_LINKS = VictimCaseLink.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]
_SUBJECTS = Subject.__table__  # type: ignore[attr-defined]
_SHOWN = _LINK.verification_status != VerificationStatus.REJECTED
# Built once: this read serves every self-service lookup, and composing a statement costs more
# than SQLite takes to run it.
_LINKED = (
    sa.select(*_COLUMNS)
    .select_from(_LINKS)
    .join(_CASES, _CASE.id == _LINK.case_id)
    .join(_SUBJECTS, _SUBJECT.id == _CASE.subject_id)
    .where(_LINK.victim_id == sa.bindparam("victim_id"), _SHOWN)
    .order_by(_LINK.id)
)
# The API's lookup checks the caller's session in the same statement, read together with the
# other lookups of the moment (lookup_reads): each row names its session and the session's
# victim; a live session with no links has one row with no case.
_SESSIONS, _SIGNED_IN, _SESSION_TOKEN, _SESSION_VICTIM = victim_sessions.signed_in_any(
    sa.bindparam("token_hashes", type_=TextList), _NOW
)
_SIGNED_IN_LINKED = (
    sa.select(_SESSION_TOKEN, _SESSION_VICTIM, *_COLUMNS)
    .select_from(
        _SESSIONS.outerjoin(_LINKS, sa.and_(_LINK.victim_id == _SESSION_VICTIM, _SHOWN))
        .outerjoin(_CASES, _CASE.id == _LINK.case_id)
        .outerjoin(_SUBJECTS, _SUBJECT.id == _CASE.subject_id)
    )
    .where(_SIGNED_IN)
    .order_by(_LINK.id)
)
# Run straight on the driver by the API's lookup (database.DriverRead): through SQLAlchemy's
# execution, this read cost several times what the database took to answer it.
_LINKED_READ = DriverRead(_LINKED)
_SIGNED_IN_LINKED_READ = DriverRead(_SIGNED_IN_LINKED)
_FIRST_SUBJECT = 4
_FIRST_CASE = _FIRST_SUBJECT + len(SUBJECT_COLUMNS)
# The filter's own mark on a view it could not compute (voice.disclosure.filter.FAIL_CLOSED):
# such a view is answered but never kept, so a passing fault does not outlive its read.
_FAIL_CLOSED = "error.fail_closed"


_Typed = Callable[[tuple[Any, ...]], Sequence[Any]]


class _Disclosed(NamedTuple):
    policy: Policy
    view: DisclosedView
    linked: LinkedCaseView


class DisclosedViews:
    """Disclosed cases by everything they were computed from. Any thread may use it."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, tuple[Any, ...]], _Disclosed] = {}
        self.computed = 0  # views released through the door, for tests and the benchmark
        self.reused = 0

    def of(self, row: Sequence[Any], policy: Policy, typed: _Typed | None = None) -> _Disclosed:
        """The view of ``row`` under ``policy``. ``typed`` gives the row's values as the
        filter reads them, for a row read raw from the driver (``DriverRead``): the raw values
        are what a view is kept by, and they are typed only when a view is computed."""
        key = (id(policy), tuple(row))
        kept = self._kept.get(key)
        # The policy itself is kept with the view, so its id cannot name another policy.
        if kept is not None and kept.policy is policy:
            self.reused += 1
            return kept
        disclosed = _disclose_row(typed(tuple(row)) if typed is not None else row, policy)
        self.computed += 1
        if not any(w.rule_id == _FAIL_CLOSED for w in disclosed.view.withheld):
            with self._lock:
                if len(self._kept) >= self._size:
                    del self._kept[next(iter(self._kept))]
                self._kept[key] = disclosed
        return disclosed


VIEWS = DisclosedViews()


def _values(names: Iterable[str], values: Sequence[Any], parsed: frozenset[str]) -> dict[str, Any]:
    return {
        name: json.loads(value) if name in parsed and value is not None else value
        for name, value in zip(names, values, strict=True)
    }


def _disclose_row(row: Sequence[Any], policy: Policy) -> _Disclosed:
    relationship, status, case_id, held = row[:_FIRST_SUBJECT]
    verified = status == VerificationStatus.VERIFIED
    # Until a liaison verifies the relationship, a registrant sees only what is public.
    audience = Audience.VICTIM_VERIFIED if verified else Audience.VICTIM_PENDING
    # The one door, for rows this read fetched itself; the caller accounts before answering.
    view = release_row(
        _values(SUBJECT_COLUMNS, row[_FIRST_SUBJECT:_FIRST_CASE], _SUBJECT_JSON),
        _values(CASE_COLUMNS, row[_FIRST_CASE:], _CASE_JSON),
        held=bool(held),
        audience=audience,
        policy=policy,
    )
    disclosed = view.nested()
    linked = LinkedCaseView(
        case_id=case_id,
        relationship=relationship,
        verified=verified,
        disclosed=disclosed,
        message=view.message,
        json=case_json(
            case_id=case_id,
            relationship=relationship,
            verified=verified,
            disclosed=disclosed,
            message=view.message,
        ),
    )
    return _Disclosed(policy, view, linked)


def _disclose_linked(
    rows: Iterable[Sequence[Any]], policy: Policy, typed: _Typed | None = None
) -> tuple[list[LinkedCaseView], list[disclosure_service.Release]]:
    views: list[LinkedCaseView] = []
    releases: list[disclosure_service.Release] = []
    for row in rows:
        if row[2] is None:  # a live session with no links
            continue
        disclosed = VIEWS.of(row, policy, typed)
        views.append(disclosed.linked)
        releases.append(disclosure_service.Release(view=disclosed.view, case_id=row[2]))
    return views, releases


def _disclosures(
    victim_id: int,
    policy: Policy,
    releases: list[disclosure_service.Release],
    channel: str = "api",
) -> disclosure_service.Disclosures:
    # One accounting entry per case read.
    return disclosure_service.Disclosures(
        releases=releases,
        policy=policy,
        recipient_kind="victim",
        recipient_id=str(victim_id),
        channel=channel,
    )


def linked_cases(
    *, session: Session, victim: Victim, policy: Policy, channel: str = "api"
) -> list[LinkedCaseView]:
    """Every case linked to ``victim``, disclosed, each read accounted for in ``session``
    as a release through ``channel`` (the API, or the victims' web pages)."""
    assert victim.id is not None
    rows = session.connection().execute(_LINKED, {"victim_id": victim.id, "now": utcnow()})
    views, releases = _disclose_linked(rows, policy)
    disclosures = _disclosures(victim.id, policy, releases, channel)
    accounting.append_many(
        session=session,
        rows=disclosure_service.accounting_rows(session=session, disclosures=disclosures),
    )
    return views


class SessionEnded(Exception):
    """The caller's session ended after the access check passed it: answer as to a stranger."""


async def read_linked_cases(
    *,
    engine: Engine,
    writer: AccountingWriter,
    victim_id: int,
    policy: Policy,
    session_token: str | None = None,
) -> list[LinkedCaseView]:
    """``linked_cases`` for a read on its own: one snapshot read (``database.read_rows``: on
    the event loop, on either database), then a group commit (``AccountingWriter``) that holds
    no thread while it waits.

    With ``session_token``, the same statement checks that the session is still live and
    ``victim_id``'s, and ``SessionEnded`` is raised if not; that statement serves the other
    lookups of the moment too (``lookup_reads``). The views are returned only once their
    accounting has committed.
    """
    if session_token is None:
        rows = await read_rows(engine, _LINKED_READ, {"victim_id": victim_id, "now": utcnow()})
    else:
        rows = await lookup_reads.session_rows(
            engine,
            _SIGNED_IN_LINKED_READ,
            token_hash=credentials.hash_token(session_token),
            victim_id=victim_id,
        )
        if not rows:
            raise SessionEnded
    # Past the session's own two columns, the rows are _LINKED's, typed the same.
    views, releases = _disclose_linked(
        rows, policy, functools.partial(_LINKED_READ.typed, engine.dialect)
    )
    await lookup_accounting.record(writer, _disclosures(victim_id, policy, releases))
    return views


@dataclass(frozen=True)
class PendingNotice:
    event_id: int
    case_id: int
    event_type: str
    occurred_at: str


def pending_notices(*, session: Session, victim: Victim) -> list[PendingNotice]:
    """Critical notices sent to ``victim`` that they have not acknowledged yet."""
    links = session.exec(
        select(VictimCaseLink).where(
            VictimCaseLink.victim_id == victim.id,
            VictimCaseLink.verification_status == VerificationStatus.VERIFIED,
        )
    ).all()
    pending = ack.pending_for_links(
        session=session, link_ids=[link.id for link in links if link.id]
    )
    notices = []
    for event_id, _ in pending:
        event = session.get_one(CaseEvent, event_id)
        # Only the event's type and time, both of which the notice itself already told them.
        notices.append(
            PendingNotice(
                event_id=event_id,
                case_id=event.case_id,
                event_type=event.event_type,
                occurred_at=event.occurred_at.isoformat(),
            )
        )
    return notices


def acknowledge_notice(*, session: Session, victim: Victim, event_id: int) -> bool:
    """Acknowledge a critical notice from the self-service view; False if there is none."""
    for event, link_id in ack.pending_for_links(
        session=session,
        link_ids=[
            link.id
            for link in session.exec(
                select(VictimCaseLink).where(VictimCaseLink.victim_id == victim.id)
            ).all()
            if link.id is not None
        ],
    ):
        if event == event_id:
            return ack.acknowledge(
                session=session, event_id=event_id, link_id=link_id, via=AckChannel.SELF_SERVICE
            )
    return False
