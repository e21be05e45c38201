"""The mass-event guard: a burst of critical notices is paused for a supervisor, not sent.

Victim-notification services have sent thousands of false "released" alerts after a feed
error. So when critical events arrive faster than a configured rate, or touch more than a
configured share of the cases anyone is registered on, their notices wait in a pause. A
supervisor looks at the pause and releases it or cancels it, as one action. While a pause is
open, every new critical notice joins it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from voice.cases.models import CaseEvent
from voice.config import Settings
from voice.database import SessionStatement, UTCDateTime, utcnow
from voice.liaison import service as liaison_service
from voice.liaison.models import CloseReason, TaskKind
from voice.notify.models import (
    CRITICAL_EVENT_TYPES,
    MassEventPause,
    Notification,
    NotificationStatus,
    PauseStatus,
)
from voice.victims.models import VerificationStatus, VictimCaseLink

log = logging.getLogger(__name__)

_suspended: ContextVar[bool] = ContextVar("voice_guard_suspended", default=False)


@contextmanager
def suspended() -> Iterator[None]:
    """Load known-good data (the invented demo, a benchmark's seed) without the guard."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


class PauseNotOpen(ValueError):
    pass


# The guard's reads, built once: ingest makes them for every critical event.
_CRITICAL_EVENTS_SINCE = (
    select(func.count(func.distinct(Notification.event_id)))
    .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
    .where(
        col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES),
        col(Notification.created_at) >= sa.bindparam("since", type_=UTCDateTime),
        col(Notification.guarded).is_(True),
    )
)
_ACTIVE_CASES = select(func.count(func.distinct(VictimCaseLink.case_id))).where(
    VictimCaseLink.verification_status == VerificationStatus.VERIFIED
)
_OPEN_PAUSE = (
    select(MassEventPause)
    .where(MassEventPause.status == PauseStatus.OPEN)
    .order_by(col(MassEventPause.id))
)
# The same, for its id alone: while a pause is open every critical event asks, and loading the
# pause as an object cost several times the lookup.
_PAUSE: sa.Table = MassEventPause.__table__  # type: ignore[attr-defined]
_OPEN_PAUSE_ID = SessionStatement(
    sa.select(_PAUSE.c.id).where(_PAUSE.c.status == PauseStatus.OPEN).order_by(_PAUSE.c.id)
)


def _critical_events_since(session: Session, since: datetime) -> int:
    """Critical events that caused notices in the window: a burst that tells nobody is no
    danger, and notices written under ``suspended()`` do not count."""
    return session.exec(_CRITICAL_EVENTS_SINCE, params={"since": since}).one()


def is_suspended() -> bool:
    return _suspended.get()


def _active_cases(session: Session) -> int:
    return session.exec(_ACTIVE_CASES).one()


def open_pause(session: Session) -> MassEventPause | None:
    return session.exec(_OPEN_PAUSE).first()


