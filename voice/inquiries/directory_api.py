"""Liaison API for what answers are made of: answer templates and the referral directory.

Included before the queue's routes, so that ``/templates`` is not read as an inquiry's id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from voice.api_common import NOT_FOUND
from voice.auth.deps import CurrentStaff
from voice.deps import IdPath, SessionDep
from voice.inquiries import directory
from voice.inquiries.answers import AnswerError
from voice.inquiries.schemas import (
    ReferralIn,
    ReferralPublic,
    TemplateIn,
    TemplatePublic,
    referral_public,
    template_public,
)

router = APIRouter(prefix="/api/v1/inquiries", tags=["inquiries"])


@router.get("/templates", summary="Answer templates, in English and Spanish")
def list_templates(
    session: SessionDep, language: Annotated[str | None, Query(pattern="^(en|es)$")] = None
) -> list[TemplatePublic]:
    return [template_public(t) for t in directory.templates(session=session, language=language)]


@router.post(
    "/templates",
    responses={422: {"description": "an unknown placeholder or language"}},
    summary="Create an answer template, or replace the text of one (by key and language)",
)
def save_template(body: TemplateIn, session: SessionDep, staff: CurrentStaff) -> TemplatePublic:
    try:
        template = directory.save_template(session=session, by=staff.subject, **body.model_dump())
    except AnswerError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return template_public(template)


@router.get("/referrals", summary="Local victim-services providers")
def list_referrals(
    session: SessionDep,
    area: Annotated[str | None, Query(max_length=200)] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
) -> list[ReferralPublic]:
    found = directory.referrals(session=session, area=area, language=language)
    return [referral_public(p) for p in found]


@router.post("/referrals", status_code=201, summary="Add a provider to the directory")
def add_referral(body: ReferralIn, session: SessionDep, staff: CurrentStaff) -> ReferralPublic:
    try:
        provider = directory.save_referral(session=session, by=staff.subject, **body.model_dump())
    except AnswerError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return referral_public(provider)


@router.put("/referrals/{referral_id}", responses=NOT_FOUND, summary="Update a provider")
def update_referral(
    referral_id: IdPath, body: ReferralIn, session: SessionDep, staff: CurrentStaff
) -> ReferralPublic:
    try:
        provider = directory.save_referral(
            session=session, by=staff.subject, referral_id=referral_id, **body.model_dump()
        )
    except LookupError as exc:
        raise HTTPException(status_code=404, detail="no such referral provider") from exc
    except AnswerError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return referral_public(provider)
