"""Tables of spillage containment: quarantined events and the alerts security staff see."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow


class QuarantinedEvent(SQLModel, table=True):
    """An event that arrived carrying a classified marking: only its id, hash and rule."""

    __tablename__ = "quarantined_event"

    id: int | None = Field(default=None, primary_key=True)
    quarantine_id: str = Field(sa_type=sa.String(36), unique=True)
    payload_sha256: str = Field(sa_type=sa.String(64), unique=True)
    rule_id: str = Field(sa_type=sa.String(64))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SecurityAlert(SQLModel, table=True):
    """An alert for security staff; it outlives the quarantine row it is about."""

    __tablename__ = "security_alert"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=sa.String(32))
    rule_id: str = Field(sa_type=sa.String(64))
    quarantine_id: str | None = Field(default=None, sa_type=sa.String(36), index=True)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, sa_type=sa.String(200))


class SourceFeed(SQLModel, table=True):
    """An upstream source: when it last sent an event, and how often it usually does."""

    __tablename__ = "source_feed"

    source: str = Field(sa_type=sa.String(64), primary_key=True)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_event_at: datetime = Field(sa_type=UTCDateTime)
    # A running estimate of the gap between its events; None until it has sent two.
    cadence_seconds: float | None = None
    events: int = 0
    # Set when the silence was reported; cleared by the next event.
    silent_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffStatusEntry(SQLModel, table=True):
    """A status change a supervisor recorded by hand during an upstream feed outage.

    The event itself went through ingest like any other; this row says who entered it and why.
    ``entered_by`` is the staff member's opaque id, safe to log; the reason is never logged.
    """

    __tablename__ = "staff_status_entry"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="case_event.id", unique=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    entered_by: str = Field(sa_type=sa.String(200))
    entered_by_name: str = Field(sa_type=sa.String(200))
    reason: str = Field(sa_type=sa.Text)
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
