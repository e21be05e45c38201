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
from sqlmodel import Session, col, select

from voice.config import Settings
from voice.database import utcnow
from voice.liaison.models import TaskKind
from voice.notify import resolution
from voice.notify.models import (
    NoticeAcknowledgement,
    Notification,
    NotificationStatus,
)

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
    return resolution.open_call_tasks(
        session=session,
        kind=TaskKind.UNACKNOWLEDGED_NOTICE,
        key="unacknowledged",
        reason="critical notice not acknowledged in time: call the victim",
        queued_before=cutoff,
        still=[col(Notification.status).not_in(_NOT_OWED), ~acknowledged.exists()],
    )


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
