"""Setting, lifting and checking safety holds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from voice.database import utcnow
from voice.holds.models import SafetyHold

# What a victim sees of a held case: nothing about the case, and no hint of why.
NEUTRAL_NOTICE = "Information about this case is not available right now; contact the VOICE office."


class HoldError(ValueError):
    pass


def is_active(hold: SafetyHold, now: datetime | None = None) -> bool:
    return hold.lifted_at is None and hold.expires_at > (now or utcnow())


def held_case_ids(*, session: Session, case_ids: Iterable[int]) -> set[int]:
    ids = list(case_ids)
    if not ids:
        return set()
    rows = session.exec(
        select(SafetyHold.case_id).where(
            col(SafetyHold.case_id).in_(ids),
            col(SafetyHold.lifted_at).is_(None),
            SafetyHold.expires_at > utcnow(),
        )
    ).all()
    return set(rows)


def set_hold(
    *, session: Session, case_id: int, reason: str, expires_at: datetime, set_by: str
) -> SafetyHold:
    if expires_at <= utcnow():
        raise HoldError("a hold must expire in the future")
    hold = SafetyHold(case_id=case_id, reason=reason, expires_at=expires_at, set_by=set_by)
    session.add(hold)
    session.flush()
    return hold


def lift_hold(*, session: Session, hold: SafetyHold, lifted_by: str) -> SafetyHold:
    if hold.lifted_at is not None:
        raise HoldError("the hold was already lifted")
    hold.lifted_at = utcnow()
    hold.lifted_by = lifted_by
    session.add(hold)
    session.flush()
    return hold


def holds_for_case(*, session: Session, case_id: int) -> list[SafetyHold]:
    return list(
        session.exec(
            select(SafetyHold)
            .where(SafetyHold.case_id == case_id)
            .order_by(col(SafetyHold.id).desc())
        ).all()
    )
