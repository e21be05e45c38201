"""What the work queue shows: reads across the domains, for the portal's home page.

Rows name registrants by Victim ID only. Opening a registrant's page is what shows their
personal data, and that is recorded in the access log; a queue listing dozens of names would
open them all at once, unrecorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.auth import access, matrix
from voice.auth.principals import Principal, Role
from voice.cases.models import Case, CaseEvent
from voice.config import Settings
from voice.database import utcnow
from voice.inquiries.attention import Attention, needing_attention
from voice.liaison.due import by_due
from voice.liaison.models import LiaisonTask, TaskStatus
from voice.messages.gate import MessageStatus
from voice.messages.models import StaffMessage
from voice.notify.models import (
    CRITICAL_EVENT_TYPES,
    MassEventPause,
    NoticeAcknowledgement,
    Notification,
    NotificationStatus,
    PauseStatus,
)
from voice.victims.models import Victim, VictimCaseLink

LIMIT = 50
FAILURES_SINCE = timedelta(days=7)
FAILED = (
    NotificationStatus.PERMANENT_FAILURE,
    NotificationStatus.TEMPORARY_FAILURE,
    NotificationStatus.TECHNICAL_FAILURE,
)
REACHED = (NotificationStatus.DELIVERED, NotificationStatus.SENT)


@dataclass(frozen=True)
class NoticeRow:
    notification_id: int
    case_id: int
    case_number: str | None
    event_type: str
    victim_code: str | None
    victim_id: int
    channel: str
    status: str
    at: datetime


@dataclass(frozen=True)
class ContactRow:
    victim_id: int
    victim_code: str | None
    unproven: tuple[str, ...]


@dataclass
class Queue:
    mine: list[LiaisonTask] = field(default_factory=list)
    team: list[LiaisonTask] = field(default_factory=list)
    unassigned: list[LiaisonTask] = field(default_factory=list)
    unacknowledged: list[NoticeRow] = field(default_factory=list)
    contacts: list[ContactRow] = field(default_factory=list)
    failures: list[NoticeRow] = field(default_factory=list)
    # Inquiries overdue or due soon: assigned to me, and nobody's yet.
    my_inquiries: list[Attention] = field(default_factory=list)
    unassigned_inquiries: list[Attention] = field(default_factory=list)
    # None where the staff member is not a supervisor: the count is not theirs to act on.
    pauses: int | None = None
    messages_to_review: int | None = None
    # A supervisor sees every inquiry past its target, whoever holds it: breaches escalate to them.
    overdue_inquiries: list[Attention] | None = None


def _notice_rows(session: Session, *where: sa.ColumnElement[bool]) -> list[NoticeRow]:
    rows = session.exec(
        select(Notification, CaseEvent, Case, Victim)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .join(Case, col(Case.id) == col(CaseEvent.case_id))
        .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
        .join(Victim, col(Victim.id) == col(VictimCaseLink.victim_id))
        .where(*where)
        .order_by(col(Notification.updated_at), col(Notification.id))
        .limit(LIMIT)
    ).all()
    return [
        NoticeRow(
            notification_id=n.id or 0,
            case_id=c.id or 0,
            case_number=c.case_number,
            event_type=e.event_type,
            victim_code=v.victim_code,
            victim_id=v.id or 0,
            channel=n.channel,
            status=n.status,
            at=n.sent_at or n.updated_at,
        )
        for n, e, c, v in rows
    ]


def unacknowledged(session: Session) -> list[NoticeRow]:
    """Critical notices that reached the victim and that the victim has not confirmed."""
    acknowledged = (
        sa.select(col(NoticeAcknowledgement.id))
        .where(
            col(NoticeAcknowledgement.event_id) == col(Notification.event_id),
            col(NoticeAcknowledgement.link_id) == col(Notification.link_id),
        )
        .exists()
    )
    return _notice_rows(
        session,
        col(CaseEvent.event_type).in_(sorted(CRITICAL_EVENT_TYPES)),
        col(Notification.status).in_(REACHED),
        col(CaseEvent.retracted_by_id).is_(None),
        ~acknowledged,
    )


def failures(session: Session, now: datetime) -> list[NoticeRow]:
    return _notice_rows(
        session,
        col(Notification.status).in_(FAILED),
        col(Notification.updated_at) >= now - FAILURES_SINCE,
    )


def unproven_contacts(session: Session) -> list[ContactRow]:
    rows = session.execute(
        sa.select(
            col(Victim.id),
            col(Victim.victim_code),
            col(Victim.email_bidx),
            col(Victim.email_verified),
            col(Victim.phone_bidx),
            col(Victim.phone_verified),
        )
        .where(
            col(Victim.active).is_(True),
            sa.or_(
                sa.and_(col(Victim.email_bidx).is_not(None), col(Victim.email_verified).is_(False)),
                sa.and_(col(Victim.phone_bidx).is_not(None), col(Victim.phone_verified).is_(False)),
            ),
        )
        .order_by(col(Victim.id))
        .limit(LIMIT)
    ).all()
    return [
        ContactRow(
            victim_id=victim_id or 0,
            victim_code=code,
            unproven=tuple(
                kind
                for kind, bidx, proven in (("email", ebidx, everified), ("phone", pbidx, pverified))
                if bidx is not None and not proven
            ),
        )
        for victim_id, code, ebidx, everified, pbidx, pverified in rows
    ]


def _count(session: Session, column: Any, value: str) -> int:
    return int(session.execute(sa.select(sa.func.count()).where(column == value)).scalar_one())


def build(
    *, session: Session, settings: Settings, staff: Principal, now: datetime | None = None
) -> Queue:
    now = now or utcnow()
    tasks = by_due(
        list(session.exec(select(LiaisonTask).where(LiaisonTask.status == TaskStatus.OPEN)).all())
    )
    queue = Queue(
        mine=[t for t in tasks if t.assignee == staff.subject],
        team=[t for t in tasks if t.assignee is not None and t.assignee != staff.subject],
        unassigned=[t for t in tasks if t.assignee is None],
        unacknowledged=unacknowledged(session),
        contacts=unproven_contacts(session),
        failures=failures(session, now),
    )
    # The inquiry lists go to whoever works the inbox, as the access matrix has it.
    if access.admits(matrix.allowed("GET", "/portal/inquiries") or frozenset(), staff):
        queue.my_inquiries = needing_attention(
            session=session, settings=settings, now=now, assigned_to=staff.subject
        )
        queue.unassigned_inquiries = needing_attention(
            session=session, settings=settings, now=now, unassigned=True
        )
    if Role.SUPERVISOR in staff.roles:
        queue.pauses = _count(session, col(MassEventPause.status), PauseStatus.OPEN)
        queue.messages_to_review = _count(session, col(StaffMessage.status), MessageStatus.HELD)
        queue.overdue_inquiries = needing_attention(
            session=session, settings=settings, now=now, overdue_only=True
        )
    return queue
