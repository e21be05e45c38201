"""Who am I: the caller as this service sees them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from voice.auth.access import csrf_token
from voice.auth.deps import PrincipalDep
from voice.auth.principals import PrincipalKind

router = APIRouter(prefix="/api/v1", tags=["identity"])


class Me(BaseModel):
    kind: str
    subject: str
    grants: list[str]
    # For staff on the session cookie: the header value unsafe API calls must carry.
    csrf_token: str | None = None


@router.get("/me", summary="The caller, as this service sees them")
def me(request: Request, principal: PrincipalDep) -> Me:
    token = csrf_token(request) if principal.kind is PrincipalKind.STAFF else None
    return Me(
        kind=principal.kind.value,
        subject=principal.subject,
        grants=sorted(principal.grants),
        csrf_token=token,
    )
