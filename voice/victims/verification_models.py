"""Proving a registrant's contact points: open challenges, and the record of each proof."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow
from voice.pii.types import EncryptedText


class ContactKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


class ProofMethod(StrEnum):
    EMAIL_LINK = "email_link"  # the victim followed the emailed confirmation link
    SMS_CODE = "sms_code"  # the victim typed the texted code on the self-service page or API
    SMS_REPLY = "sms_reply"  # the victim texted the code back
    STAFF_ATTESTATION = "staff_attestation"  # a liaison confirmed it, e.g. on a phone call


class ContactChallenge(SQLModel, table=True):
    """One confirmation link or code sent to one contact point.

    Only a keyed hash of the secret is kept, so the table cannot be used to confirm anything.
    ``address_bidx`` is the blind index of the contact point it was sent to: a challenge for an
    address the victim no longer has proves nothing.
    """

    __tablename__ = "contact_challenge"

    id: int | None = Field(default=None, primary_key=True)
    victim_id: int = Field(foreign_key="victim.id", index=True)
    kind: str = Field(sa_type=sa.String(8))
    address_bidx: str = Field(sa_type=sa.String(64))
    secret_hash: str = Field(sa_type=sa.String(64), index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    # Set when the challenge was spent: confirmed, replaced by a newer one, or out of attempts.
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContactProof(SQLModel, table=True):
    """Who proved which contact point, when and how. Kept after the contact point changes."""

    __tablename__ = "contact_proof"

    id: int | None = Field(default=None, primary_key=True)
    victim_id: int = Field(foreign_key="victim.id", index=True)
    kind: str = Field(sa_type=sa.String(8))
    address_bidx: str = Field(sa_type=sa.String(64))
    method: str = Field(sa_type=sa.String(32))
    # "victim" for the registrant's own proof; the staff member's opaque subject otherwise.
    actor: str = Field(sa_type=sa.String(200))
    # A liaison's note on how the contact point was confirmed (free text: encrypted).
    note: str | None = Field(default=None, sa_type=EncryptedText("contact_proof.note"))
    proven_at: datetime = Field(sa_type=UTCDateTime)
