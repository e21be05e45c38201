"""Liaison tasks about notices: raised early for a critical notice still undelivered, and closed
when their cause goes away, recording why.

Acknowledgements and a supervisor's decision on a pause close their tasks at once (in
``callbacks.acknowledgements`` and ``guard``); this sweep, run with the periodic jobs, closes
the rest, and catches any of those two that a race left open. Every statement here only touches
open tasks, so any number of workers may run it at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from voice.cases.models import CaseEvent
from voice.config import Settings
from voice.liaison import service as liaison_service
from voice.liaison.models import CloseReason, LiaisonTask, TaskKind, TaskStatus
from voice.notify.callbacks.acknowledgements import went_out
from voice.notify.models import (
    CRITICAL_EVENT_TYPES,
    MassEventPause,
    NoticeAcknowledgement,
    Notification,
    NotificationStatus,
    PauseStatus,
)
from voice.victims.models import VictimCaseLink

log = logging.getLogger(__name__)

# Tasks about one (event, link): a person tries to reach the victim about that event.
_ABOUT_A_NOTICE = (
    TaskKind.UNACKNOWLEDGED_NOTICE,
    TaskKind.DELIVERY_FAILED,
    TaskKind.UNDELIVERED_NOTICE,
)


def _pending() -> sa.ColumnElement[bool]:
    """Still to be handed to a provider: queued, or claimed and not yet accepted."""
    return sa.or_(
        col(Notification.status) == NotificationStatus.CREATED,
        sa.and_(
            col(Notification.status) == NotificationStatus.SENDING,
            col(Notification.provider_ref).is_(None),
        ),
    )


def raise_undelivered(*, session: Session, settings: Settings, now: datetime) -> int:
    """One task per critical notice (event and link) still undelivered after a short while."""
    cutoff = now - timedelta(seconds=settings.undelivered_escalation_seconds)
    other = aliased(Notification)
    told = select(other.id).where(
        other.event_id == Notification.event_id,
        other.link_id == Notification.link_id,
        sa.or_(
            col(other.status).in_((NotificationStatus.SENT, NotificationStatus.DELIVERED)),
            sa.and_(
                col(other.status) == NotificationStatus.SENDING,
                col(other.provider_ref).is_not(None),
            ),
        ),
    )
    return open_call_tasks(
        session=session,
        kind=TaskKind.UNDELIVERED_NOTICE,
        key="undelivered",
        reason="critical notice not yet delivered (retries go on): call the victim",
        queued_before=cutoff,
        still=[_pending(), ~told.exists()],
    )


def open_call_tasks(
    *,
    session: Session,
    kind: TaskKind,
    key: str,
    reason: str,
    queued_before: datetime,
    still: list[sa.ColumnElement[bool]],
) -> int:
    """One task of ``kind`` per critical notice (event and link) first queued before
    ``queued_before`` and matching every ``still`` condition, unless one was raised already:
    a person calls the victim. Returns how many were opened."""
    raised = select(LiaisonTask.id).where(
        LiaisonTask.kind == kind,
        LiaisonTask.event_id == Notification.event_id,
        LiaisonTask.link_id == Notification.link_id,
    )
    due = session.exec(
        select(Notification.event_id, Notification.link_id, func.min(Notification.created_at))
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES),
            col(CaseEvent.retracted_by_id).is_(None),
            *still,
            ~raised.exists(),
        )
        .group_by(col(Notification.event_id), col(Notification.link_id))
        .having(func.min(Notification.created_at) < queued_before)
    ).all()
    opened = 0
    for event_id, link_id, _ in due:
        link = session.get_one(VictimCaseLink, link_id)
        task = liaison_service.open_task(
            session=session,
            kind=kind,
            dedupe_key=f"{key}:e{event_id}:l{link_id}",
            reason=reason,
            victim_id=link.victim_id,
            link_id=link_id,
            case_id=link.case_id,
            event_id=event_id,
        )
        opened += task is not None
    return opened


def _open(*kinds: TaskKind) -> sa.Select[Any]:
    return sa.select(col(LiaisonTask.id)).where(
        col(LiaisonTask.status) == TaskStatus.OPEN, col(LiaisonTask.kind).in_(kinds)
    )


def _about_the_notice(*where: sa.ColumnElement[bool]) -> sa.Exists:
    return (
        sa.select(col(Notification.id))
        .where(
            col(Notification.event_id) == col(LiaisonTask.event_id),
            col(Notification.link_id) == col(LiaisonTask.link_id),
            *where,
        )
        .exists()
    )


def close_resolved(*, session: Session) -> int:
    """Close every open task whose cause has gone away; return how many."""
    closed = 0

    def close(query: sa.Select[Any], reason: CloseReason) -> None:
        nonlocal closed
        ids = list(session.execute(query).scalars())
        closed += liaison_service.resolve(session=session, task_ids=ids, reason=reason)

    retracted = (
        sa.select(col(CaseEvent.id))
        .where(
            col(CaseEvent.id) == col(LiaisonTask.event_id),
            col(CaseEvent.retracted_by_id).is_not(None),
        )
        .exists()
    )
    close(_open(*_ABOUT_A_NOTICE).where(retracted), CloseReason.EVENT_RETRACTED)
    acknowledged = (
        sa.select(col(NoticeAcknowledgement.id))
        .where(
            col(NoticeAcknowledgement.event_id) == col(LiaisonTask.event_id),
            col(NoticeAcknowledgement.link_id) == col(LiaisonTask.link_id),
        )
        .exists()
    )
    close(_open(TaskKind.UNACKNOWLEDGED_NOTICE).where(acknowledged), CloseReason.ACKNOWLEDGED)
    delivered = _about_the_notice(went_out())
    close(
        _open(TaskKind.DELIVERY_FAILED, TaskKind.UNDELIVERED_NOTICE).where(delivered),
        CloseReason.DELIVERED,
    )
    close(
        _open(TaskKind.UNDELIVERED_NOTICE).where(
            ~_about_the_notice(_pending()),
            ~_about_the_notice(col(Notification.status) == NotificationStatus.PAUSED),
        ),
        CloseReason.NOT_PENDING,
    )
    for status, reason in (
        (PauseStatus.RELEASED, CloseReason.PAUSE_RELEASED),
        (PauseStatus.CANCELLED, CloseReason.PAUSE_CANCELLED),
    ):
        decided = (
            sa.select(col(MassEventPause.id))
            .where(
                col(MassEventPause.id) == col(LiaisonTask.pause_id),
                col(MassEventPause.status) == status,
            )
            .exists()
        )
        close(_open(TaskKind.MASS_EVENT_PAUSE).where(decided), reason)
    closed += _close_working_contacts(session)
    return closed


def _close_working_contacts(session: Session) -> int:
    """A contact point reported not to work, that has carried a notice since (it was changed)."""
    tasks = session.exec(
        select(LiaisonTask).where(
            LiaisonTask.status == TaskStatus.OPEN,
            LiaisonTask.kind == TaskKind.INVALID_CONTACT,
            col(LiaisonTask.victim_id).is_not(None),
        )
    ).all()
    works: list[int] = []
    for task in tasks:
        # dedupe key: ``invalid_contact:<channel>:v<victim id>:<address hash>``
        channel = task.dedupe_key.split(":")[1]
        carried = session.execute(
            sa.select(col(Notification.id))
            .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
            .where(
                col(VictimCaseLink.victim_id) == task.victim_id,
                col(Notification.channel) == channel,
                col(Notification.sent_at) > task.created_at,
                went_out(),
            )
            .limit(1)
        ).first()
        if carried is not None and task.id is not None:
            works.append(task.id)
    return liaison_service.resolve(
        session=session, task_ids=works, reason=CloseReason.CONTACT_WORKS
    )
