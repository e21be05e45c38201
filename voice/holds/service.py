"""Safety holds as the liaison API uses them, over the filter's audited implementation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from voice.database import utcnow
from voice.disclosure import holds
from voice.disclosure.holds import HoldError
from voice.disclosure.models import SafetyHold

__all__ = [
    "HoldError",
    "held_case_ids",
    "holds_for_case",
    "is_active",
    "lift_hold",
    "set_hold",
]


def is_active(hold: SafetyHold, now: datetime | None = None) -> bool:
    return hold.lifted_at is None and hold.expires_at > (now or utcnow())


def held_case_ids(*, session: Session, case_ids: Iterable[int]) -> set[int]:
    return holds.held_case_ids(session=session, case_ids=case_ids)


def set_hold(
    *, session: Session, case_id: int, reason: str, expires_at: datetime, set_by: str
) -> SafetyHold:
    return holds.set_hold(
        session=session, case_id=case_id, reason=reason, set_by=set_by, expires_at=expires_at
    )


def lift_hold(*, session: Session, hold: SafetyHold, lifted_by: str) -> SafetyHold:
    assert hold.id is not None
    return holds.lift_hold(session=session, hold_id=hold.id, lifted_by=lifted_by)


def holds_for_case(*, session: Session, case_id: int) -> list[SafetyHold]:
    return list(
        session.exec(
            select(SafetyHold)
            .where(SafetyHold.case_id == case_id)
            .order_by(col(SafetyHold.id).desc())
        ).all()
    )
