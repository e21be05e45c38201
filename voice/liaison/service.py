"""Opening liaison tasks, at most once per reason."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.liaison.models import LiaisonTask, TaskStatus

log = logging.getLogger(__name__)


def open_task(
    *,
    session: Session,
    kind: str,
    dedupe_key: str,
    reason: str,
    victim_id: int | None = None,
    link_id: int | None = None,
    case_id: int | None = None,
    event_id: int | None = None,
    notification_id: int | None = None,
    pause_id: int | None = None,
) -> LiaisonTask | None:
    """Open a task unless one with ``dedupe_key`` exists; return the new task, or None."""
    if session.exec(select(LiaisonTask.id).where(LiaisonTask.dedupe_key == dedupe_key)).first():
        return None
    task = LiaisonTask(
        kind=kind,
        dedupe_key=dedupe_key,
        reason=reason,
        victim_id=victim_id,
        link_id=link_id,
        case_id=case_id,
        event_id=event_id,
        notification_id=notification_id,
        pause_id=pause_id,
    )
    try:
        # A savepoint, so a concurrent opener's row costs this one insert, not the transaction.
        with session.begin_nested():
            session.add(task)
    except sa.exc.IntegrityError:
        return None
    log.warning("liaison task %s opened (%s)", task.id, kind)
    return task


def open_tasks(*, session: Session, kind: str | None = None) -> list[LiaisonTask]:
    query = select(LiaisonTask).where(LiaisonTask.status == TaskStatus.OPEN)
    if kind is not None:
        query = query.where(LiaisonTask.kind == kind)
    return list(session.exec(query.order_by(col(LiaisonTask.id))).all())
