"""Liaison and partner API over the one door: a case as staff see it, with what a verified
victim would receive; and a case as disclosed to a partner system, accounted for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from voice.api_common import NOT_FOUND
from voice.auth.deps import PrincipalDep
from voice.cases.api import SubjectPublic, case_public, subject_public
from voice.cases.deps import ValidCase
from voice.cases.models import CasePublic, Subject
from voice.deps import SessionDep
from voice.disclosure.audiences import Audience
from voice.disclosure.deps import PolicyDep
from voice.disclosure.release import Recipient, release
from voice.holds import service as hold_service

router = APIRouter(prefix="/api/v1", tags=["cases"])


class CaseDetail(BaseModel):
    case: CasePublic
    subject: SubjectPublic
    active_hold: bool
    # What a verified victim would receive, and what is withheld from them and why.
    victim_view: dict[str, Any]
    withheld: list[dict[str, str]]


class PartnerCase(BaseModel):
    case_id: int
    subject: dict[str, Any]
    case: dict[str, Any]
    notice: str | None = None


@router.get("/cases/{case_id}", responses=NOT_FOUND, summary="A case, as staff see it")
def get_case(case: ValidCase, session: SessionDep, policy: PolicyDep) -> CaseDetail:
    assert case.id is not None
    subject = session.get_one(Subject, case.subject_id)
    # A preview for staff, so no recipient and nothing to account for.
    view = release(session=session, policy=policy, audience=Audience.VICTIM_VERIFIED, case=case)
    return CaseDetail(
        case=case_public(case),
        subject=subject_public(subject),
        active_hold=hold_service.is_held(session=session, case_id=case.id),
        victim_view=dict(view.released),
        withheld=[{"field": w.field, "reason": w.reason} for w in view.withheld],
    )


@router.get(
    "/partner/cases/{case_id}",
    responses=NOT_FOUND,
    summary="A case as disclosed to a partner system (scope cases:read); accounted for",
)
def partner_case(
    case: ValidCase, session: SessionDep, policy: PolicyDep, principal: PrincipalDep
) -> PartnerCase:
    assert case.id is not None
    view = release(
        session=session,
        policy=policy,
        audience=Audience.PARTNER,
        case=case,
        recipient=Recipient(kind="partner", id=principal.subject[:64], channel="api"),
    )
    nested = view.nested()
    return PartnerCase(
        case_id=case.id,
        subject=nested.get("subject", {}),
        case=nested.get("case", {}),
        notice=view.message,
    )
