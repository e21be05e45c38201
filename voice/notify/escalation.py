"""Jobs the worker loop runs every ``periodic_interval_seconds``.

- A notification handed to a provider that never sent a receipt is resolved as a temporary
  failure once ``receipt_timeout_seconds`` have passed (GOV.UK Notify does the same).
- A critical notice nobody acknowledged within ``ack_escalation_seconds`` becomes a liaison
  task, so that a person calls the victim. So does one that never went out at all.
- A critical notice still undelivered after ``undelivered_escalation_seconds`` raises one task
  early, while its retries go on; tasks whose cause went away are closed
  (``voice.notify.resolution``).

Both are idempotent: any number of workers may run them at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from voice.cases.models import CaseEvent
from voice.config import Settings
from voice.database import utcnow
from voice.liaison import service as liaison_service
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify import resolution
from voice.notify.models import (
    CRITICAL_EVENT_TYPES,
    NoticeAcknowledgement,
    Notification,
    NotificationStatus,
)
from voice.victims.models import VictimCaseLink

log = logging.getLogger(__name__)

# Notices not meant to reach the victim: nothing to acknowledge, nobody to call.
_NOT_OWED = (NotificationStatus.CANCELLED, NotificationStatus.PAUSED)


@dataclass(frozen=True)
class PeriodicResult:
    timed_out: int
    escalated: int
    undelivered: int = 0
    closed: int = 0


def resolve_stuck(*, session: Session, settings: Settings, now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.receipt_timeout_seconds)
    result = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.status) == NotificationStatus.SENDING,
            col(Notification.claimed_by).is_(None),
            col(Notification.sent_at) < cutoff,
        )
        .values(
            status=NotificationStatus.TEMPORARY_FAILURE,
            last_error="no receipt before the timeout",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        log.warning("%d notifications had no receipt in time: temporary-failure", count)
    return count


def escalate_unacknowledged(*, session: Session, settings: Settings, now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.ack_escalation_seconds)
    acknowledged = select(NoticeAcknowledgement.id).where(
        NoticeAcknowledgement.event_id == Notification.event_id,
        NoticeAcknowledgement.link_id == Notification.link_id,
    )
    escalated = select(LiaisonTask.id).where(
        LiaisonTask.kind == TaskKind.UNACKNOWLEDGED_NOTICE,
        LiaisonTask.event_id == Notification.event_id,
        LiaisonTask.link_id == Notification.link_id,
    )
    due = session.exec(
        select(Notification.event_id, Notification.link_id, func.min(Notification.created_at))
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES),
            col(CaseEvent.retracted_by_id).is_(None),
            col(Notification.status).not_in(_NOT_OWED),
            ~acknowledged.exists(),
            ~escalated.exists(),
        )
        .group_by(col(Notification.event_id), col(Notification.link_id))
        .having(func.min(Notification.created_at) < cutoff)
    ).all()
    opened = 0
    for event_id, link_id, _ in due:
        link = session.get_one(VictimCaseLink, link_id)
        task = liaison_service.open_task(
            session=session,
            kind=TaskKind.UNACKNOWLEDGED_NOTICE,
            dedupe_key=f"unacknowledged:e{event_id}:l{link_id}",
            reason="critical notice not acknowledged in time: call the victim",
            victim_id=link.victim_id,
            link_id=link_id,
            case_id=link.case_id,
            event_id=event_id,
        )
        opened += task is not None
    return opened


def run_periodic(
    *, session: Session, settings: Settings, now: datetime | None = None
) -> PeriodicResult:
    now = now or utcnow()
    return PeriodicResult(
        timed_out=resolve_stuck(session=session, settings=settings, now=now),
        escalated=escalate_unacknowledged(session=session, settings=settings, now=now),
        undelivered=resolution.raise_undelivered(session=session, settings=settings, now=now),
        closed=resolution.close_resolved(session=session),
    )
