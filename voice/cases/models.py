"""Offenders (subjects), their cases, and the upstream events the cases are derived from."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import JSONType, UTCDateTime, utcnow


class CustodyStatus(StrEnum):
    IN_CUSTODY = "in_custody"
    RELEASED = "released"
    ESCAPED = "escaped"
    REMOVED = "removed"
    DECEASED = "deceased"
    NOT_IN_CUSTODY = "not_in_custody"


class Subject(SQLModel, table=True):
    """The offender, as the upstream systems describe them."""

    __tablename__ = "subject"
    __table_args__ = (sa.UniqueConstraint("source", "upstream_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=sa.String(64))
    upstream_id: str = Field(sa_type=sa.String(64))
    first_name: str | None = Field(default=None, sa_type=sa.String(200))
    middle_name: str | None = Field(default=None, sa_type=sa.String(200))
    last_name: str | None = Field(default=None, sa_type=sa.String(200))
    aliases: list[str] = Field(default_factory=list, sa_type=JSONType)
    a_number: str | None = Field(default=None, sa_type=sa.String(16), index=True)
    date_of_birth: date | None = None
    country_of_birth: str | None = Field(default=None, sa_type=sa.String(100))
    country_of_citizenship: str | None = Field(default=None, sa_type=sa.String(100))
    is_minor: bool = False
    protected_1367: bool = False
    # field name -> markings that applied to it in the event that last set it
    markings: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSONType)
    last_event_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Case(SQLModel, table=True):
    """An offender's custody and immigration case; its state is a fold over its events."""

    # "case" is an SQL keyword; a plain name keeps hand-written SQL and psql sessions simple.
    __tablename__ = "offender_case"
    __table_args__ = (sa.UniqueConstraint("subject_id", "case_number"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    case_number: str | None = Field(default=None, sa_type=sa.String(64))
    custody_status: str | None = Field(default=None, sa_type=sa.String(32))
    facility_name: str | None = Field(default=None, sa_type=sa.String(200))
    facility_city: str | None = Field(default=None, sa_type=sa.String(100))
    facility_state: str | None = Field(default=None, sa_type=sa.String(32))
    immigration_status: str | None = Field(default=None, sa_type=sa.String(100))
    proceedings_stage: str | None = Field(default=None, sa_type=sa.String(32))
    release_type: str | None = Field(default=None, sa_type=sa.String(32))
    release_address: str | None = Field(default=None, sa_type=sa.Text)
    hearing_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hearing_court: str | None = Field(default=None, sa_type=sa.String(200))
    scheduled_removal_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    removal_port: str | None = Field(default=None, sa_type=sa.String(200))
    removed_to_country: str | None = Field(default=None, sa_type=sa.String(100))
    transport_details: str | None = Field(default=None, sa_type=sa.Text)
    officer_name: str | None = Field(default=None, sa_type=sa.String(200))
    informant_reference: str | None = Field(default=None, sa_type=sa.String(200))
    markings: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSONType)
    last_event_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseEvent(SQLModel, table=True):
    """One upstream event, stored exactly as received, with its markings."""

    __tablename__ = "case_event"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_event_id"),
        # Ingest asks of every event whether a stored correction already retracts it.
        sa.Index("ix_case_event_source_corrects", "source", "corrects"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=sa.String(64))
    source_event_id: str = Field(sa_type=sa.String(128))
    event_type: str = Field(sa_type=sa.String(64))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    subject_id: int = Field(foreign_key="subject.id", index=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    corrects: str | None = Field(default=None, sa_type=sa.String(128))
    retracted_by_id: int | None = Field(default=None, foreign_key="case_event.id")
    payload: dict[str, Any] = Field(sa_type=JSONType)
    markings: dict[str, str] = Field(default_factory=dict, sa_type=JSONType)
    payload_sha256: str = Field(sa_type=sa.String(64))
    receipt_id: str = Field(sa_type=sa.String(36), unique=True)


class CasePublic(SQLModel):
    """A staff-facing summary of a case, for the portal and liaison API."""

    id: int
    case_number: str | None
    subject_id: int
    custody_status: str | None
    proceedings_stage: str | None
    last_event_at: datetime | None
