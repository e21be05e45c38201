"""Partner webhook endpoints, their signing secrets, and the delivery outbox with its attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel
from sqlmodel import Field, SQLModel

from voice.database import JSONType, UTCDateTime, utcnow
from voice.pii.types import EncryptedText


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    # Failed at least once and scheduled again; still owed to the partner.
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    # Its event was retracted before any attempt: the partner never heard of it.
    CANCELLED = "cancelled"


# Deliveries still owed: while one of these exists for an (endpoint, case), later ones wait.
UNDELIVERED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRYING)
READY = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=sa.String(2000))
    partner_name: str = Field(sa_type=sa.String(200))
    # A person's work contact at the partner: encrypted like other contact details, never logged.
    partner_contact: str = Field(sa_type=EncryptedText("webhook_endpoint.partner_contact"))
    event_types: list[str] = Field(default_factory=list, sa_type=JSONType)
    status: str = Field(default=EndpointStatus.ACTIVE, sa_type=sa.String(16), index=True)
    disabled_reason: str | None = Field(default=None, sa_type=sa.String(200))
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set by the first failed attempt after a success; five days of it disables the endpoint.
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookSecret(SQLModel, table=True):
    """A signing secret. A rotated-out one keeps signing until ``expires_at`` (the overlap)."""

    __tablename__ = "webhook_secret"

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    secret: str = Field(sa_type=EncryptedText("webhook_secret.secret"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: the payload exactly as the disclosure filter released it."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_endpoint_id_case_id", "endpoint_id", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id")
    event_type: str = Field(sa_type=sa.String(64))
    case_id: int = Field(foreign_key="offender_case.id", index=True)
    event_id: int = Field(foreign_key="case_event.id", index=True)
    payload: dict[str, object] = Field(sa_type=JSONType)
    # The ``webhook-id`` header: the same on every attempt, so partners can drop repeats.
    message_id: str = Field(sa_type=sa.String(64), unique=True)
    status: str = Field(default=DeliveryStatus.PENDING, sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=sa.String(64))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = None
    # For attempts with no answer: timeout, connect_error, address_refused, ...
    error_kind: str | None = Field(default=None, sa_type=sa.String(32))
    # The first 1 KB of the answer, for the admin's eyes only; never logged.
    response_body: str | None = Field(default=None, sa_type=sa.Text)
    duration_ms: int = 0


class EndpointCreate(BaseModel):
    url: str = Field(max_length=2000)
    partner_name: str = Field(min_length=1, max_length=200)
    partner_contact: str = Field(min_length=1, max_length=320)
    event_types: list[str] = Field(min_length=1)


class EndpointUpdate(BaseModel):
    url: str | None = Field(default=None, max_length=2000)
    partner_name: str | None = Field(default=None, min_length=1, max_length=200)
    partner_contact: str | None = Field(default=None, min_length=1, max_length=320)
    event_types: list[str] | None = Field(default=None, min_length=1)
    status: EndpointStatus | None = None
    disabled_reason: str | None = Field(default=None, max_length=200)


class EndpointPublic(BaseModel):
    id: int
    url: str
    partner_name: str
    partner_contact: str
    event_types: list[str]
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointsPublic(BaseModel):
    data: list[EndpointPublic]
    count: int


class EndpointCreated(BaseModel):
    endpoint: EndpointPublic
    # Shown once: only its ciphertext is kept.
    secret: str


class SecretRotated(BaseModel):
    secret: str
    previous_secret_expires_at: datetime | None


class DeliveryPublic(BaseModel):
    id: int
    endpoint_id: int
    event_type: str
    case_id: int
    event_id: int
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None = None
    last_error_kind: str | None = None


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
    count: int


class ReplaySince(BaseModel):
    since: AwareDatetime


class Replayed(BaseModel):
    replayed: int
