"""Request dependencies, as ``Annotated`` aliases used by every route.

Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency on a
worker thread, and those hops (several per request) cost more than the work they wrap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.auth import access, matrix
from voice.auth.machine import MachineTokenVerifier
from voice.auth.principals import ANONYMOUS, Principal, PrincipalKind
from voice.cases.models import Case
from voice.config import Settings
from voice.database import read_only, run_read
from voice.disclosure.group_commit import AccountingWriter
from voice.disclosure.policy import Policy
from voice.victims.models import Victim

_bearer = HTTPBearer(auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


async def get_accounting_writer(request: Request) -> AccountingWriter:
    writer: AccountingWriter = request.app.state.accounting_writer
    return writer


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A session per request. Routes that write commit once, at the end of their work."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
AccountingWriterDep = Annotated[AccountingWriter, Depends(get_accounting_writer)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _resolve(request: Request, settings: Settings) -> Principal:
    verifier: MachineTokenVerifier = request.app.state.machine_verifier
    engine: Engine = request.app.state.engine
    return access.resolve(request, engine=engine, settings=settings, verifier=verifier)


async def authorize(request: Request, settings: SettingsDep) -> None:
    """Runs before every route: the matrix in voice/auth/matrix.py decides."""
    grants = matrix.allowed(request.method, access.route_template(request))
    if grants is None:  # unreachable while create_app checks the routes; fail closed anyway
        raise HTTPException(status_code=403, detail="this route has no access rule")
    if matrix.PUBLIC in grants or matrix.ROUTE_CREDENTIAL in grants:
        # Public routes never look at credentials, so a stale token cannot break sign-in; and a
        # route that checks a credential of its own (a provider's signature, the bounce
        # mailbox's token) gets its Authorization header untouched.
        request.state.principal = ANONYMOUS
        return
    if access.presents_victim_session(request):
        # One indexed read of the session: database.run_read decides where it runs.
        principal = await run_read(request.app.state.engine, _resolve, request, settings)
    else:
        principal = await run_in_threadpool(_resolve, request, settings)
    request.state.principal = principal
    if not access.admits(grants, principal):
        raise access.deny(request, principal, settings)
    if principal.kind is PrincipalKind.STAFF and request.method not in access.SAFE_METHODS:
        await access.check_csrf(request)


async def get_principal(request: Request) -> Principal:
    """The caller, as ``authorize`` (which runs before every route) resolved it."""
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_ingest_client(principal: PrincipalDep) -> Principal:
    """Upstream systems: a machine client holding ``events:write`` (checked by the matrix)."""
    if principal.kind is not PrincipalKind.MACHINE:
        raise HTTPException(status_code=403, detail="a machine client is required")
    return principal


async def current_victim_id(principal: PrincipalDep) -> int:
    """The signed-in victim's id (``authorize`` checked the session). Routes reach only this
    victim's own rows from here."""
    if principal.victim_id is None:
        raise HTTPException(status_code=401, detail="victim sign-in is required")
    return principal.victim_id


def current_victim(
    victim_id: Annotated[int, Depends(current_victim_id)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> Victim:
    """The signed-in victim's row, for routes that need more than the id.

    Read in a short read-only session of its own, so the route's session does not open a
    transaction (on SQLite, the write lock) while the request waits for its worker thread.
    """
    with Session(read_only(engine), expire_on_commit=False) as session:
        victim = session.get(Victim, victim_id)
    if victim is None or not victim.active:
        raise HTTPException(status_code=401, detail="victim sign-in is required")
    return victim


async def current_staff(principal: PrincipalDep) -> Principal:
    if principal.kind is not PrincipalKind.STAFF:
        raise HTTPException(status_code=403, detail="staff sign-in is required")
    return principal


IngestClient = Annotated[Principal, Depends(require_ingest_client)]
CurrentVictimId = Annotated[int, Depends(current_victim_id)]
CurrentVictim = Annotated[Victim, Depends(current_victim)]
CurrentStaff = Annotated[Principal, Depends(current_staff)]


# Row ids in paths: PostgreSQL's integer, so an out-of-range id is a 422, not a database error.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]


def valid_case(case_id: IdPath, session: SessionDep) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status_code=404, detail="no such case")
    return case


ValidCase = Annotated[Case, Depends(valid_case)]
