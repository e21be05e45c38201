"""Liaison API: subjects and cases, their notices, safety holds; and the partner case view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlmodel import col, select

from voice.api_common import NOT_FOUND, Page, get_or_404, page_params, paginate
from voice.auth.principals import Principal
from voice.cases import search
from voice.cases.models import Case, CasePublic, Subject
from voice.deps import CurrentStaff, IdPath, PolicyDep, PrincipalDep, SessionDep, ValidCase
from voice.disclosure import service as disclosure_service
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.records import case_record
from voice.holds import service as hold_service
from voice.holds.models import SafetyHold, SafetyHoldCreate, SafetyHoldPublic
from voice.notify.models import Notification
from voice.victims.models import VictimCaseLink
from voice.victims.schemas import NotificationPublic, NotificationsPublic

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


class CaseDetail(BaseModel):
    case: CasePublic
    subject: SubjectPublic
    active_hold: bool
    # What a verified victim would receive, and what is withheld from them and why.
    victim_view: dict[str, Any]
    withheld: list[dict[str, str]]


class SafetyHoldsPublic(BaseModel):
    data: list[SafetyHoldPublic]
    count: int


class PartnerCase(BaseModel):
    case_id: int
    subject: dict[str, Any]
    case: dict[str, Any]
    notice: str | None = None


def _subject(subject: Subject, score: float | None = None) -> SubjectPublic:
    return SubjectPublic.model_validate(
        {**subject.model_dump(), "score": score}, from_attributes=False
    )


def _case(case: Case) -> CasePublic:
    return CasePublic.model_validate(case, from_attributes=True)


def _hold(hold: SafetyHold) -> SafetyHoldPublic:
    return SafetyHoldPublic.model_validate(
        {**hold.model_dump(), "active": hold_service.is_active(hold)}
    )


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
        return SubjectsPublic(data=[_subject(s) for s in rows], count=count)
    window = found[page.offset : page.offset + page.size]
    return SubjectsPublic(data=[_subject(s, score) for s, score in window], count=len(found))


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
    return CasesPublic(data=[_case(c) for c in rows], count=count)


@router.get("/cases/{case_id}", responses=NOT_FOUND, summary="A case, as staff see it")
def get_case(case: ValidCase, session: SessionDep, policy: PolicyDep) -> CaseDetail:
    assert case.id is not None
    subject = session.get_one(Subject, case.subject_id)
    view = disclose(case_record(subject, case), audience=Audience.VICTIM_VERIFIED, policy=policy)
    return CaseDetail(
        case=_case(case),
        subject=_subject(subject),
        active_hold=bool(hold_service.held_case_ids(session=session, case_ids=[case.id])),
        victim_view=dict(view.released),
        withheld=[{"field": w.field, "reason": w.reason} for w in view.withheld],
    )


@router.get(
    "/cases/{case_id}/notifications", responses=NOT_FOUND, summary="Notices sent about a case"
)
def case_notifications(case: ValidCase, session: SessionDep, page: PageDep) -> NotificationsPublic:
    query = (
        select(Notification)
        .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
        .where(VictimCaseLink.case_id == case.id)
        .order_by(col(Notification.id).desc())
    )
    rows, count = paginate(session, query, page)
    return NotificationsPublic(
        data=[NotificationPublic.model_validate(r, from_attributes=True) for r in rows], count=count
    )


@router.get("/cases/{case_id}/holds", responses=NOT_FOUND, summary="A case's safety holds")
def list_holds(case: ValidCase, session: SessionDep) -> SafetyHoldsPublic:
    assert case.id is not None
    holds = hold_service.holds_for_case(session=session, case_id=case.id)
    return SafetyHoldsPublic(data=[_hold(h) for h in holds], count=len(holds))


@router.post(
    "/cases/{case_id}/holds",
    status_code=201,
    responses={**NOT_FOUND, 422: {"description": "the expiry is not in the future"}},
    summary="Set a safety hold: no outward disclosure about the case until it ends",
)
def set_hold(
    case: ValidCase, body: SafetyHoldCreate, session: SessionDep, staff: CurrentStaff
) -> SafetyHoldPublic:
    assert case.id is not None
    expires_at: datetime = body.expires_at
    if expires_at.tzinfo is None:
        raise HTTPException(status_code=422, detail="expires_at needs a timezone")
    try:
        hold = hold_service.set_hold(
            session=session,
            case_id=case.id,
            reason=body.reason,
            expires_at=expires_at,
            set_by=staff.subject,
        )
    except hold_service.HoldError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    session.commit()
    return _hold(hold)


@router.post(
    "/holds/{hold_id}/lift",
    responses={**NOT_FOUND, 409: {"description": "already lifted"}},
    summary="Lift a safety hold",
)
def lift_hold(hold_id: IdPath, session: SessionDep, staff: CurrentStaff) -> SafetyHoldPublic:
    hold = get_or_404(session, SafetyHold, hold_id, "hold")
    try:
        hold_service.lift_hold(session=session, hold=hold, lifted_by=staff.subject)
    except hold_service.HoldError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    session.commit()
    return _hold(hold)


@router.get(
    "/partner/cases/{case_id}",
    responses=NOT_FOUND,
    summary="A case as disclosed to a partner system (scope cases:read); accounted for",
)
def partner_case(
    case: ValidCase, session: SessionDep, policy: PolicyDep, principal: PrincipalDep
) -> PartnerCase:
    assert case.id is not None
    held = bool(hold_service.held_case_ids(session=session, case_ids=[case.id]))
    subject = session.get_one(Subject, case.subject_id)
    # The filter applies the hold itself: nothing is released, and only its neutral message.
    view = disclose(
        case_record(subject, case, safety_hold=held), audience=Audience.PARTNER, policy=policy
    )
    _account(session, principal, view, policy, case.id)
    session.commit()
    nested = view.nested()
    return PartnerCase(
        case_id=case.id,
        subject=nested.get("subject", {}),
        case=nested.get("case", {}),
        notice=view.message,
    )


def _account(session: Any, principal: Principal, view: Any, policy: Any, case_id: int) -> None:
    disclosure_service.record_disclosure(
        session=session,
        view=view,
        policy=policy,
        recipient_kind="partner",
        recipient_id=principal.subject[:64],
        channel="api",
        case_id=case_id,
    )
