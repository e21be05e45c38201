"""Who am I, and the administrator's view of encryption keys in use."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from voice.auth.access import csrf_token
from voice.auth.principals import PrincipalKind
from voice.deps import PrincipalDep, SessionDep
from voice.pii import keyring, rotation

router = APIRouter(prefix="/api/v1", tags=["identity"])


class Me(BaseModel):
    kind: str
    subject: str
    grants: list[str]
    # For staff on the session cookie: the header value unsafe API calls must carry.
    csrf_token: str | None = None


class KeyUsage(BaseModel):
    current_key_id: str
    values_per_key: dict[str, int]


@router.get("/me", summary="The caller, as this service sees them")
def me(request: Request, principal: PrincipalDep) -> Me:
    token = csrf_token(request) if principal.kind is PrincipalKind.STAFF else None
    return Me(
        kind=principal.kind.value,
        subject=principal.subject,
        grants=sorted(principal.grants),
        csrf_token=token,
    )


@router.get("/admin/pii-keys", summary="How many encrypted values sit under each key")
def pii_keys(session: SessionDep) -> KeyUsage:
    return KeyUsage(
        current_key_id=keyring.active().current_id,
        values_per_key=rotation.key_usage(session=session),
    )
