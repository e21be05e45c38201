"""Liaison tasks: a bad address, an unacknowledged critical notice, a held mass event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow


class TaskKind(StrEnum):
    INVALID_CONTACT = "invalid_contact"
    UNACKNOWLEDGED_NOTICE = "unacknowledged_notice"
    DELIVERY_FAILED = "delivery_failed"
    MASS_EVENT_PAUSE = "mass_event_pause"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    FEED_SILENT = "feed_silent"
    # Inquiries: a safety concern for the liaison on duty, and a missed service level for a
    # supervisor. The inquiry's id is in the task's dedupe key and reason.
    INQUIRY_SAFETY_CONCERN = "inquiry_safety_concern"
    INQUIRY_SLA_BREACH = "inquiry_sla_breach"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class LiaisonTask(SQLModel, table=True):
    """One thing a person must do. Rows carry ids and reason codes, never contact details."""

    __tablename__ = "liaison_task"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=sa.String(32), index=True)
    status: str = Field(default=TaskStatus.OPEN, sa_type=sa.String(16), index=True)
    # Opening the same task twice (two workers, a repeated callback) lands on this key.
    dedupe_key: str = Field(sa_type=sa.String(200), unique=True)
    reason: str = Field(sa_type=sa.String(200))
    victim_id: int | None = Field(default=None, foreign_key="victim.id", index=True)
    link_id: int | None = Field(default=None, foreign_key="victim_case_link.id")
    case_id: int | None = Field(default=None, foreign_key="offender_case.id")
    event_id: int | None = Field(default=None, foreign_key="case_event.id")
    notification_id: int | None = Field(default=None, foreign_key="notification.id")
    pause_id: int | None = Field(default=None, foreign_key="mass_event_pause.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LiaisonTaskPublic(SQLModel):
    id: int
    kind: str
    status: str
    reason: str
    victim_id: int | None
    case_id: int | None
    event_id: int | None
    created_at: datetime
