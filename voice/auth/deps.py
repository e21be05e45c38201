"""Who is calling: the access check every route passes, and the principal it resolved."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voice.auth import access, matrix
from voice.auth.machine import MachineTokenVerifier
from voice.auth.principals import ANONYMOUS, Principal, PrincipalKind
from voice.config import Settings
from voice.database import run_read

_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _resolve(request: Request, settings: Settings) -> Principal:
    verifier: MachineTokenVerifier = request.app.state.machine_verifier
    engine = request.app.state.engine
    return access.resolve(request, engine=engine, settings=settings, verifier=verifier)


async def authorize(request: Request) -> None:
    """Runs before every route: the matrix in voice/auth/matrix.py decides."""
    # Read from the app's state rather than as a dependency of its own: this runs on every
    # request, and FastAPI resolves each dependency per request at a cost of its own.
    settings: Settings = request.app.state.settings
    grants = matrix.allowed(request.method, access.route_template(request))
    if grants is None:  # unreachable while create_app checks the routes; fail closed anyway
        raise HTTPException(status_code=403, detail="this route has no access rule")
    if matrix.PUBLIC in grants or matrix.ROUTE_CREDENTIAL in grants:
        # Public routes never look at credentials, so a stale token cannot break sign-in; and a
        # route that checks a credential of its own (a provider's signature, the bounce
        # mailbox's token) gets its Authorization header untouched.
        request.state.principal = ANONYMOUS
        return
    token = access.victim_session_token(request)
    if token is not None:
        # Checked a moment ago in this process, or one indexed read of the session (where
        # database.run_read puts it).
        remembered = access.remembered_victim(token)
        if remembered is not None:
            principal = remembered
        else:
            engine = request.app.state.engine
            principal = await run_read(engine, access.victim_from_session, token)
    else:
        principal = await run_in_threadpool(_resolve, request, settings)
    request.state.principal = principal
    if not access.admits(grants, principal):
        raise access.deny(request, principal, settings)
    if principal.kind is PrincipalKind.STAFF and request.method not in access.SAFE_METHODS:
        await access.check_csrf(request)


def principal_of(request: Request) -> Principal:
    """The caller, as ``authorize`` (which runs before every route) resolved it."""
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    return principal


async def get_principal(request: Request) -> Principal:
    return principal_of(request)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_ingest_client(principal: PrincipalDep) -> Principal:
    """Upstream systems: a machine client holding ``events:write`` (checked by the matrix)."""
    if principal.kind is not PrincipalKind.MACHINE:
        raise HTTPException(status_code=403, detail="a machine client is required")
    return principal


def victim_id_of(principal: Principal) -> int:
    """The signed-in victim's id (``authorize`` checked the session). Routes reach only this
    victim's own rows from here."""
    if principal.victim_id is None:
        raise HTTPException(status_code=401, detail="victim sign-in is required")
    return principal.victim_id


async def current_victim_id(principal: PrincipalDep) -> int:
    return victim_id_of(principal)


async def current_staff(principal: PrincipalDep) -> Principal:
    if principal.kind is not PrincipalKind.STAFF:
        raise HTTPException(status_code=403, detail="staff sign-in is required")
    return principal


IngestClient = Annotated[Principal, Depends(require_ingest_client)]
CurrentVictimId = Annotated[int, Depends(current_victim_id)]
CurrentStaff = Annotated[Principal, Depends(current_staff)]
