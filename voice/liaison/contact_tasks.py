"""A liaison task for each contact point that stays unproven, closed once it is proven.

A contact point is given ``contact_unverified_task_hours`` to be confirmed by the victim after
its link or code was sent; past that (or at once, when nothing was ever sent to it) a liaison is
asked to reach the victim and attest it. The task closes when the contact point is proven, or
when it is changed or removed (a new address gets a task of its own).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from voice.config import Settings
from voice.liaison import service as tasks
from voice.liaison.models import LiaisonTask, TaskKind, TaskStatus
from voice.victims import verification
from voice.victims.models import Victim
from voice.victims.verification_models import ContactKind

log = logging.getLogger(__name__)

_PREFIX = "unverified-contact"


def _key(victim: Victim, kind: ContactKind) -> str:
    bidx = victim.email_bidx if kind is ContactKind.EMAIL else victim.phone_bidx
    # The blind index, cut short, tells one address from the next without naming either.
    return f"{_PREFIX}:{victim.id}:{kind.value}:{(bidx or '')[:24]}"


def reconcile_victim(
    *, session: Session, settings: Settings, victim: Victim, now: datetime
) -> tuple[int, int]:
    """Open the victim's due tasks and close the ones whose cause is gone: (opened, closed)."""
    session.flush()  # blind indexes are computed on flush
    # A task stands while its contact point is unproven at the same address; a new task is
    # opened only once the grace period since the last link or code is over.
    standing: set[str] = set()
    due: set[str] = set()
    if victim.active:
        grace = timedelta(hours=settings.contact_unverified_task_hours)
        for kind in verification.unproven(victim):
            standing.add(_key(victim, kind))
            sent = verification.latest_challenge_at(session=session, victim=victim, kind=kind)
            if sent is None or now - sent >= grace:
                due.add(_key(victim, kind))
    opened = closed = 0
    for task in session.exec(
        select(LiaisonTask).where(
            LiaisonTask.victim_id == victim.id,
            LiaisonTask.kind == TaskKind.UNVERIFIED_CONTACT,
            LiaisonTask.status == TaskStatus.OPEN,
        )
    ).all():
        if task.dedupe_key in standing:
            due.discard(task.dedupe_key)
            continue
        task.status = TaskStatus.DONE
        task.closed_at = now
        session.add(task)
        closed += 1
    for key in sorted(due):
        what = key.split(":")[2]
        if tasks.open_task(
            session=session,
            kind=TaskKind.UNVERIFIED_CONTACT,
            dedupe_key=key,
            reason=f"{what} not confirmed: reach the victim and attest it, or correct it",
            victim_id=victim.id,
        ):
            opened += 1
    session.flush()
    return opened, closed


def reconcile_all(*, session: Session, settings: Settings, now: datetime) -> tuple[int, int]:
    """The periodic scan: every victim with an unproven contact point or an open task."""
    with_task = select(LiaisonTask.victim_id).where(
        LiaisonTask.kind == TaskKind.UNVERIFIED_CONTACT, LiaisonTask.status == TaskStatus.OPEN
    )
    victims = session.exec(
        select(Victim)
        .where(
            or_(
                col(Victim.id).in_(with_task),
                (col(Victim.active).is_(True))
                & (
                    (col(Victim.email).is_not(None) & col(Victim.email_verified).is_(False))
                    | (col(Victim.phone).is_not(None) & col(Victim.phone_verified).is_(False))
                ),
            )
        )
        .order_by(col(Victim.id))
    ).all()
    opened = closed = 0
    for victim in victims:
        o, c = reconcile_victim(session=session, settings=settings, victim=victim, now=now)
        opened, closed = opened + o, closed + c
    if opened or closed:
        log.info("unverified contact tasks: %d opened, %d closed", opened, closed)
    return opened, closed
