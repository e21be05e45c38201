"""Request dependencies, as ``Annotated`` aliases used by every route."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from voice.cases.models import Case
from voice.config import Settings
from voice.disclosure.policy import Policy
from voice.victims.models import Victim
from voice.victims.service import hash_token

_bearer = HTTPBearer(auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


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
SessionDep = Annotated[Session, Depends(get_session)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

_UNAUTHORISED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="a valid bearer token is required",
    headers={"WWW-Authenticate": "Bearer"},
)


def require_ingest_client(credentials: BearerDep, settings: SettingsDep) -> None:
    """Upstream systems present the shared ingest token (OAuth2 clients replace it later)."""
    expected = settings.ingest_token.get_secret_value().encode("utf-8")
    if credentials is None or not hmac.compare_digest(
        credentials.credentials.encode("utf-8"), expected
    ):
        raise _UNAUTHORISED


def current_victim(credentials: BearerDep, session: SessionDep) -> Victim:
    """A victim's temporary self-service bearer token, looked up by its hash."""
    if credentials is None:
        raise _UNAUTHORISED
    victim = session.exec(
        select(Victim).where(Victim.self_service_token_hash == hash_token(credentials.credentials))
    ).first()
    if victim is None or not victim.active:
        raise _UNAUTHORISED
    return victim


IngestClient = Annotated[None, Depends(require_ingest_client)]
CurrentVictim = Annotated[Victim, Depends(current_victim)]


def valid_case(case_id: int, session: SessionDep) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status_code=404, detail="no such case")
    return case


ValidCase = Annotated[Case, Depends(valid_case)]
