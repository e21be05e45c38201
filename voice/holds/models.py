"""A staff-set safety hold on a case, with a reason and an expiry."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow


class SafetyHold(SQLModel, table=True):
    """While active (not lifted, not expired) nothing about the case goes to a victim or partner.

    Rows are never deleted: lifting a hold records who lifted it and when, so the history of
    holds is its own audit trail.
    """

    __tablename__ = "safety_hold"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    reason: str = Field(sa_type=sa.Text)
    set_by: str = Field(sa_type=sa.String(128))
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    lifted_by: str | None = Field(default=None, sa_type=sa.String(128))
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
