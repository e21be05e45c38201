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
    return list_tasks(session=session, kind=kind, status=TaskStatus.OPEN)


def list_tasks(
    *,
    session: Session,
    kind: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[LiaisonTask]:
    query = select(LiaisonTask)
    if kind is not None:
        query = query.where(LiaisonTask.kind == kind)
    if status is not None:
        query = query.where(LiaisonTask.status == status)
    if assignee is not None:
        query = query.where(LiaisonTask.assignee == assignee)
    query = query.order_by(col(LiaisonTask.id)).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def count_tasks(
    *,
    session: Session,
    kind: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
) -> int:
    query = sa.select(sa.func.count()).select_from(LiaisonTask)
    if kind is not None:
        query = query.where(col(LiaisonTask.kind) == kind)
    if status is not None:
        query = query.where(col(LiaisonTask.status) == status)
    if assignee is not None:
        query = query.where(col(LiaisonTask.assignee) == assignee)
    return int(session.execute(query).scalar_one())


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
    _close(task, by=by, reason=CloseReason.STAFF, note=note)
    session.add(task)
    session.flush()
    log.info("liaison task %s closed by staff", task_id)
    return task


def resolve(*, session: Session, task_ids: list[int], reason: CloseReason) -> int:
    """Close open tasks whose cause went away by itself; return how many were still open."""
    if not task_ids:
        return 0
    now = utcnow()
    result = session.execute(
        sa.update(LiaisonTask)
        .where(col(LiaisonTask.id).in_(task_ids), col(LiaisonTask.status) == TaskStatus.OPEN)
        .values(status=TaskStatus.DONE, closed_at=now, closed_by=SERVICE, close_reason=reason)
        .execution_options(synchronize_session=False)
    )
    closed = int(result.rowcount)  # type: ignore[attr-defined]
    if closed:
        log.info("%d liaison tasks closed: %s", closed, reason.value)
    return closed


def resolve_matching(
    *,
    session: Session,
    kinds: list[str],
    reason: CloseReason,
    event_id: int | None = None,
    link_id: int | None = None,
    pause_id: int | None = None,
) -> int:
    """Close the open tasks of ``kinds`` about this event and link, or this pause."""
    query = sa.select(col(LiaisonTask.id)).where(
        col(LiaisonTask.status) == TaskStatus.OPEN, col(LiaisonTask.kind).in_(kinds)
    )
    for column, value in (
        (LiaisonTask.event_id, event_id),
        (LiaisonTask.link_id, link_id),
        (LiaisonTask.pause_id, pause_id),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    ids = list(session.execute(query).scalars())
    return resolve(session=session, task_ids=ids, reason=reason)


# ``closed_by`` of a task the service closed itself.
SERVICE = "voice"


def _close(task: LiaisonTask, *, by: str, reason: CloseReason, note: str | None) -> None:
    task.status = TaskStatus.DONE
    task.closed_at = utcnow()
    task.closed_by = by[:200]
    task.close_reason = reason.value
    task.outcome_note = note
