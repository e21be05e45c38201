"""Tables of the inquiry queue: inquiries, their thread, answers, templates and referrals.

Whatever a person wrote (a question, a note, an answer) and any sender's address are encrypted
at rest (voice.pii), like registrants' fields; rows otherwise carry ids and codes only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import JSONType, UTCDateTime, utcnow
from voice.pii.types import EncryptedText


class Category(StrEnum):
    CASE_STATUS = "case_status"
    CUSTODY_OR_RELEASE = "custody_or_release"
    REMOVAL = "removal"
    HEARING = "hearing"
    VICTIM_SERVICES = "victim_services"
    SAFETY_CONCERN = "safety_concern"
    REGISTRATION_HELP = "registration_help"
    UNRELATED = "unrelated_or_commentary"


class Priority(StrEnum):
    """In queue order: ``RANKS`` sorts safety concerns (urgent) first."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


RANKS = {p: i for i, p in enumerate(Priority)}


class InquiryStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    AWAITING_VICTIM = "awaiting_victim"
    ANSWERED = "answered"
    CLOSED = "closed"


class InquiryChannel(StrEnum):
    WEB = "web"
    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"


class EntryKind(StrEnum):
    INBOUND = "inbound"  # what the asker wrote or said
    NOTE = "note"  # staff's internal note: never released


class Inquiry(SQLModel, table=True):
    """One question or concern. ``victim_id`` is set only for a verified registrant; anyone
    else is known by ``sender_address`` alone and is told nothing about any case."""

    __tablename__ = "inquiry"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=sa.String(16), index=True)
    category: str = Field(sa_type=sa.String(32), index=True)
    priority: str = Field(sa_type=sa.String(16))
    # The priority's place in the queue (0 first), so the inbox sorts in the database.
    priority_rank: int = Field(index=True)
    status: str = Field(default=InquiryStatus.NEW, sa_type=sa.String(16), index=True)
    victim_id: int | None = Field(default=None, foreign_key="victim.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="offender_case.id", index=True)
    sender_address: str | None = Field(default=None, sa_type=EncryptedText("inquiry.sender"))
    # Keyed blind index of the sender's address: follow-ups from one sender find their thread.
    sender_bidx: str | None = Field(default=None, sa_type=sa.String(64), index=True)
    language: str = Field(default="en", sa_type=sa.String(8))
    assigned_to: str | None = Field(default=None, sa_type=sa.String(200), index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    first_response_due: datetime = Field(sa_type=UTCDateTime)
    resolution_due: datetime = Field(sa_type=UTCDateTime)
    first_responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_breached: bool = False
    resolution_breached: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InquiryEntry(SQLModel, table=True):
    """A message in an inquiry's thread from the asker, or an internal note by staff."""

    __tablename__ = "inquiry_entry"

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: int = Field(foreign_key="inquiry.id", index=True)
    kind: str = Field(sa_type=sa.String(16))
    body: str = Field(sa_type=EncryptedText("inquiry_entry.body"))
    # Staff subject for notes and logged calls; None for what the asker sent.
    author: str | None = Field(default=None, sa_type=sa.String(200))
    # The provider's id of the message (hashed): a retried or replayed post lands here once.
    source_ref: str | None = Field(default=None, sa_type=sa.String(80), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InquiryAnswer(SQLModel, table=True):
    """An answer staff wrote: scanned, held for a supervisor on a finding, then delivered.

    ``fields_released`` names the case facts it carries (from the disclosed view); with any, its
    send is accounted for as a disclosure. ``findings`` holds kinds and positions, never text.
    """

    __tablename__ = "inquiry_answer"

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: int = Field(foreign_key="inquiry.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="offender_case.id")
    body: str = Field(sa_type=EncryptedText("inquiry_answer.body"))
    language: str = Field(default="en", sa_type=sa.String(8))
    template_key: str | None = Field(default=None, sa_type=sa.String(64))
    fields_released: list[str] = Field(default_factory=list, sa_type=JSONType)
    # True when the answer asks the victim something back: the inquiry then awaits them.
    awaits_victim: bool = False
    author: str = Field(sa_type=sa.String(200))
    status: str = Field(sa_type=sa.String(16), index=True)
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    reviewed_by: str | None = Field(default=None, sa_type=sa.String(200))
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str | None = Field(default=None, sa_type=sa.Text)
    channel: str = Field(sa_type=sa.String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=sa.String(64))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_ref: str | None = Field(default=None, sa_type=sa.String(200))
    last_error: str | None = Field(default=None, sa_type=sa.String(500))


class AnswerTemplate(SQLModel, table=True):
    """A reusable answer in one language; ``{placeholders}`` are filled at composition."""

    __tablename__ = "answer_template"
    __table_args__ = (sa.UniqueConstraint("key", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=sa.String(64))
    language: str = Field(sa_type=sa.String(8))
    title: str = Field(sa_type=sa.String(200))
    body: str = Field(sa_type=sa.Text)
    active: bool = True
    updated_by: str = Field(sa_type=sa.String(200))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReferralProvider(SQLModel, table=True):
    """A local victim-services provider staff refer victims to (a public directory entry)."""

    __tablename__ = "referral_provider"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(200))
    phone: str = Field(sa_type=sa.String(40))
    languages: list[str] = Field(default_factory=list, sa_type=JSONType)
    area_served: str = Field(sa_type=sa.String(200), index=True)
    active: bool = True
    updated_by: str = Field(sa_type=sa.String(200))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
