"""Self-service reads for signed-in victims."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from voice.deps import CurrentVictim, PolicyDep, SessionDep
from voice.selfservice import service

router = APIRouter(prefix="/api/v1/self-service", tags=["self-service"])


class LinkedCasePublic(BaseModel):
    case_id: int
    relationship: str
    verified: bool
    subject: dict[str, Any]
    case: dict[str, Any]
    # Set when nothing about the case can be shown now: the policy's neutral message.
    message: str | None = None


class LinkedCasesPublic(BaseModel):
    data: list[LinkedCasePublic]
    count: int


@router.get("/cases", summary="The cases linked to the signed-in victim, as disclosed to them")
def my_cases(victim: CurrentVictim, session: SessionDep, policy: PolicyDep) -> LinkedCasesPublic:
    views = service.linked_cases(session=session, victim=victim, policy=policy)
    session.commit()  # the accounting records commit with the read they describe
    data = [
        LinkedCasePublic(
            case_id=v.case_id,
            relationship=v.relationship,
            verified=v.verified,
            subject=v.disclosed.get("subject", {}),
            case=v.disclosed.get("case", {}),
            message=v.message,
        )
        for v in views
    ]
    return LinkedCasesPublic(data=data, count=len(data))
