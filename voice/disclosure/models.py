"""The accounting of disclosures (Privacy Act 5 U.S.C. 552a(c))."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import JSONType, UTCDateTime, utcnow


class DisclosureRecord(SQLModel, table=True):
    """One release of case data: to whom, when, how, what, what not and why, under which policy.

    Rows are only ever inserted; nothing in the service updates or deletes them.
    """

    __tablename__ = "disclosure_record"

    id: int | None = Field(default=None, primary_key=True)
    disclosed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    recipient_kind: str = Field(sa_type=sa.String(16))
    recipient_id: str = Field(sa_type=sa.String(64))
    audience: str = Field(sa_type=sa.String(32))
    channel: str = Field(sa_type=sa.String(16))
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="case_event.id")
    notification_id: int | None = Field(default=None, foreign_key="notification.id")
    fields_released: list[str] = Field(default_factory=list, sa_type=JSONType)
    fields_withheld: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    policy_version: str = Field(sa_type=sa.String(64))
    policy_sha256: str = Field(sa_type=sa.String(64))
