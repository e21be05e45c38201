"""Tables of the disclosure domain: the accounting of disclosures (Privacy Act 5 U.S.C.
552a(c)), the protected references to its recipients, safety holds, and quarantined spillage.
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
    ``record_hash`` (voice/disclosure/accounting.py), so an edited, deleted or reordered row
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


class SafetyHold(SQLModel, table=True):
    """A staff-set hold: while active, nothing about the case goes to victims or partners."""

    __tablename__ = "safety_hold"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    reason: str = Field(sa_type=sa.Text)
    set_by: str = Field(sa_type=sa.String(200))
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lifted_by: str | None = Field(default=None, sa_type=sa.String(200))


class SafetyHoldChange(SQLModel, table=True):
    """The audit trail of safety holds: every set and lift, by whom, when and why."""

    __tablename__ = "safety_hold_change"

    id: int | None = Field(default=None, primary_key=True)
    hold_id: int = Field(foreign_key="safety_hold.id", index=True)
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    action: str = Field(sa_type=sa.String(16))
    actor: str = Field(sa_type=sa.String(200))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    note: str = Field(default="", sa_type=sa.Text)


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
