"""Request and response shapes of the liaison API for victims and links (staff-facing)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from voice.victims.models import Language, Relationship

PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class VictimCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "preferred_language": "en",
                    "email": "jane.doe@example.org",
                    "phone": "+15550100199",
                }
            ]
        },
    )

    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    preferred_language: Language = Language.ENGLISH
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)


class VictimUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"preferred_language": "es"}]}
    )

    first_name: str | None = Field(default=None, min_length=1, max_length=200)
    last_name: str | None = Field(default=None, min_length=1, max_length=200)
    preferred_language: Language | None = None
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)


class VictimPublic(BaseModel):
    id: int
    victim_id: str | None = Field(description="the Victim ID the registrant signs in with")
    first_name: str
    last_name: str
    preferred_language: str
    email: str | None
    email_verified: bool
    phone: str | None
    phone_verified: bool
    verified_at: datetime | None
    active: bool
    created_at: datetime


class VictimsPublic(BaseModel):
    data: list[VictimPublic]
    count: int


class VictimRegistered(BaseModel):
    """The PIN appears here once and is never shown again."""

    victim: VictimPublic
    victim_id: str = Field(examples=["V-7K3M-Q9PX"])
    pin: str = Field(examples=["20261101"])


class PinIssued(BaseModel):
    victim_id: str
    pin: str


class LinkCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"case_id": 1, "relationship": "victim"}]},
    )

    case_id: int = Field(ge=1, le=2_147_483_647)
    relationship: Relationship = Relationship.VICTIM
    notify_email: bool = True
    notify_sms: bool = False


class LinkUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"notify_sms": True}]}
    )

    relationship: Relationship | None = None
    notify_email: bool | None = None
    notify_sms: bool | None = None


class LinkPublic(BaseModel):
    id: int
    victim_id: int
    case_id: int
    relationship: str
    verification_status: str
    notify_email: bool
    notify_sms: bool
    created_at: datetime
    verified_at: datetime | None


class LinksPublic(BaseModel):
    data: list[LinkPublic]
    count: int


class NotificationPublic(BaseModel):
    id: int
    event_id: int
    link_id: int
    channel: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class NotificationsPublic(BaseModel):
    data: list[NotificationPublic]
    count: int
