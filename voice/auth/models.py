"""Tables behind victim self-service sign-in: sessions, one-time links, failure counters."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow


class VictimSession(SQLModel, table=True):
    """A signed-in victim. Only the token's sha256 is kept; the token is shown once."""

    __tablename__ = "victim_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    victim_id: int = Field(foreign_key="victim.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link sent by email; used once, then spent."""

    __tablename__ = "sign_in_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    # None when the Victim ID asked for was unknown: the row is written all the same, so the
    # work done does not depend on whether the ID exists. Such a link can never be redeemed.
    victim_id: int | None = Field(default=None, foreign_key="victim.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per key: an HMAC of the Victim ID as typed, or of the client address.

    Keyed by what was typed, not by a victim row, so an unknown Victim ID is counted and locked
    exactly like a real one and the answers cannot tell them apart.
    """

    __tablename__ = "sign_in_throttle"

    key: str = Field(sa_type=sa.String(64), primary_key=True)
    failures: int = 0
    window_started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
