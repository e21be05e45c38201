"""Opening liaison tasks, at most once per reason."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.database import utcnow
from voice.liaison.models import CloseReason, LiaisonTask, TaskStatus

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


class TaskNotFound(LookupError):
    pass


class TaskClosed(ValueError):
    """The task is closed already; a closed task is never reopened or claimed."""


def _locked(session: Session, task_id: int) -> LiaisonTask:
    task = session.exec(
        select(LiaisonTask).where(LiaisonTask.id == task_id).with_for_update()
    ).first()
    if task is None:
        raise TaskNotFound(f"task {task_id} does not exist")
    if task.status != TaskStatus.OPEN:
        raise TaskClosed(f"task {task_id} is closed already")
    return task


def claim_task(*, session: Session, task_id: int, by: str) -> LiaisonTask:
    """Take an open task on (a claim by someone else moves it to ``by``)."""
    task = _locked(session, task_id)
    task.assignee = by[:200]
    task.claimed_at = utcnow()
    session.add(task)
    session.flush()
    log.info("liaison task %s claimed", task_id)
    return task


def close_task(*, session: Session, task_id: int, by: str, note: str) -> LiaisonTask:
    """Close an open task with what staff found or did."""
    task = _locked(session, task_id)
    task.status = TaskStatus.DONE
    task.closed_at = utcnow()
    task.closed_by = by[:200]
    task.close_reason = CloseReason.STAFF.value
    task.outcome_note = note
    session.add(task)
    session.flush()
    log.info("liaison task %s closed by staff", task_id)
    return task
