"""Liaison API: a case's safety holds, set and lifted by staff."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from voice.api_common import NOT_FOUND, get_or_404
from voice.auth.deps import CurrentStaff
from voice.cases.deps import ValidCase
from voice.deps import IdPath, SessionDep
from voice.holds import service as hold_service
from voice.holds.models import SafetyHold, SafetyHoldCreate, SafetyHoldPublic

router = APIRouter(prefix="/api/v1", tags=["safety holds"])


class SafetyHoldsPublic(BaseModel):
    data: list[SafetyHoldPublic]
    count: int


def hold_public(hold: SafetyHold) -> SafetyHoldPublic:
    return SafetyHoldPublic.model_validate(
        {**hold.model_dump(), "active": hold_service.is_active(hold)}
    )


@router.get("/cases/{case_id}/holds", responses=NOT_FOUND, summary="A case's safety holds")
def list_holds(case: ValidCase, session: SessionDep) -> SafetyHoldsPublic:
    assert case.id is not None
    holds = hold_service.holds_for_case(session=session, case_id=case.id)
    return SafetyHoldsPublic(data=[hold_public(h) for h in holds], count=len(holds))


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
    return hold_public(hold)


@router.post(
    "/holds/{hold_id}/lift",
    responses={**NOT_FOUND, 409: {"description": "already lifted"}},
    summary="Lift a safety hold",
)
def lift_hold(hold_id: IdPath, session: SessionDep, staff: CurrentStaff) -> SafetyHoldPublic:
    hold = get_or_404(session, SafetyHold, hold_id, "hold")
    assert hold.id is not None
    try:
        hold_service.lift_hold(session=session, hold_id=hold.id, lifted_by=staff.subject)
    except hold_service.HoldError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return hold_public(hold)
