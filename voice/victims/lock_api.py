"""Liaison API: a victim's PIN back-off, seen and lifted by staff."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from voice.api_common import NOT_FOUND, get_or_404
from voice.auth.deps import CurrentStaff
from voice.deps import IdPath, SessionDep
from voice.victims import sign_in_locks
from voice.victims.models import Victim

router = APIRouter(prefix="/api/v1", tags=["victims"])


class SignInLockPublic(BaseModel):
    locked: bool
    locked_until: datetime | None
    failures: int


@router.get(
    "/victims/{victim_id}/sign-in-lock",
    responses=NOT_FOUND,
    summary="Whether the victim's PIN sign-in is backing off after failed attempts",
)
def get_sign_in_lock(
    victim_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> SignInLockPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    lock = sign_in_locks.sign_in_lock(session=session, victim=victim)
    return SignInLockPublic(
        locked=lock.locked, locked_until=lock.locked_until, failures=lock.failures
    )


@router.delete(
    "/victims/{victim_id}/sign-in-lock",
    status_code=204,
    responses=NOT_FOUND,
    summary="Lift the victim's PIN back-off, after checking who is asking",
)
def lift_sign_in_lock(victim_id: IdPath, session: SessionDep, staff: CurrentStaff) -> Response:
    victim = get_or_404(session, Victim, victim_id, "victim")
    sign_in_locks.lift_sign_in_lock(session=session, victim=victim, by=staff.subject)
    return Response(status_code=204)
