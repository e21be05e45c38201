"""Self-service API for questions: a signed-in victim asks, and reads the answers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from voice.auth.deps import CurrentVictimId
from voice.deps import SessionDep, SettingsDep
from voice.inquiries import intake, mine, service
from voice.inquiries.models import Category

router = APIRouter(prefix="/api/v1/self-service", tags=["self-service"])


class QuestionIn(BaseModel):
    body: str = Field(min_length=1, max_length=5_000)
    category: Category | None = None
    case_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class QuestionReceived(BaseModel):
    inquiry_id: int
    received_at: datetime


class ItemPublic(BaseModel):
    who: str
    body: str
    at: datetime


class QuestionPublic(BaseModel):
    inquiry_id: int
    category: str
    received_at: datetime
    answered: bool
    closed: bool
    items: list[ItemPublic]


class QuestionsPublic(BaseModel):
    data: list[QuestionPublic]
    count: int


@router.post(
    "/inquiries",
    status_code=201,
    responses={422: {"description": "not one of the victim's cases"}},
    summary="Ask the office a question",
)
def ask(
    body: QuestionIn, victim_id: CurrentVictimId, session: SessionDep, settings: SettingsDep
) -> QuestionReceived:
    try:
        inquiry = intake.submit_from_victim(
            session=session,
            settings=settings,
            victim_id=victim_id,
            body=body.body,
            category=body.category,
            case_id=body.case_id,
        )
    except service.InquiryError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    assert inquiry.id is not None
    return QuestionReceived(inquiry_id=inquiry.id, received_at=inquiry.received_at)


@router.get("/inquiries", summary="The victim's questions and the answers they were sent")
def my_questions(victim_id: CurrentVictimId, session: SessionDep) -> QuestionsPublic:
    data = [
        QuestionPublic.model_validate(asdict(t))
        for t in mine.threads(session=session, victim_id=victim_id)
    ]
    return QuestionsPublic(data=data, count=len(data))
