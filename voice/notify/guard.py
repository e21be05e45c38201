"""The mass-event guard: a burst of critical notices is held for a supervisor, not sent.

Victim-notification services have sent thousands of false "released" alerts after a feed
error. So when critical events arrive faster than a configured rate, or touch more than a
configured share of the cases anyone is registered on, their notices wait in a hold. A
supervisor looks at the hold and releases it or cancels it, as one action. While a hold is
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
from voice.database import utcnow
from voice.liaison import service as liaison_service
from voice.liaison.models import TaskKind
from voice.notify.models import (
    CRITICAL_EVENT_TYPES,
    HoldStatus,
    Notification,
    NotificationHold,
    NotificationStatus,
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


class HoldNotOpen(ValueError):
    pass


def _critical_events_since(session: Session, since: datetime) -> int:
    """Critical events that caused notices in the window: a burst that tells nobody is no
    danger, and notices written under ``suspended()`` do not count."""
    return session.exec(
        select(func.count(func.distinct(Notification.event_id)))
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES),
            Notification.created_at >= since,
            col(Notification.guarded).is_(True),
        )
    ).one()


def is_suspended() -> bool:
    return _suspended.get()


def _active_cases(session: Session) -> int:
    return session.exec(
        select(func.count(func.distinct(VictimCaseLink.case_id))).where(
            VictimCaseLink.verification_status == VerificationStatus.VERIFIED
        )
    ).one()


def open_hold(session: Session) -> NotificationHold | None:
    return session.exec(
        select(NotificationHold)
        .where(NotificationHold.status == HoldStatus.OPEN)
        .order_by(col(NotificationHold.id))
    ).first()


def hold_for(*, session: Session, settings: Settings, event: CaseEvent) -> int | None:
    """The hold a critical event's notices must join, opening one if the guard trips."""
    if event.event_type not in CRITICAL_EVENT_TYPES or _suspended.get():
        return None
    existing = open_hold(session)
    if existing is not None:
        return existing.id
    now = utcnow()
    since = now - timedelta(seconds=settings.guard_window_seconds)
    recent = _critical_events_since(session, since) + 1  # and this one
    over_rate = recent > settings.guard_max_critical_events
    over_share = (
        recent >= settings.guard_min_events
        and recent > settings.guard_max_case_share * _active_cases(session)
    )
    if not (over_rate or over_share):
        return None
    why = "rate" if over_rate else "share of active cases"
    hold = NotificationHold(
        reason=f"{recent} critical events in {settings.guard_window_seconds:.0f} s ({why})"
    )
    session.add(hold)
    session.flush()
    assert hold.id is not None
    # Critical notices of the burst that are still queued join the hold too.
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
        .values(status=NotificationStatus.HELD, hold_id=hold.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    liaison_service.open_task(
        session=session,
        kind=TaskKind.MASS_EVENT_HOLD,
        dedupe_key=f"mass_event_hold:h{hold.id}",
        reason=f"critical notices held for review: {hold.reason}"[:200],
        hold_id=hold.id,
    )
    log.error("mass-event guard tripped: hold %s (%s)", hold.id, hold.reason)
    return hold.id


@dataclass(frozen=True)
class HoldSummary:
    id: int
    status: str
    reason: str
    opened_at: datetime
    notifications: int
    events: int
    cases: int
    by_event_type: dict[str, int]


def summarise(*, session: Session, hold: NotificationHold) -> HoldSummary:
    rows = session.exec(
        select(CaseEvent.event_type, CaseEvent.id, CaseEvent.case_id)
        .join(Notification, col(Notification.event_id) == col(CaseEvent.id))
        .where(Notification.hold_id == hold.id, Notification.status == NotificationStatus.HELD)
    ).all()
    by_type: dict[str, int] = {}
    for event_type, _, _ in rows:
        by_type[event_type] = by_type.get(event_type, 0) + 1
    assert hold.id is not None
    return HoldSummary(
        id=hold.id,
        status=hold.status,
        reason=hold.reason,
        opened_at=hold.opened_at,
        notifications=len(rows),
        events=len({event_id for _, event_id, _ in rows}),
        cases=len({case_id for _, _, case_id in rows}),
        by_event_type=by_type,
    )


def list_holds(*, session: Session, include_closed: bool = False) -> list[HoldSummary]:
    query = select(NotificationHold).order_by(col(NotificationHold.id))
    if not include_closed:
        query = query.where(NotificationHold.status == HoldStatus.OPEN)
    return [summarise(session=session, hold=h) for h in session.exec(query).all()]


def _decide(session: Session, hold_id: int, by: str, status: HoldStatus) -> NotificationHold:
    hold = session.exec(
        select(NotificationHold).where(NotificationHold.id == hold_id).with_for_update()
    ).first()
    if hold is None or hold.status != HoldStatus.OPEN:
        raise HoldNotOpen(f"hold {hold_id} is not open")
    hold.status = status
    hold.decided_by = by[:100]
    hold.decided_at = utcnow()
    session.add(hold)
    return hold


def release(*, session: Session, hold_id: int, by: str) -> int:
    """Send every notice in the hold now; return how many."""
    _decide(session, hold_id, by, HoldStatus.RELEASED)
    moved = session.execute(
        sa.update(Notification)
        .where(col(Notification.hold_id) == hold_id, col(Notification.status) == "held")
        .values(status=NotificationStatus.CREATED, next_attempt_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    log.warning("hold %s released by a supervisor (%s notices)", hold_id, moved.rowcount)  # type: ignore[attr-defined]
    return int(moved.rowcount)  # type: ignore[attr-defined]


def cancel(*, session: Session, hold_id: int, by: str) -> int:
    """Cancel every notice in the hold (a feed error); return how many."""
    _decide(session, hold_id, by, HoldStatus.CANCELLED)
    moved = session.execute(
        sa.update(Notification)
        .where(col(Notification.hold_id) == hold_id, col(Notification.status) == "held")
        .values(
            status=NotificationStatus.CANCELLED,
            last_error=f"cancelled with mass-event hold {hold_id}",
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    log.warning("hold %s cancelled by a supervisor (%s notices)", hold_id, moved.rowcount)  # type: ignore[attr-defined]
    return int(moved.rowcount)  # type: ignore[attr-defined]
