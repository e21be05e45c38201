"""Liaison tasks: a bad address, an unacknowledged critical notice, a held mass event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow
from voice.pii.types import EncryptedText


class TaskKind(StrEnum):
    INVALID_CONTACT = "invalid_contact"
    UNACKNOWLEDGED_NOTICE = "unacknowledged_notice"
    DELIVERY_FAILED = "delivery_failed"
    MASS_EVENT_PAUSE = "mass_event_pause"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    FEED_SILENT = "feed_silent"
    # A critical notice still not handed to any provider after a short while: its retries go
    # on, and a person tries to reach the victim meanwhile.
    UNDELIVERED_NOTICE = "undelivered_notice"
    UNVERIFIED_CONTACT = "unverified_contact"
    INBOUND_MESSAGE = "inbound_message"
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
    # Who took the task on: a staff member's subject, set by a claim.
    assignee: str | None = Field(default=None, sa_type=sa.String(200), index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who closed it: a staff member, or ``voice`` when the cause went away by itself.
    closed_by: str | None = Field(default=None, sa_type=sa.String(200))
    # Why it closed, as a reason code (``acknowledged``, ``delivered``, ``staff``, ...).
    close_reason: str | None = Field(default=None, sa_type=sa.String(64))
    # What staff found or did. Free text may name people or numbers: encrypted, never logged.
    outcome_note: str | None = Field(
        default=None, sa_type=EncryptedText("liaison_task.outcome_note")
    )


class LiaisonTaskPublic(SQLModel):
    id: int
    kind: str
    status: str
    reason: str
    victim_id: int | None
    case_id: int | None
    event_id: int | None
    notification_id: int | None = None
    pause_id: int | None = None
    created_at: datetime
    assignee: str | None = None
    claimed_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    outcome_note: str | None = None


class LiaisonTasksPublic(SQLModel):
    data: list[LiaisonTaskPublic]
    count: int


class TaskClaim(SQLModel):
    """Nothing to say: the caller claims the task for themselves."""


class TaskClose(SQLModel):
    outcome_note: str = Field(min_length=1, max_length=4000)


# Reason codes for a task closed by the service itself, when its cause went away.
class CloseReason(StrEnum):
    STAFF = "staff"
    ACKNOWLEDGED = "acknowledged"
    DELIVERED = "delivered"
    EVENT_RETRACTED = "event_retracted"
    PAUSE_RELEASED = "pause_released"
    PAUSE_CANCELLED = "pause_cancelled"
    # The contact point that did not work has since carried a notice.
    CONTACT_WORKS = "contact_works"
    # Nothing is left to deliver: every notice for it was cancelled, or ended in a failure
    # that has a task of its own.
    NOT_PENDING = "not_pending"
