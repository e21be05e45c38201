"""The access log: every time staff open a registrant's personal data, who looked, at whom,
and when.

Primero keeps such a log; the privacy officer reads it to answer "who has seen my file?" and to
spot browsing without a reason. Rows are only inserted. They carry the staff member's subject
and the registrant's row id, never a name or a contact point, so the log itself is safe to
print and export.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from voice.auth.principals import Principal
from voice.database import UTCDateTime, utcnow


class AccessPurpose(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    SEARCH = "search"
    PIN_LETTER = "pin_letter"


class RegistrantAccess(SQLModel, table=True):
    __tablename__ = "registrant_access"
    __table_args__ = (sa.Index("ix_registrant_access_victim_id_at", "victim_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The staff member's opaque subject (safe to log) and the name shown when they signed in.
    staff_subject: str = Field(sa_type=sa.String(200), index=True)
    staff_name: str = Field(sa_type=sa.String(200))
    victim_id: int = Field(foreign_key="victim.id")
    purpose: str = Field(sa_type=sa.String(32))


def record_access(
    *,
    session: Session,
    staff: Principal,
    victim_id: int,
    purpose: AccessPurpose | str,
    now: datetime | None = None,
) -> RegistrantAccess:
    row = RegistrantAccess(
        at=now or utcnow(),
        staff_subject=staff.subject[:200],
        staff_name=staff.display_name[:200],
        victim_id=victim_id,
        purpose=str(purpose)[:32],
    )
    session.add(row)
    session.flush()
    return row


def access_log(
    *,
    session: Session,
    victim_id: int | None = None,
    staff_subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[RegistrantAccess]:
    """The log, newest first, filtered by registrant, staff member and time (``until`` is
    exclusive)."""
    query = select(RegistrantAccess)
    if victim_id is not None:
        query = query.where(RegistrantAccess.victim_id == victim_id)
    if staff_subject is not None:
        query = query.where(RegistrantAccess.staff_subject == staff_subject)
    if since is not None:
        query = query.where(col(RegistrantAccess.at) >= since)
    if until is not None:
        query = query.where(col(RegistrantAccess.at) < until)
    query = query.order_by(col(RegistrantAccess.at).desc(), col(RegistrantAccess.id).desc())
    return list(session.exec(query.offset(offset).limit(limit)).all())
