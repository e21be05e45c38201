"""Table of messages that staff write to victims."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import JSONType, UTCDateTime, utcnow


class StaffMessage(SQLModel, table=True):
    """A message that staff write to a victim, and its outbound scan.

    With any finding it is ``held`` until a supervisor approves it; ``findings`` holds kinds and
    positions only, never the matched text.
    """

    __tablename__ = "staff_message"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    link_id: int = Field(foreign_key="victim_case_link.id", index=True)
    body: str = Field(sa_type=sa.Text)
    author: str = Field(sa_type=sa.String(200))
    status: str = Field(sa_type=sa.String(16))
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, sa_type=sa.String(200))
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str | None = Field(default=None, sa_type=sa.Text)
    # Delivery, by the outbox worker, with the same leased claims as notifications.
    channel: str = Field(default="email", sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=sa.String(64))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_ref: str | None = Field(default=None, sa_type=sa.String(200))
    last_error: str | None = Field(default=None, sa_type=sa.String(500))
