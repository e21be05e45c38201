"""Registered victims and their links to offender cases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow
from voice.pii import keyring
from voice.pii.types import EncryptedText


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
    # Names and contact points are encrypted at rest (voice.pii); the attributes hold plaintext.
    first_name: str = Field(sa_type=EncryptedText("victim.first_name"))
    last_name: str = Field(sa_type=EncryptedText("victim.last_name"))
    preferred_language: str = Field(default=Language.ENGLISH, sa_type=sa.String(8))
    email: str | None = Field(default=None, sa_type=EncryptedText("victim.email"))
    email_verified: bool = False
    phone: str | None = Field(default=None, sa_type=EncryptedText("victim.phone"))
    phone_verified: bool = False
    # Keyed blind indexes (HMAC) for exact-match lookups; kept in step by voice.pii.index.
    email_bidx: str | None = Field(default=None, sa_type=sa.String(64), index=True)
    phone_bidx: str | None = Field(default=None, sa_type=sa.String(64), index=True)
    # The Victim ID given to the registrant for self-service sign-in (not the row id, so ids
    # cannot be guessed by counting), and the argon2 hash of their PIN.
    victim_code: str | None = Field(default=None, sa_type=sa.String(16), unique=True)
    pin_hash: str | None = Field(default=None, sa_type=sa.String(128))
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the registrant agreed to be registered and contacted, as staff recorded it.
    consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # An IANA time zone: the victim's dates and times are shown in it, and quiet hours kept.
    time_zone: str = Field(default="America/New_York", sa_type=sa.String(64))
    # Quiet hours, as hours of the victim's day (start inclusive, end exclusive; may wrap past
    # midnight). Routine notices wait until the end; critical ones never wait. None: no quiet.
    quiet_start_hour: int | None = None
    quiet_end_hour: int | None = None


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


@sa.event.listens_for(Victim, "before_insert")
@sa.event.listens_for(Victim, "before_update")
def _keep_blind_indexes(_mapper: object, _connection: object, target: Victim) -> None:
    # Recomputed on every write, so an index can never describe an older contact point.
    ring = keyring.active()
    target.email_bidx = ring.blind_index(target.email, kind="email") if target.email else None
    target.phone_bidx = ring.blind_index(target.phone, kind="phone") if target.phone else None
