"""Self-service: the critical notices a victim has yet to acknowledge, and acknowledging one."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from voice.api_common import NOT_FOUND
from voice.deps import IdPath, SessionDep
from voice.selfservice import service
from voice.victims.deps import CurrentVictim

router = APIRouter(prefix="/api/v1/self-service", tags=["self-service"])


class PendingNoticePublic(BaseModel):
    event_id: int
    case_id: int
    event_type: str
    occurred_at: str


class PendingNoticesPublic(BaseModel):
    data: list[PendingNoticePublic]
    count: int


@router.get("/notices", summary="Critical notices waiting for the victim's acknowledgement")
def my_pending_notices(victim: CurrentVictim, session: SessionDep) -> PendingNoticesPublic:
    data = [
        PendingNoticePublic(**vars(n))
        for n in service.pending_notices(session=session, victim=victim)
    ]
    return PendingNoticesPublic(data=data, count=len(data))


@router.post(
    "/notices/{event_id}/acknowledge",
    status_code=204,
    responses=NOT_FOUND,
    summary="Confirm that a critical notice was received",
)
def acknowledge(event_id: IdPath, victim: CurrentVictim, session: SessionDep) -> None:
    if not service.acknowledge_notice(session=session, victim=victim, event_id=event_id):
        raise HTTPException(status_code=404, detail="no notice waiting for acknowledgement")
