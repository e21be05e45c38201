"""Liaison API: finding subjects and cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import col, select

from voice.api_common import Page, page_params, paginate
from voice.cases import search
from voice.cases.models import Case, CasePublic, Subject
from voice.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["cases"])
PageDep = Annotated[Page, Depends(page_params)]


class SubjectPublic(BaseModel):
    id: int
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    aliases: list[str]
    a_number: str | None
    country_of_birth: str | None
    is_minor: bool
    protected_1367: bool
    score: float | None = None


class SubjectsPublic(BaseModel):
    data: list[SubjectPublic]
    count: int


class CasesPublic(BaseModel):
    data: list[CasePublic]
    count: int


def subject_public(subject: Subject, score: float | None = None) -> SubjectPublic:
    return SubjectPublic.model_validate(
        {**subject.model_dump(), "score": score}, from_attributes=False
    )


def case_public(case: Case) -> CasePublic:
    return CasePublic.model_validate(case, from_attributes=True)


@router.get("/subjects", summary="Find subjects by A-number (exact) or name (phonetic, fuzzy)")
def find_subjects(
    session: SessionDep,
    page: PageDep,
    a_number: Annotated[str | None, Query(max_length=16, examples=["A200100101"])] = None,
    name: Annotated[str | None, Query(max_length=200, examples=["Muhammad Hernandez"])] = None,
) -> SubjectsPublic:
    found: list[tuple[Subject, float | None]]
    if a_number:
        found = [(s, None) for s in search.by_a_number(session=session, a_number=a_number)]
    elif name:
        found = [(m.subject, m.score) for m in search.by_name(session=session, name=name)]
    else:
        rows, count = paginate(session, select(Subject).order_by(col(Subject.id)), page)
        return SubjectsPublic(data=[subject_public(s) for s in rows], count=count)
    window = found[page.offset : page.offset + page.size]
    return SubjectsPublic(data=[subject_public(s, score) for s, score in window], count=len(found))


@router.get("/cases", summary="Find cases by case number, A-number or subject name")
def find_cases(
    session: SessionDep,
    page: PageDep,
    case_number: Annotated[str | None, Query(max_length=64)] = None,
    a_number: Annotated[str | None, Query(max_length=16)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
) -> CasesPublic:
    query = select(Case).order_by(col(Case.id))
    if case_number:
        query = query.where(Case.case_number == case_number)
    subject_ids: list[int] | None = None
    if a_number:
        subject_ids = [s.id for s in search.by_a_number(session=session, a_number=a_number) if s.id]
    elif name:
        subject_ids = [
            m.subject.id for m in search.by_name(session=session, name=name) if m.subject.id
        ]
    if subject_ids is not None:
        query = query.where(col(Case.subject_id).in_(subject_ids))
    rows, count = paginate(session, query, page)
    return CasesPublic(data=[case_public(c) for c in rows], count=count)
