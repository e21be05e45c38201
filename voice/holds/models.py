"""Safety holds: the table, its audit trail, and the API's shapes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow


class SafetyHold(SQLModel, table=True):
    """A staff-set hold: while active, nothing about the case goes to victims or partners."""

    __tablename__ = "safety_hold"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    reason: str = Field(sa_type=sa.Text)
    set_by: str = Field(sa_type=sa.String(200))
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lifted_by: str | None = Field(default=None, sa_type=sa.String(200))


class SafetyHoldChange(SQLModel, table=True):
    """The audit trail of safety holds: every set and lift, by whom, when and why."""

    __tablename__ = "safety_hold_change"

    id: int | None = Field(default=None, primary_key=True)
    hold_id: int = Field(foreign_key="safety_hold.id", index=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    action: str = Field(sa_type=sa.String(16))
    actor: str = Field(sa_type=sa.String(200))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    note: str = Field(default="", sa_type=sa.Text)


class SafetyHoldCreate(SQLModel):
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime


class SafetyHoldPublic(SQLModel):
    id: int
    case_id: int
    reason: str
    set_by: str
    set_at: datetime
    expires_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    active: bool
