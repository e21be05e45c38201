"""The notification outbox: one row per link x event x channel."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NotificationStatus(StrEnum):
    """GOV.UK Notify's statuses, plus ``cancelled`` for notices whose event was retracted and
    ``held`` for critical notices the mass-event guard keeps back for a supervisor."""

    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    SENT = "sent"
    PERMANENT_FAILURE = "permanent-failure"
    TEMPORARY_FAILURE = "temporary-failure"
    TECHNICAL_FAILURE = "technical-failure"
    CANCELLED = "cancelled"
    PAUSED = "paused"


FINAL_STATUSES = frozenset(
    {
        NotificationStatus.DELIVERED,
        NotificationStatus.SENT,
        NotificationStatus.PERMANENT_FAILURE,
        NotificationStatus.TEMPORARY_FAILURE,
        NotificationStatus.TECHNICAL_FAILURE,
        NotificationStatus.CANCELLED,
    }
)


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "link_id", "channel"),
        sa.Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="case_event.id", index=True)
    link_id: int = Field(foreign_key="victim_case_link.id", index=True)
    channel: str = Field(sa_type=sa.String(16))
    status: str = Field(default=NotificationStatus.CREATED, sa_type=sa.String(32))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The worker's lease: another worker may take the row over once it has expired.
    claimed_by: str | None = Field(default=None, sa_type=sa.String(64))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_ref: str | None = Field(default=None, sa_type=sa.String(200))
    last_error: str | None = Field(default=None, sa_type=sa.String(500))
    # Indexed: the mass-event guard counts the notices of the last few minutes (notify/guard.py).
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The first claim: the retry budget runs from here, so a notice that waited in a pause
    # still gets its full budget once released.
    first_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pause_id: int | None = Field(default=None, foreign_key="mass_event_pause.id", index=True)
    # False for notices written under ``guard.suspended()`` (the demo's invented history): the
    # mass-event guard does not count them towards a burst.
    guarded: bool = True
    # W3C trace context of the ingest that queued it, so the worker's spans continue its trace.
    traceparent: str | None = Field(default=None, sa_type=sa.String(64))


# A victim must hear of these within minutes, and must confirm that they did.
CRITICAL_EVENT_TYPES = frozenset({"custody.released", "custody.escaped", "removal.completed"})


class PauseStatus(StrEnum):
    OPEN = "open"
    RELEASED = "released"
    CANCELLED = "cancelled"


class MassEventPause(SQLModel, table=True):
    """Critical notices the mass-event guard kept back, released or cancelled as one."""

    __tablename__ = "mass_event_pause"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=PauseStatus.OPEN, sa_type=sa.String(16), index=True)
    reason: str = Field(sa_type=sa.String(200))
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, sa_type=sa.String(100))
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryReceipt(SQLModel, table=True):
    """A provider's word on a message, kept as received (ids and codes only)."""

    __tablename__ = "delivery_receipt"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int | None = Field(default=None, foreign_key="notification.id", index=True)
    provider: str = Field(sa_type=sa.String(16))
    provider_ref: str = Field(sa_type=sa.String(200), index=True)
    provider_status: str = Field(sa_type=sa.String(32))
    error_code: str | None = Field(default=None, sa_type=sa.String(32))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SuppressionReason(StrEnum):
    OPTED_OUT = "opted_out"
    HARD_BOUNCE = "hard_bounce"


class ContactSuppression(SQLModel, table=True):
    """A contact point that must not be written to: it opted out, or it does not exist.

    Kept per address rather than per victim: a phone shared by a family opts out as a whole,
    which is also how carriers treat STOP.
    """

    __tablename__ = "contact_suppression"
    __table_args__ = (sa.UniqueConstraint("channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=sa.String(16))
    address: str = Field(sa_type=sa.String(320))
    reason: str = Field(sa_type=sa.String(32))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AckChannel(StrEnum):
    SMS = "sms"
    EMAIL_LINK = "email_link"
    SELF_SERVICE = "self_service"


class NoticeAcknowledgement(SQLModel, table=True):
    """A victim confirmed that they received a critical notice (one per event and link)."""

    __tablename__ = "notice_acknowledgement"
    __table_args__ = (sa.UniqueConstraint("event_id", "link_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="case_event.id", index=True)
    link_id: int = Field(foreign_key="victim_case_link.id", index=True)
    via: str = Field(sa_type=sa.String(16))
    acknowledged_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker(SQLModel, table=True):
    """One channel's breaker. ``retry_at``: when open, when the probe may go; when half-open,
    when the probe's holder is presumed dead and another worker may probe instead."""

    __tablename__ = "circuit_breaker"

    key: str = Field(primary_key=True, sa_type=sa.String(64))
    state: str = Field(default=BreakerState.CLOSED, sa_type=sa.String(16))
    failures: int = 0
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    probe_by: str | None = Field(default=None, sa_type=sa.String(64))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
