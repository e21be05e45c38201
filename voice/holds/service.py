"""Safety holds: staff stop all outward disclosure about a case, for a reason, until a time.

While a hold is active the filter withholds every field from victims, families and partners
(policy rule ``harm.safety_hold``), who see only the policy's neutral message. Every set and
lift is written to ``safety_hold_change``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.cases.models import Case
from voice.database import UTCDateTime, utcnow
from voice.holds.models import SafetyHold, SafetyHoldChange


class HoldError(ValueError):
    """A hold cannot be set or lifted as asked."""


def _active(now: datetime | sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    return sa.and_(col(SafetyHold.lifted_at).is_(None), col(SafetyHold.expires_at) > now)


# Built once: ingest asks it for every event.
_HELD_AMONG = sa.select(col(SafetyHold.case_id)).where(
    col(SafetyHold.case_id).in_(sa.bindparam("ids", expanding=True)),
    _active(sa.bindparam("now", type_=UTCDateTime)),
)


def held(case_id: sa.ColumnElement[int], now: datetime | sa.BindParameter[datetime]) -> sa.Exists:
    """True where the case has an active hold: for reads that check holds in their own query."""
    return sa.exists().where(col(SafetyHold.case_id) == case_id, _active(now))


def set_hold(
    *, session: Session, case_id: int, reason: str, set_by: str, expires_at: datetime
) -> SafetyHold:
    now = utcnow()
    if session.get(Case, case_id) is None:
        raise HoldError(f"no case {case_id}")
    if not reason.strip() or not set_by.strip():
        raise HoldError("a hold needs a reason and the name of who sets it")
    if expires_at <= now:
        raise HoldError("a hold must expire in the future")
    hold = SafetyHold(
        case_id=case_id,
        reason=reason.strip(),
        set_by=set_by.strip(),
        set_at=now,
        expires_at=expires_at,
    )
    session.add(hold)
    session.flush()
    assert hold.id is not None
    session.add(
        SafetyHoldChange(
            hold_id=hold.id,
            case_id=case_id,
            action="set",
            actor=hold.set_by,
            at=now,
            note=f"expires {expires_at.isoformat()}: {hold.reason}",
        )
    )
    session.flush()
    return hold


def lift_hold(*, session: Session, hold_id: int, lifted_by: str, note: str = "") -> SafetyHold:
    hold = session.get(SafetyHold, hold_id)
    if hold is None:
        raise HoldError(f"no hold {hold_id}")
    if hold.lifted_at is not None:
        raise HoldError(f"hold {hold_id} was already lifted")
    if not lifted_by.strip():
        raise HoldError("lifting a hold needs the name of who lifts it")
    now = utcnow()
    hold.lifted_at, hold.lifted_by = now, lifted_by.strip()
    session.add(hold)
    assert hold.id is not None
    session.add(
        SafetyHoldChange(
            hold_id=hold.id,
            case_id=hold.case_id,
            action="lift",
            actor=hold.lifted_by,
            at=now,
            note=note,
        )
    )
    session.flush()
    return hold


_KNOWN = "voice.holds.known"


@contextmanager
def known(*, session: Session, case_ids: Iterable[int]) -> Iterator[None]:
    """Inside the block, ``is_held`` answers for these cases from one query made now, rather
    than one query per call: for a batch read (the worker's) that releases many notices in one
    short transaction, and so sees one state of the holds anyway."""
    ids = set(case_ids)
    held = held_case_ids(session=session, case_ids=ids)
    session.info[_KNOWN] = {case_id: case_id in held for case_id in ids}
    try:
        yield
    finally:
        session.info.pop(_KNOWN, None)


def is_held(*, session: Session, case_id: int, now: datetime | None = None) -> bool:
    answer = session.info.get(_KNOWN, {}).get(case_id) if now is None else None
    if answer is not None:
        return bool(answer)
    return bool(held_case_ids(session=session, case_ids=[case_id], now=now))


def held_case_ids(
    *, session: Session, case_ids: Iterable[int], now: datetime | None = None
) -> set[int]:
    ids = list(case_ids)
    if not ids:
        return set()
    rows = session.execute(_HELD_AMONG, {"ids": ids, "now": now or utcnow()})
    return set(rows.scalars().all())


def list_holds(*, session: Session, include_inactive: bool = False) -> list[SafetyHold]:
    query = select(SafetyHold).order_by(col(SafetyHold.id))
    if not include_inactive:
        query = query.where(_active(utcnow()))
    return list(session.exec(query).all())


def changes(*, session: Session, hold_id: int) -> list[SafetyHoldChange]:
    return list(
        session.exec(
            select(SafetyHoldChange)
            .where(SafetyHoldChange.hold_id == hold_id)
            .order_by(col(SafetyHoldChange.id))
        ).all()
    )


def is_active(hold: SafetyHold, now: datetime | None = None) -> bool:
    return hold.lifted_at is None and hold.expires_at > (now or utcnow())


def holds_for_case(*, session: Session, case_id: int) -> list[SafetyHold]:
    return list(
        session.exec(
            select(SafetyHold)
            .where(SafetyHold.case_id == case_id)
            .order_by(col(SafetyHold.id).desc())
        ).all()
    )
