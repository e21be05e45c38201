"""The inquiry API's request and response shapes, and how rows become them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from voice.config import Settings
from voice.inquiries import sla
from voice.inquiries.calendar import BusinessCalendar
from voice.inquiries.models import (
    AnswerTemplate,
    Category,
    Inquiry,
    InquiryAnswer,
    InquiryEntry,
    Priority,
    ReferralProvider,
)


class TimerPublic(BaseModel):
    due: datetime
    met_at: datetime | None
    business_minutes_left: int | None
    breached: bool


class InquiryPublic(BaseModel):
    id: int
    channel: str
    category: str
    priority: str
    status: str
    victim_id: int | None
    case_id: int | None
    # Staff only: the address an unregistered sender wrote from, to answer them.
    sender_address: str | None
    language: str
    assigned_to: str | None
    received_at: datetime
    first_response: TimerPublic
    resolution: TimerPublic
    closed_at: datetime | None


class InquiriesPublic(BaseModel):
    data: list[InquiryPublic]
    count: int


class EntryPublic(BaseModel):
    id: int
    kind: str
    body: str
    author: str | None
    created_at: datetime


class AnswerPublic(BaseModel):
    id: int
    status: str
    channel: str
    language: str
    body: str
    template_key: str | None
    fields_released: list[str]
    awaits_victim: bool
    author: str
    findings: list[str]
    reviewed_by: str | None
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


class ThreadPublic(BaseModel):
    inquiry: InquiryPublic
    entries: list[EntryPublic]
    answers: list[AnswerPublic]


class CategoryPublic(BaseModel):
    category: str
    default_priority: str
    first_response_business_hours: float
    resolution_business_hours: float


class CallLog(BaseModel):
    summary: str = Field(min_length=1, max_length=10_000)
    category: Category
    victim_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    case_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    caller_phone: str | None = Field(default=None, max_length=40)
    caller_email: str | None = Field(default=None, max_length=320)
    caller_name: str | None = Field(default=None, max_length=200)
    language: str = Field(default="en", pattern="^(en|es)$")


class Triage(BaseModel):
    category: Category | None = None
    priority: Priority | None = None
    case_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class Assignment(BaseModel):
    assignee: str = Field(min_length=1, max_length=200)


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


class AnswerIn(BaseModel):
    body: str | None = Field(default=None, max_length=5_000)
    template_key: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, pattern="^(en|es)$")
    referral_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    awaits_victim: bool = False


class ReviewIn(BaseModel):
    note: str = Field(default="", max_length=2_000)


class TemplateIn(BaseModel):
    key: str = Field(min_length=1, max_length=64, pattern="^[a-z0-9_]+$")
    language: str = Field(pattern="^(en|es)$")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5_000)
    active: bool = True


class TemplatePublic(BaseModel):
    id: int
    key: str
    language: str
    title: str
    body: str
    active: bool


class ReferralIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=1, max_length=40)
    languages: list[str] = Field(default_factory=list, max_length=20)
    area_served: str = Field(min_length=1, max_length=200)
    active: bool = True


class ReferralPublic(BaseModel):
    id: int
    name: str
    phone: str
    languages: list[str]
    area_served: str
    active: bool


def inquiry_public(inquiry: Inquiry, settings: Settings, now: datetime) -> InquiryPublic:
    calendar = BusinessCalendar.from_settings(settings)
    first = sla.timer(
        calendar, due=inquiry.first_response_due, met_at=inquiry.first_responded_at, now=now
    )
    resolution = sla.timer(
        calendar, due=inquiry.resolution_due, met_at=inquiry.resolved_at, now=now
    )
    assert inquiry.id is not None
    return InquiryPublic(
        id=inquiry.id,
        channel=inquiry.channel,
        category=inquiry.category,
        priority=inquiry.priority,
        status=inquiry.status,
        victim_id=inquiry.victim_id,
        case_id=inquiry.case_id,
        sender_address=inquiry.sender_address,
        language=inquiry.language,
        assigned_to=inquiry.assigned_to,
        received_at=inquiry.received_at,
        first_response=TimerPublic.model_validate(first, from_attributes=True),
        resolution=TimerPublic.model_validate(resolution, from_attributes=True),
        closed_at=inquiry.closed_at,
    )


def entry_public(entry: InquiryEntry) -> EntryPublic:
    return EntryPublic.model_validate(entry, from_attributes=True)


def answer_public(answer: InquiryAnswer) -> AnswerPublic:
    data = answer.model_dump()
    data["findings"] = sorted({str(f["kind"]) for f in answer.findings})
    return AnswerPublic.model_validate(data)


def template_public(template: AnswerTemplate) -> TemplatePublic:
    return TemplatePublic.model_validate(template, from_attributes=True)


def referral_public(provider: ReferralProvider) -> ReferralPublic:
    return ReferralPublic.model_validate(provider, from_attributes=True)


def categories() -> list[CategoryPublic]:
    out = []
    for category in Category:
        priority = sla.DEFAULT_PRIORITY[category]
        goal = sla.target(category, priority)
        out.append(
            CategoryPublic(
                category=category.value,
                default_priority=priority.value,
                first_response_business_hours=goal.first_response.total_seconds() / 3600,
                resolution_business_hours=goal.resolution.total_seconds() / 3600,
            )
        )
    return out
