"""Registered victims and their links to offender cases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow


class Language(StrEnum):
    ENGLISH = "en"
    SPANISH = "es"


class Relationship(StrEnum):
    VICTIM = "victim"
    FAMILY_MEMBER = "family_member"
    GUARDIAN = "guardian"
    DESIGNEE = "designee"


class VerificationStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Victim(SQLModel, table=True):
    """A registrant: a victim or a family member, guardian or designee."""

    __tablename__ = "victim"

    id: int | None = Field(default=None, primary_key=True)
    first_name: str = Field(sa_type=sa.String(200))
    last_name: str = Field(sa_type=sa.String(200))
    preferred_language: str = Field(default=Language.ENGLISH, sa_type=sa.String(8))
    email: str | None = Field(default=None, sa_type=sa.String(320))
    email_verified: bool = False
    phone: str | None = Field(default=None, sa_type=sa.String(32))
    phone_verified: bool = False
    # sha256 of the self-service bearer token; the token itself is shown once and never stored
    self_service_token_hash: str | None = Field(default=None, sa_type=sa.String(64), unique=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VictimCaseLink(SQLModel, table=True):
    """Who is linked to which case, how, and how they want to be told."""

    __tablename__ = "victim_case_link"
    __table_args__ = (sa.UniqueConstraint("victim_id", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    victim_id: int = Field(foreign_key="victim.id", index=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    relationship: str = Field(default=Relationship.VICTIM, sa_type=sa.String(32))
    verification_status: str = Field(default=VerificationStatus.PENDING, sa_type=sa.String(16))
    notify_email: bool = True
    notify_sms: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
