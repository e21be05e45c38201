"""Tables of the accounting of disclosures (Privacy Act 5 U.S.C. 552a(c)) and the
protected references to its recipients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import JSONType, UTCDateTime, utcnow


class DisclosureRecord(SQLModel, table=True):
    """One release of case data: to whom, when, how, why, what, what not and by which rule,
    under which policy.

    Rows are only ever inserted, and each is chained to the one before by ``prev_hash`` and
    ``record_hash`` (voice/audit/chain.py), so an edited, deleted or reordered row
    shows. The recipient appears only as an opaque reference (RecipientReference).
    """

    __tablename__ = "disclosure_record"

    id: int | None = Field(default=None, primary_key=True)
    chain_seq: int = Field(unique=True)
    disclosed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    recipient_kind: str = Field(sa_type=sa.String(16))
    recipient_ref: str = Field(sa_type=sa.String(40), index=True)
    audience: str = Field(sa_type=sa.String(32))
    channel: str = Field(sa_type=sa.String(16))
    purpose: str = Field(sa_type=sa.String(64))
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="case_event.id")
    notification_id: int | None = Field(default=None, foreign_key="notification.id")
    fields_released: list[str] = Field(default_factory=list, sa_type=JSONType)
    fields_withheld: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    policy_version: str = Field(sa_type=sa.String(64))
    policy_sha256: str = Field(sa_type=sa.String(64))
    prev_hash: str = Field(sa_type=sa.String(64))
    record_hash: str = Field(sa_type=sa.String(64))


class DisclosureChainHead(SQLModel, table=True):
    """Where the accounting chain ends: one row, moved forward with every record.

    Without it, removing the newest records would leave a shorter chain that still verifies.
    Its hash is also what an operator anchors outside the database.
    """

    __tablename__ = "disclosure_chain_head"

    id: int = Field(default=1, primary_key=True)
    chain_seq: int
    record_hash: str = Field(sa_type=sa.String(64))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RecipientReference(SQLModel, table=True):
    """The only link from the accounting's opaque recipient references to who they are.

    Kept apart so that the accounting can be printed, exported and audited without naming a
    victim; on PostgreSQL it can be granted to fewer roles than the accounting itself.
    """

    __tablename__ = "recipient_reference"
    __table_args__ = (sa.UniqueConstraint("recipient_kind", "recipient_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(sa_type=sa.String(40), unique=True)
    recipient_kind: str = Field(sa_type=sa.String(16))
    recipient_id: str = Field(sa_type=sa.String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Its own hash chain, so that changing whom a reference names shows
    # (voice/audit/reference_chain.py).
    chain_seq: int = Field(unique=True)
    entry_hash: str = Field(sa_type=sa.String(64))