def pause_for(
    *, session: Session, settings: Settings, event: CaseEvent, unsaved: int = 0
) -> int | None:
    """The pause a critical event's notices must join, opening one if the guard trips.

    ``unsaved`` counts the critical events whose guarded notices the caller holds, not yet
    inserted (bulk ingest writes a batch's notices at once); should the guard trip, the caller
    puts those notices in the pause as the update below does for the stored ones.
    """
    if event.event_type not in CRITICAL_EVENT_TYPES or _suspended.get():
        return None
    found = _OPEN_PAUSE_ID.execute(session, {}).rows
    if found:
        existing: int = found[0][0]
        return existing
    now = utcnow()
    since = now - timedelta(seconds=settings.guard_window_seconds)
    recent = _critical_events_since(session, since) + unsaved + 1  # and this one
    over_rate = recent > settings.guard_max_critical_events
    over_share = (
        recent >= settings.guard_min_events
        and recent > settings.guard_max_case_share * _active_cases(session)
    )
    if not (over_rate or over_share):
        return None
    why = "rate" if over_rate else "share of active cases"
    pause = MassEventPause(
        reason=f"{recent} critical events in {settings.guard_window_seconds:.0f} s ({why})"
    )
    session.add(pause)
    session.flush()
    assert pause.id is not None
    # Critical notices of the burst that are still queued join the pause too.
    session.execute(
        sa.update(Notification)
        .where(
            col(Notification.status) == NotificationStatus.CREATED,
            col(Notification.created_at) >= since,
            col(Notification.guarded).is_(True),
            col(Notification.event_id).in_(
                select(CaseEvent.id).where(col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES))
            ),
        )
        .values(status=NotificationStatus.PAUSED, pause_id=pause.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    liaison_service.open_task(
        session=session,
        kind=TaskKind.MASS_EVENT_PAUSE,
        dedupe_key=f"mass_event_pause:p{pause.id}",
        reason=f"critical notices paused for review: {pause.reason}"[:200],
        pause_id=pause.id,
    )
    log.error("mass-event guard tripped: pause %s (%s)", pause.id, pause.reason)
    return pause.id


@dataclass(frozen=True)
class PauseSummary:
    id: int
    status: str
    reason: str
    opened_at: datetime
    notifications: int
    events: int
    cases: int
    by_event_type: dict[str, int]


def summarise(*, session: Session, pause: MassEventPause) -> PauseSummary:
    rows = session.exec(
        select(CaseEvent.event_type, CaseEvent.id, CaseEvent.case_id)
        .join(Notification, col(Notification.event_id) == col(CaseEvent.id))
        .where(Notification.pause_id == pause.id, Notification.status == NotificationStatus.PAUSED)
    ).all()
    by_type: dict[str, int] = {}
    for event_type, _, _ in rows:
        by_type[event_type] = by_type.get(event_type, 0) + 1
    assert pause.id is not None
    return PauseSummary(
        id=pause.id,
        status=pause.status,
        reason=pause.reason,
        opened_at=pause.opened_at,
        notifications=len(rows),
        events=len({event_id for _, event_id, _ in rows}),
        cases=len({case_id for _, _, case_id in rows}),
        by_event_type=by_type,
    )


def list_pauses(*, session: Session, include_closed: bool = False) -> list[PauseSummary]:
    query = select(MassEventPause).order_by(col(MassEventPause.id))
    if not include_closed:
        query = query.where(MassEventPause.status == PauseStatus.OPEN)
    return [summarise(session=session, pause=h) for h in session.exec(query).all()]


def _decide(session: Session, pause_id: int, by: str, status: PauseStatus) -> MassEventPause:
    pause = session.exec(
        select(MassEventPause).where(MassEventPause.id == pause_id).with_for_update()
    ).first()
    if pause is None or pause.status != PauseStatus.OPEN:
        raise PauseNotOpen(f"pause {pause_id} is not open")
    pause.status = status
    pause.decided_by = by[:100]
    pause.decided_at = utcnow()
    session.add(pause)
    return pause


def release(*, session: Session, pause_id: int, by: str) -> int:
    """Send every notice in the pause now; return how many."""
    _decide(session, pause_id, by, PauseStatus.RELEASED)
    moved = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.pause_id) == pause_id,
            col(Notification.status) == NotificationStatus.PAUSED,
        )
        .values(status=NotificationStatus.CREATED, next_attempt_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _resolve_task(session, pause_id, CloseReason.PAUSE_RELEASED)
    log.warning("pause %s released by a supervisor (%s notices)", pause_id, moved.rowcount)  # type: ignore[attr-defined]
    return int(moved.rowcount)  # type: ignore[attr-defined]


def cancel(*, session: Session, pause_id: int, by: str) -> int:
    """Cancel every notice in the pause (a feed error); return how many."""
    _decide(session, pause_id, by, PauseStatus.CANCELLED)
    moved = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.pause_id) == pause_id,
            col(Notification.status) == NotificationStatus.PAUSED,
        )
        .values(
            status=NotificationStatus.CANCELLED,
            last_error=f"cancelled with mass-event pause {pause_id}",
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    _resolve_task(session, pause_id, CloseReason.PAUSE_CANCELLED)
    log.warning("pause %s cancelled by a supervisor (%s notices)", pause_id, moved.rowcount)  # type: ignore[attr-defined]
    return int(moved.rowcount)  # type: ignore[attr-defined]


def _resolve_task(session: Session, pause_id: int, reason: CloseReason) -> None:
    """The supervisor has decided: the task asking for that decision is done."""
    liaison_service.resolve_matching(
        session=session, kinds=[TaskKind.MASS_EVENT_PAUSE], reason=reason, pause_id=pause_id
    )
